/**
 * Billing a period: one invoice per billable organisation and month. The unique key
 * (org_id, period) is the guarantee, not a pre-check: each organisation is billed in its own
 * transaction that inserts its invoice with `on conflict do nothing`, then locks the row and
 * recomputes it only while it is a draft. Two concurrent runs therefore end with one invoice per
 * organisation and the same totals; issued, paid, overdue and void invoices are never recomputed.
 *
 * @example
 * await billPeriod(c.var.db, { period: '2026-10' })               // closed month: issued invoices
 * await billPeriod(c.var.db, { period: '2026-11', today: '2026-11-20' }) // open month: drafts
 */
import { sql, type Kysely } from 'kysely'
import { recordAudit } from '../audit/audit.ts'
import type { Database, InvoiceRow } from '../db/schema.ts'
import { executorOf, type ScopedDb } from '../tenancy/scoped-db.ts'
import { lockCreditAccount } from './credits.ts'
import { toMajor } from './money.ts'
import { loadRatingInput, periodBounds, rateInvoice, type RatedInvoice } from './rating.ts'

const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/
const DAY = /^\d{4}-\d{2}-\d{2}$/

export function isPeriod(value: string): boolean {
  return PERIOD.test(value) && value >= '2000-01'
}

/** Today in UTC as 'YYYY-MM-DD'. */
export function todayUtc(): string {
  return new Date().toISOString().slice(0, 10)
}

