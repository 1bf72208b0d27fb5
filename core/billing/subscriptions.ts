/**
 * Subscriptions (contracts): an organisation of the caller's subtree on a plan, optionally on a
 * provider, from `starts_on` to `ends_on` (the expiry), with allocations. The plan must be one the
 * organisation may use (owned by it or an ancestor), active, and in the organisation's currency:
 * an organisation gets one invoice per period, in one currency.
 *
 * @example
 * await createSubscription(c.var.db, { orgId: 42, planId: 3, name: 'Web cluster', startsOn: '2025-01-01', status: 'active', allocations: { vcpu: '8' } })
 */
import { sql } from 'kysely'
import { z } from 'zod'
import { recordAudit } from '../audit/audit.ts'
import { SUBSCRIPTION_STATUSES, type OrganisationRow, type SubscriptionRow, type SubscriptionStatus } from '../db/schema.ts'
import { HttpProblem, notFound } from '../http/problem.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import { countField, dateField, decimalField, idField, mapConstraints, nameField, ownedAboveOrAt } from './catalog-rules.ts'

const allocations = z.object({
  vcpu: decimalField('the vCPUs', 12, 3),
  memoryGb: decimalField('the RAM', 12, 3),
  storageGb: decimalField('the storage', 14, 3),
  bundles: countField('the bundles'),
  licenceSeats: countField('the licence seats'),
}, { error: 'Send allocations as an object' }).partial()

const fields = {
  planId: idField('a plan'),
  providerId: idField('a provider').nullable(),
  name: nameField,
  startsOn: dateField('the start'),
  endsOn: dateField('the end').nullable(),
  status: z.enum(SUBSCRIPTION_STATUSES, { error: 'Choose active, suspended or cancelled' }),
  allocations,
}

const endsAfterStart = (s: { startsOn?: string | undefined; endsOn?: string | null | undefined }) => !s.startsOn || !s.endsOn || s.endsOn >= s.startsOn
const ENDS_MESSAGE = { message: 'The end must be on or after the start', path: ['endsOn'] }

export const subscriptionInput = z.object({
  orgId: idField('an organisation'),
  ...fields,
  providerId: fields.providerId.default(null),
  endsOn: fields.endsOn.default(null),
  status: fields.status.default('active'),
  allocations: allocations.default({}),
}).refine(endsAfterStart, ENDS_MESSAGE)
export const subscriptionPatch = z.object(fields).partial().refine(endsAfterStart, ENDS_MESSAGE)
export type SubscriptionInput = z.output<typeof subscriptionInput>
export type SubscriptionPatch = z.output<typeof subscriptionPatch>

export interface Allocations {
  readonly vcpu: string
  readonly memoryGb: string
  readonly storageGb: string
  readonly bundles: number
  readonly licenceSeats: number
}

export interface SubscriptionView {
  readonly id: number
  readonly orgId: number
  readonly orgName: string
  readonly planId: number
  readonly planCode: string
  readonly planName: string
  readonly currency: string
  readonly providerId: number | null
  readonly providerName: string | null
  readonly name: string
  readonly startsOn: string
  readonly endsOn: string | null
  readonly status: SubscriptionStatus
  readonly allocations: Allocations
  readonly createdAt: Date
  readonly updatedAt: Date
}

export interface SubscriptionFilter {
  readonly orgId?: number | undefined
  readonly planId?: number | undefined
  readonly status?: SubscriptionStatus | undefined
  /** Not cancelled and ending between today and today + N days. */
  readonly expiringWithinDays?: number | undefined
  /** `YYYY-MM`: overlapping that month. */
  readonly period?: string | undefined
  readonly ids?: readonly number[] | undefined
}

export const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/

/** First day of a `YYYY-MM` period and of the month after. */
export function periodBounds(period: string): { first: string; next: string } {
  const [, y, m] = PERIOD.exec(period) ?? []
  if (!y || !m) throw new HttpProblem(422, 'Some fields are not valid.', { period: 'Use a month like 2025-01' })
  const year = Number(y)
  const month = Number(m)
  const next = month === 12 ? `${year + 1}-01-01` : `${year}-${String(month + 1).padStart(2, '0')}-01`
  return { first: `${y}-${m}-01`, next }
}

function filtered(sdb: ScopedDb, filter: SubscriptionFilter) {
  let query = sdb.selectFrom('subscriptions')
  if (filter.orgId !== undefined) query = query.where('subscriptions.org_id', '=', filter.orgId)
  if (filter.planId !== undefined) query = query.where('subscriptions.plan_id', '=', filter.planId)
  if (filter.status) query = query.where('subscriptions.status', '=', filter.status)
  if (filter.ids) query = query.where('subscriptions.id', 'in', filter.ids.length ? [...filter.ids] : [0])
  if (filter.expiringWithinDays !== undefined) {
    query = query.where('subscriptions.status', '!=', 'cancelled')
      .where('subscriptions.ends_on', '>=', sql<string>`current_date`)
      .where('subscriptions.ends_on', '<=', sql<string>`current_date + ${filter.expiringWithinDays}::integer`)
  }
  if (filter.period) {
    const { first, next } = periodBounds(filter.period)
    query = query.where('subscriptions.starts_on', '<', next)
      .where((eb) => eb.or([eb('subscriptions.ends_on', 'is', null), eb('subscriptions.ends_on', '>=', first)]))
  }
  return query
}

