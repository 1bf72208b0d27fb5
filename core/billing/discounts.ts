/**
 * Discounts an organisation grants to an account below it: percent or fixed, on everything or on
 * one service, plan or meter, valid from a day to an optional day. The status is derived from the
 * dates, never stored: cancelled (cancelled_at set), scheduled (starts after today), expired
 * (ended before today), else active. Rating reads the table directly and applies every discount
 * of the account that overlaps the billed month and is not cancelled.
 *
 * @example
 * await createDiscount(c.var.db, { orgId: 42, target: 'all', kind: 'percent', percent: '10', validFrom: '2025-01-01', ... })
 */
import { sql } from 'kysely'
import { z } from 'zod'
import { recordAudit } from '../audit/audit.ts'
import type { DiscountRow, DiscountTarget, OrganisationRow } from '../db/schema.ts'
import { DISCOUNT_KINDS, DISCOUNT_TARGETS } from '../db/schema.ts'
import { HttpProblem, notFound } from '../http/problem.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import { grantableAccount, todayUtc } from './credits.ts'
import { parseMoney, scaleDecimal } from './money.ts'

export const DISCOUNT_STATUSES = ['active', 'scheduled', 'expired', 'cancelled'] as const
export type DiscountStatus = (typeof DISCOUNT_STATUSES)[number]

/** The status of a discount on `today` (`YYYY-MM-DD`). */
export function discountStatus(d: Pick<DiscountRow, 'cancelled_at' | 'valid_from' | 'valid_to'>, today = todayUtc()): DiscountStatus {
  if (d.cancelled_at) return 'cancelled'
  if (d.valid_from > today) return 'scheduled'
  if (d.valid_to !== null && d.valid_to < today) return 'expired'
  return 'active'
}

/** The same rule as {@link discountStatus}, as SQL, so a status filter pages in the database. */
function statusIs(status: DiscountStatus, today: string) {
  const day = sql`cast(${today} as date)`
  switch (status) {
    case 'cancelled': return sql<boolean>`discounts.cancelled_at is not null`
    case 'scheduled': return sql<boolean>`(discounts.cancelled_at is null and discounts.valid_from > ${day})`
    case 'expired': return sql<boolean>`(discounts.cancelled_at is null and discounts.valid_from <= ${day} and discounts.valid_to < ${day})`
    case 'active': return sql<boolean>`(discounts.cancelled_at is null and discounts.valid_from <= ${day} and (discounts.valid_to is null or discounts.valid_to >= ${day}))`
  }
}

// ---- input ---------------------------------------------------------------------------------------

const text = z.string().nullish().transform((v) => (v ?? '').trim())
const day = (message: string) => text.pipe(z.union([z.literal(''), z.iso.date(message)]))
/** Percent as typed or sent: a string, or a JSON number (not money, so a number is acceptable). */
const percentField = z.union([z.string(), z.number()], { error: 'Enter a percentage' }).transform((v) => String(v).trim()).optional()
const catalogId = z.union([z.coerce.number().int().positive().max(2_147_483_647), z.literal(''), z.null()], { error: 'Choose an item from the catalog' })
  .transform((v) => (v === '' || v === null ? null : v)).optional()

export const discountInput = z.object({
  orgId: z.coerce.number({ error: 'Choose an account' }).int('Choose an account').positive('Choose an account').max(2_147_483_647, 'Choose an account'),
  target: z.enum(DISCOUNT_TARGETS, { error: 'Choose all, service, plan or meter' }),
  targetId: catalogId,
  kind: z.enum(DISCOUNT_KINDS, { error: 'Choose percent or fixed' }),
  percent: percentField,
  amount: z.string({ error: 'Send the amount as a decimal string, e.g. "12.50"' }).optional(),
  amountMinor: z.string({ error: 'Send amountMinor as a string of digits, e.g. "1250"' }).regex(/^\d{1,15}$/, 'Use whole minor units, e.g. "1250"').optional(),
  currency: text.pipe(z.union([z.literal(''), z.string().regex(/^[A-Z]{3}$/, 'Use a three-letter currency code, e.g. EUR')])),
  validFrom: text.pipe(z.iso.date('Use a date like 2025-01-01')),
  validTo: day('Use a date like 2025-12-31'),
  description: text.pipe(z.string().max(500, 'Use at most 500 characters')),
})
export type DiscountInput = z.output<typeof discountInput>

