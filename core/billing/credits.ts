/**
 * The credit ledger: one signed row per movement in `credit_entries`, and a balance that is the
 * exact sum of an account's rows in one currency. Top-ups and accruals add, usage draws (written
 * by rating when an invoice is issued) and expiries subtract, adjustments go either way.
 *
 * Credit is granted from above: the operator or the reseller of an account may top it up, an
 * organisation never credits itself. Every write takes the account's ledger lock
 * ({@link lockCreditAccount}) so a balance check and the row it guards cannot interleave.
 *
 * @example
 * const entry = await grantCredit(c.var.db, { orgId: 42, kind: 'topup', amount: '50.00', description: 'Prepaid' })
 * await creditBalance(c.var.db, 42, 'EUR') // 5000n
 */
import { sql, type Kysely, type Transaction } from 'kysely'
import { z } from 'zod'
import { recordAudit } from '../audit/audit.ts'
import type { CreditEntryRow, CreditKind, Database } from '../db/schema.ts'
import { HttpProblem, notFound } from '../http/problem.ts'
import { executorOf, ScopedDb } from '../tenancy/scoped-db.ts'
import { parseMoney } from './money.ts'

/** Today's date in UTC, `YYYY-MM-DD`: billing days and months are UTC. */
export function todayUtc(now = new Date()): string {
  return now.toISOString().slice(0, 10)
}

const DAY = /^\d{4}-\d{2}-\d{2}$/

/** Whether `value` is a real calendar date written `YYYY-MM-DD`. */
export function isDay(value: string): boolean {
  if (!DAY.test(value)) return false
  const date = new Date(`${value}T00:00:00Z`)
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value
}

/** The first and last day of `today`'s month: the default "this period". */
export function monthOf(today: string): { from: string; to: string } {
  const [y, m] = today.split('-').map(Number) as [number, number]
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate()
  const mm = String(m).padStart(2, '0')
  return { from: `${y}-${mm}-01`, to: `${y}-${mm}-${String(last).padStart(2, '0')}` }
}

type Reader = ScopedDb | Kysely<Database> | Transaction<Database>

function entries(db: Reader) {
  return db instanceof ScopedDb ? db.selectFrom('credit_entries') : (db as Kysely<Database>).selectFrom('credit_entries')
}

/** `occurred_at` within the UTC days `from`..`to`, both inclusive (either may be absent). */
function inPeriod(from: string | undefined, to: string | undefined) {
  const parts = []
  if (from) parts.push(sql`credit_entries.occurred_at >= (cast(${from} as date)::timestamp at time zone 'UTC')`)
  if (to) parts.push(sql`credit_entries.occurred_at < ((cast(${to} as date) + 1)::timestamp at time zone 'UTC')`)
  return parts.length ? sql<boolean>`(${sql.join(parts, sql` and `)})` : sql<boolean>`true`
}

/**
 * An account's balance in one currency: the exact sum of its ledger rows. Works on a scoped
 * handle (requests) or a raw one (rating, jobs).
 */
export async function creditBalance(db: Reader, orgId: number, currency: string): Promise<bigint> {
  const row = await entries(db)
    .select(sql<string>`coalesce(sum(credit_entries.amount_minor), 0)::text`.as('balance'))
    .where('credit_entries.org_id', '=', orgId)
    .where('credit_entries.currency', '=', currency)
    .executeTakeFirstOrThrow()
  return BigInt(row.balance)
}

/** Credit an account gained in a period: the sum of its positive rows (top-ups, accruals, positive adjustments). */
export async function accruedCredits(db: Reader, orgId: number, currency: string, from: string, to: string): Promise<bigint> {
  const row = await entries(db)
    .select(sql<string>`coalesce(sum(credit_entries.amount_minor), 0)::text`.as('accrued'))
    .where('credit_entries.org_id', '=', orgId)
    .where('credit_entries.currency', '=', currency)
    .where('credit_entries.amount_minor', '>', '0')
    .where(inPeriod(from, to))
    .executeTakeFirstOrThrow()
  return BigInt(row.accrued)
}

/**
 * Serialises ledger writes of one account and currency until the transaction ends, so "check the
 * balance, then write" holds under concurrency. Rating should take it before drawing credit.
 */
export async function lockCreditAccount(trx: ScopedDb | Transaction<Database>, orgId: number, currency: string): Promise<void> {
  const executor = trx instanceof ScopedDb ? executorOf(trx) : trx
  await sql`select pg_advisory_xact_lock(hashtext(${`ledgerlite.credit:${orgId}:${currency}`}))`.execute(executor)
}