export async function listSubscriptions(sdb: ScopedDb, filter: SubscriptionFilter, paging: { limit: number; offset: number }): Promise<{ subscriptions: SubscriptionView[]; total: number }> {
  const [rows, count] = await Promise.all([
    filtered(sdb, filter)
      // Joined by id: the subscription is in scope, so its organisation is; its plan and provider are ones it may use.
      .innerJoin('organisations', 'organisations.id', 'subscriptions.org_id')
      .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
      .leftJoin('providers', 'providers.id', 'subscriptions.provider_id')
      .selectAll('subscriptions')
      .select(['organisations.name as org_name', 'plans.code as plan_code', 'plans.name as plan_name', 'plans.currency', 'providers.name as provider_name'])
      .orderBy('subscriptions.starts_on', 'desc').orderBy('subscriptions.id', 'desc')
      .limit(paging.limit).offset(paging.offset)
      .execute(),
    filtered(sdb, filter).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ])
  return {
    total: Number(count.n),
    subscriptions: rows.map((r) => ({
      id: r.id, orgId: r.org_id, orgName: r.org_name, planId: r.plan_id, planCode: r.plan_code, planName: r.plan_name, currency: r.currency,
      providerId: r.provider_id, providerName: r.provider_name, name: r.name, startsOn: r.starts_on, endsOn: r.ends_on, status: r.status,
      allocations: { vcpu: r.alloc_vcpu, memoryGb: r.alloc_memory_gb, storageGb: r.alloc_storage_gb, bundles: r.alloc_bundles, licenceSeats: r.alloc_licence_seats },
      createdAt: r.created_at, updatedAt: r.updated_at,
    })),
  }
}

export async function subscriptionView(sdb: ScopedDb, id: number): Promise<SubscriptionView> {
  const { subscriptions: [found] } = await listSubscriptions(sdb, { ids: [id] }, { limit: 1, offset: 0 })
  if (!found) throw notFound('subscription')
  return found
}

async function ownSubscription(sdb: ScopedDb, id: number): Promise<SubscriptionRow> {
  const row = await sdb.selectFrom('subscriptions').selectAll().where('subscriptions.id', '=', id).executeTakeFirst()
  if (!row) throw notFound('subscription')
  return row as SubscriptionRow
}

const invalid = (field: string, message: string) => new HttpProblem(422, message, { [field]: message })

/** The plan must be usable by `org`, active when newly chosen, and in the organisation's currency. */
async function checkPlan(sdb: ScopedDb, org: OrganisationRow, planId: number, newlyChosen: boolean): Promise<void> {
  const plan = await sdb.selectShared('plans').select(['plans.code', 'plans.currency', 'plans.status'])
    .where('plans.id', '=', planId).where(ownedAboveOrAt('plans', org.path)).executeTakeFirst()
  if (!plan) throw invalid('planId', `Choose a plan available to ${org.name}.`)
  if (newlyChosen && plan.status !== 'active') throw invalid('planId', `Plan ${plan.code} is retired; choose an active plan.`)
  if (plan.currency !== org.currency) {
    throw invalid('planId', `Plan ${plan.code} is priced in ${plan.currency}, but ${org.name} is billed in ${org.currency}. Choose a plan in ${org.currency}.`)
  }
}

async function checkProvider(sdb: ScopedDb, org: OrganisationRow, providerId: number | null, newlyChosen: boolean): Promise<void> {
  if (providerId === null) return
  const provider = await sdb.selectShared('providers').select(['providers.name', 'providers.status'])
    .where('providers.id', '=', providerId).where(ownedAboveOrAt('providers', org.path)).executeTakeFirst()
  if (!provider) throw invalid('providerId', `Choose a provider available to ${org.name}.`)
  if (newlyChosen && provider.status !== 'active') throw invalid('providerId', `Provider ${provider.name} is retired; choose an active one.`)
}

function allocationColumns(a: Partial<Allocations>) {
  return {
    ...(a.vcpu !== undefined ? { alloc_vcpu: a.vcpu } : {}),
    ...(a.memoryGb !== undefined ? { alloc_memory_gb: a.memoryGb } : {}),
    ...(a.storageGb !== undefined ? { alloc_storage_gb: a.storageGb } : {}),
    ...(a.bundles !== undefined ? { alloc_bundles: a.bundles } : {}),
    ...(a.licenceSeats !== undefined ? { alloc_licence_seats: a.licenceSeats } : {}),
  }
}

