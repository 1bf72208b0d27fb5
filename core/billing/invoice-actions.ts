/**
 * What happens to an invoice after rating: issue a draft, record payments, mark paid, void, and
 * the daily overdue marking. Each change locks the invoice row, checks the transition and writes
 * its audit row in the same transaction.
 *
 * Statuses: draft -> issued (shown as "pending") -> paid | overdue -> paid; draft | issued | overdue
 * -> void (only without payments). An issued invoice whose total is zero is paid at once.
 */
import { sql, type Kysely } from 'kysely'
import { recordAudit } from '../audit/audit.ts'
import type { Database, InvoiceRow, InvoiceStatus, PaymentRow } from '../db/schema.ts'
import { HttpProblem, notFound } from '../http/problem.ts'
import { executorOf, type ScopedDb } from '../tenancy/scoped-db.ts'
import { addDays, invoiceAudit, recompute, todayUtc } from './invoices.ts'
import { formatMoney } from './money.ts'

/** Status names for people: an issued invoice is "pending" payment. */
export const STATUS_LABELS: Readonly<Record<InvoiceStatus, string>> = {
  draft: 'draft', issued: 'pending', paid: 'paid', overdue: 'overdue', void: 'void',
}

export function balanceOf(invoice: Pick<InvoiceRow, 'total_minor' | 'paid_minor'>): bigint {
  return BigInt(invoice.total_minor) - BigInt(invoice.paid_minor)
}

async function lockInvoice(trx: ScopedDb, id: number): Promise<InvoiceRow> {
  const invoice = await trx.selectFrom('invoices').selectAll().where('invoices.id', '=', id).forUpdate().executeTakeFirst()
  if (!invoice) throw notFound('invoice')
  return invoice as InvoiceRow
}

export interface PaymentInput {
  readonly amountMinor: bigint
  /** 'YYYY-MM-DD', default today (UTC). */
  readonly paidOn?: string | undefined
  readonly reference?: string | undefined
  readonly method?: string | undefined
}

/** Records a payment against an issued or overdue invoice; the last one settles it. */
export async function recordPayment(sdb: ScopedDb, invoiceId: number, input: PaymentInput): Promise<{ invoice: InvoiceRow; payment: PaymentRow }> {
  return sdb.transaction(async (trx) => {
    const invoice = await lockInvoice(trx, invoiceId)
    const payment = await insertPayment(trx, invoice, input)
    const after = await settle(trx, invoice, input.amountMinor)
    await recordAudit(trx, {
      orgId: invoice.org_id, action: 'payment', subject: 'Invoice', subjectId: invoice.id,
      summary: `Payment of ${formatMoney(input.amountMinor, invoice.currency)} recorded on invoice ${invoice.number}${after.status === 'paid' ? ' (now paid)' : ''}`,
      before: invoiceAudit(invoice), after: { ...invoiceAudit(after), payment: { id: payment.id, amountMinor: payment.amount_minor, paidOn: payment.paid_on, reference: payment.reference } },
    })
    return { invoice: after, payment }
  })
}

async function insertPayment(trx: ScopedDb, invoice: InvoiceRow, input: PaymentInput): Promise<PaymentRow> {
  if (invoice.status === 'draft') throw new HttpProblem(409, `Invoice ${invoice.number} is a draft: issue it before recording a payment.`)
  if (invoice.status === 'void') throw new HttpProblem(409, `Invoice ${invoice.number} is void: it takes no payments.`)
  if (invoice.status === 'paid') throw new HttpProblem(409, `Invoice ${invoice.number} is already paid.`)
  const balance = balanceOf(invoice)
  if (input.amountMinor <= 0n) throw new HttpProblem(422, 'Some fields are not valid.', { amount: 'Enter an amount greater than zero' })
  if (input.amountMinor > balance) {
    throw new HttpProblem(422, 'Some fields are not valid.', { amount: `The balance is ${formatMoney(balance, invoice.currency)}: a payment cannot exceed it` })
  }
  const db = executorOf(trx) as Kysely<Database>
  return db.insertInto('payments').values({
    org_id: invoice.org_id, invoice_id: invoice.id, amount_minor: input.amountMinor.toString(), currency: invoice.currency,
    paid_on: input.paidOn ?? todayUtc(), method: input.method ?? 'manual', reference: input.reference ?? '',
  }).returningAll().executeTakeFirstOrThrow() as Promise<PaymentRow>
}

async function settle(trx: ScopedDb, invoice: InvoiceRow, amount: bigint): Promise<InvoiceRow> {
  const db = executorOf(trx) as Kysely<Database>
  const paid = BigInt(invoice.paid_minor) + amount
  const full = paid === BigInt(invoice.total_minor)
  return db.updateTable('invoices').set({
    paid_minor: paid.toString(), updated_at: sql<Date>`now()` as unknown as Date,
    ...(full ? { status: 'paid' as const, paid_at: sql<Date>`now()` as unknown as Date } : {}),
  }).where('id', '=', invoice.id).returningAll().executeTakeFirstOrThrow() as Promise<InvoiceRow>
}