// ---- reading -------------------------------------------------------------------------------------

export interface CreditEntryView extends CreditEntryRow {
  readonly org_name: string
  /** The granting organisation's name, only when it is inside the reader's scope. */
  readonly granted_by_name: string | null
}

export interface LedgerFilter {
  readonly orgId?: number | undefined
  readonly kind?: CreditKind | undefined
  readonly currency?: string | undefined
  readonly from?: string | undefined
  readonly to?: string | undefined
  /** Keyset paging: only rows with an id below this one (the ledger reads newest first). */
  readonly before?: string | undefined
  readonly limit: number
}

/**
 * Ledger rows in scope, newest first, paged by id (ids grow with every insert, so "older than id
 * N" is exact and cheap). `nextBefore` is the cursor of the next page, or null at the end.
 */
export async function listCreditEntries(sdb: ScopedDb, filter: LedgerFilter): Promise<{ entries: CreditEntryView[]; nextBefore: string | null }> {
  let query = sdb.selectFrom('credit_entries')
    .innerJoin('organisations as o', 'o.id', 'credit_entries.org_id')
    // The granter may sit above the reader (the operator crediting a reseller's customer): hide it then.
    .leftJoin('organisations as g', (join) => join.onRef('g.id', '=', 'credit_entries.granted_by_org_id').on('g.path', 'like', sdb.pathPattern))
    .selectAll('credit_entries')
    .select(['o.name as org_name', 'g.name as granted_by_name'])
    .where(inPeriod(filter.from, filter.to))
  if (filter.orgId !== undefined) query = query.where('credit_entries.org_id', '=', filter.orgId)
  if (filter.kind) query = query.where('credit_entries.kind', '=', filter.kind)
  if (filter.currency) query = query.where('credit_entries.currency', '=', filter.currency)
  if (filter.before) query = query.where('credit_entries.id', '<', filter.before)
  const rows = await query.orderBy('credit_entries.id', 'desc').limit(filter.limit + 1).execute() as CreditEntryView[]
  const more = rows.length > filter.limit
  const page = more ? rows.slice(0, filter.limit) : rows
  return {
    entries: page.map((r) => (r.granted_by_name === null ? { ...r, granted_by_org_id: null } : r)),
    nextBefore: more ? page[page.length - 1]!.id : null,
  }
}

export interface BalanceRow {
  readonly org_id: number
  readonly org_name: string
  readonly currency: string
  readonly balance_minor: string
  /** Positive movements in the requested period; null when no period was asked for. */
  readonly accrued_minor: string | null
}

/** Balance per account and currency in scope, with the credit accrued in `from`..`to` when given. */
export async function creditBalances(sdb: ScopedDb, filter: { orgId?: number | undefined; from?: string | undefined; to?: string | undefined }): Promise<BalanceRow[]> {
  const withPeriod = filter.from !== undefined || filter.to !== undefined
  let query = sdb.selectFrom('credit_entries')
    .innerJoin('organisations as o', 'o.id', 'credit_entries.org_id')
    .select([
      'credit_entries.org_id', 'o.name as org_name', 'credit_entries.currency',
      sql<string>`sum(credit_entries.amount_minor)::text`.as('balance_minor'),
      (withPeriod
        ? sql<string | null>`coalesce(sum(credit_entries.amount_minor) filter (where credit_entries.amount_minor > 0 and ${inPeriod(filter.from, filter.to)}), 0)::text`
        : sql<string | null>`null`).as('accrued_minor'),
    ])
    .groupBy(['credit_entries.org_id', 'o.name', 'o.path', 'credit_entries.currency'])
  if (filter.orgId !== undefined) query = query.where('credit_entries.org_id', '=', filter.orgId)
  return await query.orderBy('o.path').orderBy('credit_entries.currency').execute() as BalanceRow[]
}

// ---- writing -------------------------------------------------------------------------------------

export const GRANTABLE_KINDS = ['topup', 'adjustment', 'accrual'] as const
export type GrantableKind = (typeof GRANTABLE_KINDS)[number]

const optionalText = z.string().nullish().transform((v) => (v ?? '').trim())