export const discountPatch = z.object({
  description: text.pipe(z.string().max(500, 'Use at most 500 characters')).optional(),
  validTo: day('Use a date like 2025-12-31').optional(),
  percent: percentField,
  amount: z.string({ error: 'Send the amount as a decimal string, e.g. "12.50"' }).optional(),
  amountMinor: z.string({ error: 'Send amountMinor as a string of digits, e.g. "1250"' }).regex(/^\d{1,15}$/, 'Use whole minor units, e.g. "1250"').optional(),
})
export type DiscountPatch = z.output<typeof discountPatch>

const invalid = (fields: Record<string, string>) => new HttpProblem(422, 'Some fields are not valid.', fields)

/** 0 < p <= 100 with at most four decimals, normalised (`'12.5'` -> `'12.5000'`). */
function checkedPercent(value: string | undefined): string {
  if (!value) throw invalid({ percent: 'Enter a percentage' })
  if (!/^\d{1,3}(\.\d{1,4})?$/.test(value)) throw invalid({ percent: 'Use a number between 0 and 100 with at most four decimals' })
  const scaled = scaleDecimal(value, 4)
  if (scaled <= 0n || scaled > 1_000_000n) throw invalid({ percent: 'Use a percentage above 0 and at most 100' })
  return `${scaled / 10_000n}.${(scaled % 10_000n).toString().padStart(4, '0')}`
}

/** A fixed amount in the account's currency, from `amount` (major units) or `amountMinor`. */
function checkedAmount(input: { amount?: string | undefined; amountMinor?: string | undefined }, currency: string): string {
  const major = input.amount?.trim()
  if (major && input.amountMinor !== undefined) throw invalid({ amount: 'Send amount or amountMinor, not both' })
  const minor = input.amountMinor !== undefined ? BigInt(input.amountMinor) : major ? parseMoney(major, currency) : undefined
  if (minor === undefined) throw invalid({ amount: major ? `Enter an amount of ${currency}, e.g. 12.50` : 'Enter an amount' })
  if (minor <= 0n) throw invalid({ amount: 'Enter an amount above zero' })
  return minor.toString()
}

const TARGET_TABLE = { service: 'services', plan: 'plans', meter: 'meters' } as const

/**
 * A catalog row the account can see: one the caller may read (`selectShared`) whose owner is the
 * account itself or one of its ancestors. Anything else is a 422 on `targetId`.
 */
async function checkedTarget(sdb: ScopedDb, account: OrganisationRow, target: DiscountTarget, targetId: number | null | undefined) {
  const none = { service_id: null, plan_id: null, meter_id: null }
  if (target === 'all') {
    if (targetId != null) throw invalid({ targetId: 'A discount on everything names no catalog item' })
    return none
  }
  if (targetId == null) throw invalid({ targetId: `Choose the ${target}` })
  const table = TARGET_TABLE[target]
  const row = await sdb.selectShared(table)
    .innerJoin('organisations as owner', 'owner.id', `${table}.org_id` as 'services.org_id')
    .select(`${table}.id` as 'services.id')
    .where(`${table}.id` as 'services.id', '=', targetId)
    .where(sql<boolean>`${account.path} like owner.path || '%'`)
    .executeTakeFirst()
  if (!row) throw invalid({ targetId: `That ${target} does not exist, or this account cannot use it` })
  return { ...none, [`${target}_id`]: targetId }
}

// ---- reading -------------------------------------------------------------------------------------

export interface DiscountView extends Omit<DiscountRow, 'granted_by_org_id'> {
  /** Null when the granting organisation is above the reader. */
  readonly granted_by_org_id: number | null
  readonly org_name: string
  /** Null when the granting organisation is above the reader (then `granted_by_org_id` is hidden too). */
  readonly granted_by_name: string | null
  readonly target_name: string | null
  readonly status: DiscountStatus
}

