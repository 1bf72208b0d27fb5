/**
 * Reading stored usage events of the caller's subtree, newest first, with keyset paging on the
 * event id (`before`): a page costs the same on the first and the thousandth screen.
 *
 * @example
 * const { rows, next } = await listUsageEvents(c.var.db, usageFilter.parse(c.req.query()))
 */
import { z } from 'zod'
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import { parseTimestamp } from './usage.ts'

const blank = (v: unknown) => (v === '' || v === null ? undefined : v)
const instant = z.string().transform((v, ctx) => {
  // A bare date means midnight UTC.
  const parsed = parseTimestamp(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v)
  if (typeof parsed === 'string') return parsed
  ctx.addIssue({ code: 'custom', message: 'Use a date (YYYY-MM-DD) or an ISO 8601 timestamp with a time zone' })
  return z.NEVER
})

export const usageFilter = z.object({
  subscription: z.preprocess(blank, z.coerce.number({ error: 'Use a subscription id' }).int('Use a subscription id').min(1).max(2_147_483_647).optional()),
  meter: z.preprocess(blank, z.string().trim().max(64, 'Use a meter code').optional()),
  from: z.preprocess(blank, instant.optional()),
  to: z.preprocess(blank, instant.optional()),
  before: z.preprocess(blank, z.string().regex(/^\d{1,19}$/, 'Use the "next" value of the previous page').optional()),
  limit: z.preprocess(blank, z.coerce.number({ error: 'Use 1 to 500' }).int('Use 1 to 500').min(1, 'Use 1 to 500').max(500, 'Use 1 to 500').optional()),
})
export type UsageFilter = z.output<typeof usageFilter>

export interface UsageEventListRow {
  readonly id: string
  readonly org_id: number
  readonly org_name: string
  readonly subscription_id: number
  readonly subscription_name: string
  readonly meter_code: string
  readonly unit: string
  readonly quantity: string
  readonly occurred_at: Date
  readonly received_at: Date
  readonly idempotency_key: string
  readonly source: string
  readonly properties: unknown
}

/** One page of events, newest first; `next` is the `before` value of the following page, or null. */
export async function listUsageEvents(sdb: ScopedDb, filter: UsageFilter): Promise<{ rows: UsageEventListRow[]; next: string | null }> {
  const limit = filter.limit ?? 100
  let query = sdb.selectFrom('usage_events')
    .innerJoin('organisations as o', 'o.id', 'usage_events.org_id')
    .innerJoin('subscriptions as s', 's.id', 'usage_events.subscription_id')
    .innerJoin('meters as m', 'm.id', 'usage_events.meter_id')
    .select(['usage_events.id', 'usage_events.org_id', 'o.name as org_name', 'usage_events.subscription_id', 's.name as subscription_name',
      'm.code as meter_code', 'm.unit', 'usage_events.quantity', 'usage_events.occurred_at', 'usage_events.received_at',
      'usage_events.idempotency_key', 'usage_events.source', 'usage_events.properties'])
  if (filter.subscription !== undefined) query = query.where('usage_events.subscription_id', '=', filter.subscription)
  if (filter.meter) query = query.where('m.code', '=', filter.meter)
  if (filter.from) query = query.where('usage_events.occurred_at', '>=', new Date(filter.from))
  if (filter.to) query = query.where('usage_events.occurred_at', '<', new Date(filter.to))
  if (filter.before) query = query.where('usage_events.id', '<', filter.before)
  const rows = (await query.orderBy('usage_events.id', 'desc').limit(limit + 1).execute()) as UsageEventListRow[]
  const more = rows.length > limit
  if (more) rows.pop()
  return { rows, next: more ? rows[rows.length - 1]!.id : null }
}