export function addDays(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00Z`)
  date.setUTCDate(date.getUTCDate() + days)
  return date.toISOString().slice(0, 10)
}

/** 'YYYY-MM' of a 'YYYY-MM-DD' date, and the month before it. */
export function monthOf(day: string): string {
  return day.slice(0, 7)
}
export function previousMonth(day: string): string {
  const date = new Date(`${day.slice(0, 7)}-01T00:00:00Z`)
  date.setUTCMonth(date.getUTCMonth() - 1)
  return date.toISOString().slice(0, 7)
}

/** A period is closed once its last day is before `today`: it is billed with issued invoices. */
export function isClosed(period: string, today: string): boolean {
  return periodBounds(period).next <= today
}

export interface BillPeriodInput {
  /** 'YYYY-MM' */
  readonly period: string
  /** 'YYYY-MM-DD', default today (UTC). */
  readonly today?: string
  /** Days from issue to due date; default 30. */
  readonly dueDays?: number
}

export interface BillPeriodResult {
  readonly created: number
  readonly updated: number
  readonly invoiceIds: number[]
}

/**
 * Bills every organisation in the handle's subtree that has a subscription overlapping `period`.
 * A closed month gives issued invoices (credits drawn), the current month drafts that a re-run
 * recomputes. Throws RangeError on a malformed or future period.
 */
export async function billPeriod(sdb: ScopedDb, input: BillPeriodInput): Promise<BillPeriodResult> {
  const today = input.today ?? todayUtc()
  if (!isPeriod(input.period)) throw new RangeError(`Not a period (YYYY-MM): ${JSON.stringify(input.period)}`)
  if (!DAY.test(today)) throw new RangeError(`Not a date (YYYY-MM-DD): ${JSON.stringify(today)}`)
  if (input.period > monthOf(today)) throw new RangeError(`The period ${input.period} has not started yet.`)
  const dueDays = input.dueDays ?? 30
  const { start, last } = periodBounds(input.period)
  const orgs = await sdb.selectFrom('subscriptions')
    .innerJoin('organisations', 'organisations.id', 'subscriptions.org_id')
    .select(['subscriptions.org_id as orgId', 'organisations.currency'])
    .distinct()
    .where('subscriptions.status', '<>', 'cancelled')
    .where('subscriptions.starts_on', '<=', last)
    .where((eb) => eb.or([eb('subscriptions.ends_on', 'is', null), eb('subscriptions.ends_on', '>=', start)]))
    .orderBy('subscriptions.org_id')
    .execute()
  let created = 0
  let updated = 0
  const invoiceIds: number[] = []
  const closed = isClosed(input.period, today)
  for (const org of orgs) {
    const outcome = await sdb.transaction((trx) => billOrganisation(trx, { orgId: org.orgId, currency: org.currency, period: input.period, closed, today, dueDays }))
    if (outcome.created) created++
    else if (outcome.changed) updated++
    invoiceIds.push(outcome.invoiceId)
  }
  return { created, updated, invoiceIds }
}

interface BillOrganisationInput {
  readonly orgId: number
  readonly currency: string
  readonly period: string
  readonly closed: boolean
  readonly today: string
  readonly dueDays: number
}

/** One organisation's invoice for one month, inside the caller's transaction. */
async function billOrganisation(trx: ScopedDb, input: BillOrganisationInput): Promise<{ invoiceId: number; created: boolean; changed: boolean }> {
  const db = executorOf(trx) as Kysely<Database>
  const periodStart = `${input.period}-01`
  // The id is taken first so the number can be written by the same insert. A conflict wastes one
  // sequence value, which is harmless.
  const inserted = await sql<{ id: number }>`
    insert into invoices (id, org_id, number, period, currency)
    select n, ${input.orgId}, 'INV-' || ${input.period.replace('-', '')} || '-' || lpad(n::text, greatest(6, length(n::text)), '0'), ${periodStart}::date, ${input.currency}
    from (select nextval(pg_get_serial_sequence('invoices', 'id')) as n) s
    on conflict (org_id, period) do nothing
    returning id`.execute(db)
  const invoice = await lockInvoiceByPeriod(trx, input.orgId, periodStart)
  const created = inserted.rows.length === 1
  if (invoice.status !== 'draft') return { invoiceId: invoice.id, created, changed: false }
  const result = await recompute(trx, invoice, input.closed ? { issueOn: input.today, dueDays: input.dueDays } : undefined)
  const after = result.invoice
  // A re-run that finds the same figures changes nothing, and logs nothing.
  if (!created && !result.changed && after.status === 'draft') return { invoiceId: invoice.id, created, changed: false }
  const action = after.status === 'draft' ? (created ? 'create' : 'recompute') : 'issue'
  await recordAudit(trx, {
    orgId: after.org_id, action, subject: 'Invoice', subjectId: after.id,
    summary: `Invoice ${after.number} ${action === 'create' ? 'created as a draft' : action === 'recompute' ? 'recomputed' : 'issued'}: ${toMajor(after.total_minor, after.currency)} ${after.currency}`,
    before: created ? undefined : invoiceAudit(invoice), after: invoiceAudit(after),
  })
  return { invoiceId: invoice.id, created, changed: created || result.changed }
}

async function lockInvoiceByPeriod(trx: ScopedDb, orgId: number, periodStart: string): Promise<InvoiceRow> {
  return (await trx.selectFrom('invoices').selectAll().where('invoices.org_id', '=', orgId).where('invoices.period', '=', periodStart).forUpdate().executeTakeFirstOrThrow()) as InvoiceRow
}

/** What the audit log keeps of an invoice. */
export function invoiceAudit(invoice: InvoiceRow) {
  return {
    number: invoice.number, period: invoice.period.slice(0, 7), status: invoice.status, currency: invoice.currency,
    subtotalMinor: invoice.subtotal_minor, discountMinor: invoice.discount_minor, creditMinor: invoice.credit_minor, totalMinor: invoice.total_minor,
    paidMinor: invoice.paid_minor, issuedOn: invoice.issued_on, dueOn: invoice.due_on,
  }
}

/**
 * Replaces a locked draft's lines with a fresh rating; with `issue`, also draws the credit balance
 * and issues it. The caller holds the row lock and writes the audit row.
 */
export async function recompute(trx: ScopedDb, invoice: InvoiceRow, issue?: { issueOn: string; dueDays: number }): Promise<{ invoice: InvoiceRow; changed: boolean; rated: RatedInvoice }> {
  const db = executorOf(trx) as Kysely<Database>
  const period = invoice.period.slice(0, 7)
  if (issue) {
    // The same lock every ledger write takes: two invoices issued at once, or an issue racing an
    // adjustment or an expiry, never spend the same balance twice.
    await lockCreditAccount(trx, invoice.org_id, invoice.currency)
  }
  const input = await loadRatingInput(trx, invoice.org_id, period, invoice.currency, { withCredit: !!issue })
  const rated = rateInvoice(input)
  // Issuing always rewrites the lines; a re-run of a draft only when they differ.
  const previous = issue ? [] : await db.selectFrom('invoice_lines')
    .select(['kind', 'description', 'subscription_id', 'meter_id', 'discount_id', 'quantity', 'included_quantity', 'unit', 'unit_price', 'amount_minor'])
    .where('invoice_id', '=', invoice.id).orderBy('position').execute()
  const rows = rated.lines.map((line, index) => ({
    org_id: invoice.org_id, invoice_id: invoice.id, position: index + 1, kind: line.kind, description: line.description,
    subscription_id: line.subscriptionId, meter_id: line.meterId, discount_id: line.discountId, quantity: line.quantity,
    included_quantity: line.includedQuantity, unit: line.unit, unit_price: line.unitPrice, amount_minor: line.amountMinor.toString(),
  }))
  const changed = !sameLines(previous, rows) || !!issue
  if (changed) {
    await db.deleteFrom('invoice_lines').where('invoice_id', '=', invoice.id).execute()
    if (rows.length) await db.insertInto('invoice_lines').values(rows).execute()
  }
  const totals = {
    subtotal_minor: rated.subtotal.toString(), discount_minor: rated.discount.toString(), credit_minor: rated.credit.toString(), total_minor: rated.total.toString(),
  }
  const settled = issue && rated.total === 0n
  const updatedRow = await db.updateTable('invoices')
    .set({
      ...totals, updated_at: sql<Date>`now()` as unknown as Date,
      ...(issue ? { status: settled ? 'paid' : 'issued', issued_on: issue.issueOn, due_on: addDays(issue.issueOn, issue.dueDays) } : {}),
      ...(settled ? { paid_at: sql<Date>`now()` as unknown as Date } : {}),
    })
    .where('id', '=', invoice.id)
    .returningAll()
    .executeTakeFirstOrThrow() as InvoiceRow
  if (issue && rated.credit < 0n) {
    await db.insertInto('credit_entries').values({
      org_id: invoice.org_id, kind: 'usage', amount_minor: rated.credit.toString(), currency: invoice.currency, invoice_id: invoice.id,
      description: `Applied to invoice ${invoice.number}`,
    }).execute()
  }
  return { invoice: updatedRow, changed: changed || invoice.total_minor !== updatedRow.total_minor, rated }
}

type LineRow = Record<string, unknown>
function sameLines(a: readonly LineRow[], b: readonly LineRow[]): boolean {
  if (a.length !== b.length) return false
  const keys = ['kind', 'description', 'subscription_id', 'meter_id', 'discount_id', 'quantity', 'included_quantity', 'unit', 'unit_price', 'amount_minor']
  return a.every((row, i) => keys.every((k) => String(row[k] ?? '') === String(b[i]![k] ?? '')))
}