/** What a person or a script sends to grant credit. Amounts are strings: never a float for money. */
export const creditInput = z.object({
  orgId: z.coerce.number({ error: 'Choose an account' }).int('Choose an account').positive('Choose an account').max(2_147_483_647, 'Choose an account'),
  kind: z.enum(GRANTABLE_KINDS, { error: 'Choose top-up, adjustment or accrual' }),
  amount: z.string({ error: 'Send the amount as a decimal string, e.g. "12.50"' }).optional(),
  amountMinor: z.string({ error: 'Send amountMinor as a string of digits, e.g. "1250"' }).regex(/^-?\d{1,15}$/, 'Use whole minor units, e.g. "1250"').optional(),
  currency: optionalText.pipe(z.union([z.literal(''), z.string().regex(/^[A-Z]{3}$/, 'Use a three-letter currency code, e.g. EUR')])),
  expiresOn: optionalText.pipe(z.union([z.literal(''), z.iso.date('Use a date like 2025-12-31')])),
  description: optionalText.pipe(z.string().max(500, 'Use at most 500 characters')),
})
export type CreditInput = z.output<typeof creditInput>

const KIND_LABEL: Record<CreditKind, string> = { topup: 'Top-up', usage: 'Usage', adjustment: 'Adjustment', expiry: 'Expiry', accrual: 'Accrual' }
export const creditKindLabel = (kind: CreditKind): string => KIND_LABEL[kind]

/** The account a caller may grant credit to or discount: in its subtree (else 404), never itself (403). */
export async function grantableAccount(sdb: ScopedDb, orgId: number, what: 'credit' | 'discounts') {
  const account = await sdb.organisation(orgId)
  if (!account) throw notFound('organisation')
  if (account.id === sdb.scope.orgId) {
    throw new HttpProblem(403, what === 'credit'
      ? 'You cannot grant credit to your own organisation: an organisation above it (your reseller or the operator) does that.'
      : 'You cannot manage your own organisation\'s discounts: an organisation above it (your reseller or the operator) does that.', { orgId: 'Choose an organisation below yours' })
  }
  return account
}

/**
 * Writes one top-up, adjustment or accrual for an account below the caller, with its audit row,
 * in one transaction. A negative adjustment may not take the balance below zero.
 */
export async function grantCredit(sdb: ScopedDb, input: CreditInput, today = todayUtc()): Promise<CreditEntryRow> {
  const account = await grantableAccount(sdb, input.orgId, 'credit')
  const currency = input.currency || account.currency
  const amount = amountOf(input, currency)
  const problems: Record<string, string> = {}
  if (amount === 0n) problems.amount = 'Enter an amount other than zero'
  else if (input.kind !== 'adjustment' && amount < 0n) problems.amount = 'Enter a positive amount; use an adjustment to remove credit'
  if (input.kind === 'adjustment' && !input.description) problems.description = 'Give the reason for the adjustment'
  if (input.expiresOn && input.kind !== 'topup') problems.expiresOn = 'Only a top-up can expire'
  else if (input.expiresOn && input.expiresOn < today) problems.expiresOn = 'Use today or a later date'
  if (Object.keys(problems).length) throw new HttpProblem(422, 'Some fields are not valid.', problems)

  return sdb.transaction(async (trx) => {
    await lockCreditAccount(trx, account.id, currency)
    if (amount < 0n) {
      const balance = await creditBalance(trx, account.id, currency)
      if (balance + amount < 0n) {
        throw new HttpProblem(422, 'That adjustment would take the balance below zero.', {
          amount: `The balance is ${balance} minor units of ${currency}; an adjustment can remove at most that`,
        })
      }
    }
    const insert = await trx.insertInto('credit_entries', {
      org_id: account.id, kind: input.kind, amount_minor: amount.toString(), currency,
      expires_on: input.expiresOn || null, granted_by_org_id: trx.scope.orgId, description: input.description,
    })
    const entry = await insert.returningAll().executeTakeFirstOrThrow() as CreditEntryRow
    await recordAudit(trx, {
      orgId: account.id, action: 'create', subject: 'Credit', subjectId: entry.id,
      summary: `${KIND_LABEL[input.kind]} of ${amount} minor units of ${currency} for ${account.name}`, after: entry,
    })
    return entry
  })
}

/** The amount in minor units from `amount` (major units, as typed) or `amountMinor`; exactly one. */
function amountOf(input: CreditInput, currency: string): bigint {
  const major = input.amount?.trim()
  if (major && input.amountMinor !== undefined) throw new HttpProblem(422, 'Some fields are not valid.', { amount: 'Send amount or amountMinor, not both' })
  if (input.amountMinor !== undefined) return BigInt(input.amountMinor)
  if (!major) throw new HttpProblem(422, 'Some fields are not valid.', { amount: 'Enter an amount' })
  const minor = parseMoney(major, currency)
  if (minor === undefined) throw new HttpProblem(422, 'Some fields are not valid.', { amount: `Enter an amount of ${currency}, e.g. 12.50` })
  return minor
}