function discountQuery(sdb: ScopedDb) {
  return sdb.selectFrom('discounts')
    .innerJoin('organisations as o', 'o.id', 'discounts.org_id')
    .leftJoin('organisations as g', (join) => join.onRef('g.id', '=', 'discounts.granted_by_org_id').on('g.path', 'like', sdb.pathPattern))
    .leftJoin('services as s', 's.id', 'discounts.service_id')
    .leftJoin('plans as p', 'p.id', 'discounts.plan_id')
    .leftJoin('meters as m', 'm.id', 'discounts.meter_id')
    .selectAll('discounts')
    .select(['o.name as org_name', 'g.name as granted_by_name', sql<string | null>`coalesce(s.name, p.name, m.name)`.as('target_name')])
}

function view(row: Omit<DiscountView, 'status'>, today: string): DiscountView {
  const hidden = row.granted_by_name === null
  return { ...row, granted_by_org_id: hidden ? null : row.granted_by_org_id, status: discountStatus(row, today) }
}

export async function getDiscount(sdb: ScopedDb, id: number, today = todayUtc()): Promise<DiscountView> {
  const row = await discountQuery(sdb).where('discounts.id', '=', id).executeTakeFirst()
  if (!row) throw notFound('discount')
  return view(row as Omit<DiscountView, 'status'>, today)
}

export interface DiscountFilter {
  readonly orgId?: number | undefined
  readonly status?: DiscountStatus | undefined
  readonly target?: DiscountTarget | undefined
  /** Only discounts valid on some day of [from, to] (either end may be open). */
  readonly from?: string | undefined
  readonly to?: string | undefined
  readonly limit: number
  readonly offset: number
}

/** Discounts in scope, newest first; the status filter runs in SQL from the dates. */
export async function listDiscounts(sdb: ScopedDb, filter: DiscountFilter, today = todayUtc()): Promise<{ discounts: DiscountView[]; total: number }> {
  let base = sdb.selectFrom('discounts')
  if (filter.orgId !== undefined) base = base.where('discounts.org_id', '=', filter.orgId)
  if (filter.status) base = base.where(statusIs(filter.status, today))
  if (filter.target) base = base.where('discounts.target', '=', filter.target)
  if (filter.to) base = base.where('discounts.valid_from', '<=', filter.to)
  if (filter.from) base = base.where((eb) => eb.or([eb('discounts.valid_to', 'is', null), eb('discounts.valid_to', '>=', filter.from!)]))
  const ids = base.select('discounts.id')
  const [rows, count] = await Promise.all([
    discountQuery(sdb).where('discounts.id', 'in', ids).orderBy('discounts.id', 'desc').limit(filter.limit).offset(filter.offset).execute(),
    base.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ])
  return { discounts: rows.map((r) => view(r as Omit<DiscountView, 'status'>, today)), total: Number(count.n) }
}

// ---- writing -------------------------------------------------------------------------------------

/** Creates a discount for an account below the caller, granted by the caller's organisation. */
export async function createDiscount(sdb: ScopedDb, input: DiscountInput, today = todayUtc()): Promise<DiscountView> {
  const account = await grantableAccount(sdb, input.orgId, 'discounts')
  if (input.validTo && input.validTo < input.validFrom) throw invalid({ validTo: 'Use a date on or after the start date' })
  let money: { percent: string | null; amount_minor: string | null; currency: string | null }
  if (input.kind === 'percent') {
    if (input.amount || input.amountMinor !== undefined) throw invalid({ amount: 'A percent discount has no amount' })
    money = { percent: checkedPercent(input.percent), amount_minor: null, currency: null }
  } else {
    if (input.percent) throw invalid({ percent: 'A fixed discount has no percentage' })
    if (input.currency && input.currency !== account.currency) {
      throw invalid({ currency: `A fixed discount is in the account's currency, ${account.currency}` })
    }
    money = { percent: null, amount_minor: checkedAmount(input, account.currency), currency: account.currency }
  }
  const targets = await checkedTarget(sdb, account, input.target, input.targetId)
  return sdb.transaction(async (trx) => {
    const insert = await trx.insertInto('discounts', {
      org_id: account.id, granted_by_org_id: trx.scope.orgId, description: input.description, target: input.target, ...targets,
      kind: input.kind, ...money, valid_from: input.validFrom, valid_to: input.validTo || null,
    })
    const row = await insert.returningAll().executeTakeFirstOrThrow() as DiscountRow
    await recordAudit(trx, {
      orgId: account.id, action: 'create', subject: 'Discount', subjectId: row.id,
      summary: `Discount #${row.id} granted to ${account.name}`, after: row,
    })
    return getDiscount(trx, row.id, today)
  })
}