export type StatusChange = 'issued' | 'paid' | 'void'

export interface StatusOptions {
  readonly today?: string | undefined
  readonly dueDays?: number | undefined
  readonly paidOn?: string | undefined
  readonly reference?: string | undefined
}

/** `issued` (from draft: recomputed, credit drawn), `paid` (a payment of the balance), `void` (without payments). */
export async function changeStatus(sdb: ScopedDb, invoiceId: number, to: StatusChange, options: StatusOptions = {}): Promise<InvoiceRow> {
  if (to === 'paid') {
    const invoice = await sdb.selectFrom('invoices').selectAll().where('invoices.id', '=', invoiceId).executeTakeFirst()
    if (!invoice) throw notFound('invoice')
    if (invoice.status === 'paid') throw new HttpProblem(409, `Invoice ${invoice.number} is already paid.`)
    return (await recordPayment(sdb, invoiceId, { amountMinor: balanceOf(invoice as InvoiceRow), paidOn: options.paidOn, reference: options.reference ?? 'Marked paid' })).invoice
  }
  return sdb.transaction(async (trx) => {
    const invoice = await lockInvoice(trx, invoiceId)
    if (to === 'issued') {
      if (invoice.status !== 'draft') throw new HttpProblem(409, `Only a draft can be issued; invoice ${invoice.number} is ${STATUS_LABELS[invoice.status]}.`)
      const today = options.today ?? todayUtc()
      const { invoice: after } = await recompute(trx, invoice, { issueOn: today, dueDays: options.dueDays ?? 30 })
      await recordAudit(trx, {
        orgId: invoice.org_id, action: 'issue', subject: 'Invoice', subjectId: invoice.id,
        summary: `Invoice ${invoice.number} issued: ${formatMoney(after.total_minor, after.currency)}, due ${after.due_on ?? addDays(today, 30)}`,
        before: invoiceAudit(invoice), after: invoiceAudit(after),
      })
      return after
    }
    if (invoice.status === 'void') throw new HttpProblem(409, `Invoice ${invoice.number} is already void.`)
    if (invoice.status === 'paid') throw new HttpProblem(409, `Invoice ${invoice.number} is paid: it cannot be voided.`)
    if (BigInt(invoice.paid_minor) > 0n) throw new HttpProblem(409, `Invoice ${invoice.number} has payments recorded: it cannot be voided.`)
    const db = executorOf(trx) as Kysely<Database>
    const after = await db.updateTable('invoices')
      .set({ status: 'void', voided_at: sql<Date>`now()` as unknown as Date, updated_at: sql<Date>`now()` as unknown as Date })
      .where('id', '=', invoice.id).returningAll().executeTakeFirstOrThrow() as InvoiceRow
    // Give back the credit this invoice drew, so voiding it leaves the balance as it was.
    if (BigInt(invoice.credit_minor) < 0n) {
      await db.insertInto('credit_entries').values({
        org_id: invoice.org_id, kind: 'adjustment', amount_minor: (-BigInt(invoice.credit_minor)).toString(), currency: invoice.currency,
        invoice_id: invoice.id, description: `Credit returned: invoice ${invoice.number} voided`,
      }).execute()
    }
    await recordAudit(trx, {
      orgId: invoice.org_id, action: 'void', subject: 'Invoice', subjectId: invoice.id,
      summary: `Invoice ${invoice.number} voided`, before: invoiceAudit(invoice), after: invoiceAudit(after),
    })
    return after
  })
}

/**
 * Marks issued invoices whose due date is before `today` as overdue, in one statement, with one
 * audit row per invoice in the same transaction. Returns the ids.
 */
export async function markOverdue(sdb: ScopedDb, today: string = todayUtc()): Promise<number[]> {
  return sdb.transaction(async (trx) => {
    const rows = await trx.updateTable('invoices')
      .set({ status: 'overdue', updated_at: sql<Date>`now()` as unknown as Date })
      .where('invoices.status', '=', 'issued').where('invoices.due_on', '<', today)
      .returning(['invoices.id', 'invoices.org_id', 'invoices.number', 'invoices.due_on', 'invoices.total_minor', 'invoices.paid_minor', 'invoices.currency'])
      .execute()
    for (const row of rows) {
      await recordAudit(trx, {
        orgId: row.org_id, action: 'overdue', subject: 'Invoice', subjectId: row.id,
        summary: `Invoice ${row.number} is overdue (due ${row.due_on}, ${formatMoney(balanceOf(row), row.currency)} unpaid)`,
        before: { status: 'issued' }, after: { status: 'overdue' },
      })
    }
    return rows.map((r) => r.id)
  })
}