const MESSAGES = {
  subscriptions_dates: ['The end must be on or after the start.', { endsOn: 'The end must be on or after the start' }],
  usage_events_subscription_id_fkey: ['Usage has been recorded for this subscription, so it cannot be removed. Cancel it instead.'],
  usage_daily_subscription_id_fkey: ['Usage has been recorded for this subscription, so it cannot be removed. Cancel it instead.'],
  usage_monthly_subscription_id_fkey: ['Usage has been recorded for this subscription, so it cannot be removed. Cancel it instead.'],
} as const

export async function createSubscription(sdb: ScopedDb, input: SubscriptionInput): Promise<SubscriptionView> {
  const id = await mapConstraints(() => sdb.transaction(async (trx) => {
    const org = await trx.organisation(input.orgId)
    if (!org) throw notFound('organisation')
    await checkPlan(trx, org, input.planId, true)
    await checkProvider(trx, org, input.providerId, true)
    const row = await (await trx.insertInto('subscriptions', {
      org_id: org.id, plan_id: input.planId, provider_id: input.providerId, name: input.name, starts_on: input.startsOn, ends_on: input.endsOn,
      status: input.status, ...allocationColumns(input.allocations),
    })).returningAll().executeTakeFirstOrThrow() as SubscriptionRow
    await recordAudit(trx, { orgId: org.id, action: 'create', subject: 'Subscription', subjectId: row.id, summary: `Subscription ${row.name} created`, after: audit(row) })
    return row.id
  }), MESSAGES)
  return subscriptionView(sdb, id)
}

/** Changes a subscription; a new plan is checked like on creation (and the change is in the audit row). */
export async function updateSubscription(sdb: ScopedDb, id: number, patch: SubscriptionPatch): Promise<SubscriptionView> {
  await mapConstraints(() => sdb.transaction(async (trx) => {
    const before = await ownSubscription(trx, id)
    const org = (await trx.organisation(before.org_id))!
    if (patch.planId !== undefined) await checkPlan(trx, org, patch.planId, patch.planId !== before.plan_id)
    if (patch.providerId !== undefined) await checkProvider(trx, org, patch.providerId, patch.providerId !== before.provider_id)
    const startsOn = patch.startsOn ?? before.starts_on
    const endsOn = patch.endsOn === undefined ? before.ends_on : patch.endsOn
    if (endsOn !== null && endsOn < startsOn) throw invalid('endsOn', 'The end must be on or after the start')
    const after = await trx.updateTable('subscriptions').set({
      ...(patch.planId !== undefined ? { plan_id: patch.planId } : {}),
      ...(patch.providerId !== undefined ? { provider_id: patch.providerId } : {}),
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.status !== undefined ? { status: patch.status } : {}),
      starts_on: startsOn, ends_on: endsOn, ...allocationColumns(patch.allocations ?? {}), updated_at: new Date(),
    }).where('subscriptions.id', '=', id).returningAll().executeTakeFirstOrThrow() as SubscriptionRow
    const planChanged = after.plan_id !== before.plan_id
    await recordAudit(trx, {
      orgId: after.org_id, action: 'update', subject: 'Subscription', subjectId: id,
      summary: planChanged ? `Subscription ${after.name} moved to another plan` : `Subscription ${after.name} updated`,
      before: audit(before), after: audit(after),
    })
  }), MESSAGES)
  return subscriptionView(sdb, id)
}

/** Removes a subscription that never had usage or invoice lines; otherwise 409 (cancel it instead). */
export async function deleteSubscription(sdb: ScopedDb, id: number): Promise<void> {
  await mapConstraints(() => sdb.transaction(async (trx) => {
    const before = await ownSubscription(trx, id)
    const [events, rolled, lines] = await Promise.all([
      trx.selectFrom('usage_events').select('usage_events.id').where('usage_events.subscription_id', '=', id).limit(1).execute(),
      trx.selectFrom('usage_monthly').select('usage_monthly.meter_id').where('usage_monthly.subscription_id', '=', id).limit(1).execute(),
      trx.selectFrom('invoice_lines').select('invoice_lines.id').where('invoice_lines.subscription_id', '=', id).limit(1).execute(),
    ])
    if (events.length || rolled.length) throw new HttpProblem(409, `Usage has been recorded for subscription ${before.name}, so it cannot be removed. Cancel it instead.`)
    if (lines.length) throw new HttpProblem(409, `Invoices bill subscription ${before.name}, so it cannot be removed. Cancel it instead.`)
    await trx.deleteFrom('subscriptions').where('subscriptions.id', '=', id).execute()
    await recordAudit(trx, { orgId: before.org_id, action: 'delete', subject: 'Subscription', subjectId: id, summary: `Subscription ${before.name} deleted`, before: audit(before) })
  }), MESSAGES)
}

function audit(row: SubscriptionRow) {
  return {
    orgId: row.org_id, planId: row.plan_id, providerId: row.provider_id, name: row.name, startsOn: row.starts_on, endsOn: row.ends_on, status: row.status,
    allocations: { vcpu: row.alloc_vcpu, memoryGb: row.alloc_memory_gb, storageGb: row.alloc_storage_gb, bundles: row.alloc_bundles, licenceSeats: row.alloc_licence_seats },
  }
}