/** The discount to change, locked: in scope (404), not the caller's own (403), not cancelled (409). */
async function changeable(trx: ScopedDb, id: number): Promise<DiscountRow> {
  const row = await trx.selectFrom('discounts').selectAll().where('discounts.id', '=', id).forUpdate().executeTakeFirst() as DiscountRow | undefined
  if (!row) throw notFound('discount')
  if (row.org_id === trx.scope.orgId) {
    throw new HttpProblem(403, 'You cannot change your own organisation\'s discounts: the organisation that granted them does that.')
  }
  if (row.cancelled_at) throw new HttpProblem(409, 'This discount was cancelled; it cannot be changed.')
  return row
}

/**
 * Changes the description or the end date; the percentage or amount only while the discount has
 * not started (afterwards, invoices may already use it: cancel it and create another).
 */
export async function updateDiscount(sdb: ScopedDb, id: number, patch: DiscountPatch, today = todayUtc()): Promise<DiscountView> {
  return sdb.transaction(async (trx) => {
    const before = await changeable(trx, id)
    const set: { description?: string; valid_to?: string | null; percent?: string; amount_minor?: string } = {}
    if (patch.description !== undefined && patch.description !== before.description) set.description = patch.description
    if (patch.validTo !== undefined && (patch.validTo || null) !== before.valid_to) {
      if (patch.validTo && patch.validTo < before.valid_from) throw invalid({ validTo: 'Use a date on or after the start date' })
      set.valid_to = patch.validTo || null
    }
    if (patch.percent !== undefined && patch.percent !== '') {
      if (before.kind !== 'percent') throw invalid({ percent: 'This is a fixed discount' })
      const percent = checkedPercent(patch.percent)
      if (percent !== before.percent) set.percent = percent
    }
    if ((patch.amount !== undefined && patch.amount.trim() !== '') || patch.amountMinor !== undefined) {
      if (before.kind !== 'fixed') throw invalid({ amount: 'This is a percent discount' })
      const amount = checkedAmount(patch, before.currency!)
      if (amount !== before.amount_minor) set.amount_minor = amount
    }
    if ((set.percent !== undefined || set.amount_minor !== undefined) && discountStatus(before, today) !== 'scheduled') {
      throw new HttpProblem(409, 'This discount has started: its value can no longer change. Cancel it and create a new one.')
    }
    if (Object.keys(set).length) {
      await trx.updateTable('discounts').set({ ...set, updated_at: sql<Date>`now()` }).where('discounts.id', '=', id).execute()
      const after = await trx.selectFrom('discounts').selectAll().where('discounts.id', '=', id).executeTakeFirstOrThrow()
      await recordAudit(trx, { orgId: before.org_id, action: 'update', subject: 'Discount', subjectId: id, summary: `Discount #${id} changed`, before, after })
    }
    return getDiscount(trx, id, today)
  })
}

/** Cancels a discount: it stops applying to invoices not yet issued and can no longer change. */
export async function cancelDiscount(sdb: ScopedDb, id: number, today = todayUtc()): Promise<DiscountView> {
  return sdb.transaction(async (trx) => {
    const before = await changeable(trx, id)
    await trx.updateTable('discounts').set({ cancelled_at: sql<Date>`now()`, updated_at: sql<Date>`now()` }).where('discounts.id', '=', id).execute()
    const after = await trx.selectFrom('discounts').selectAll().where('discounts.id', '=', id).executeTakeFirstOrThrow()
    await recordAudit(trx, { orgId: before.org_id, action: 'cancel', subject: 'Discount', subjectId: id, summary: `Discount #${id} cancelled`, before, after })
    return getDiscount(trx, id, today)
  })
}
