/**
 * Reading invoices for the pages and the JSON API: a filtered, paged list and one invoice with its
 * lines and payments. Always through the caller's scoped handle, so a customer sees its own
 * invoices and a reseller its subtree's.
 */
import type { BillingRunRow, InvoiceLineRow, InvoiceRow, InvoiceStatus, PaymentRow } from '../db/schema.ts'
import { notFound } from '../http/problem.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'

export interface InvoiceFilter {
  readonly orgId?: number | undefined
  /** 'YYYY-MM', inclusive. */
  readonly from?: string | undefined
  readonly to?: string | undefined
  readonly status?: InvoiceStatus | undefined
}

export type InvoiceListRow = InvoiceRow & { readonly org_name: string }

export async function listInvoices(sdb: ScopedDb, filter: InvoiceFilter, paging: { limit: number; offset: number }): Promise<{ invoices: InvoiceListRow[]; total: number }> {
  let query = sdb.selectFrom('invoices').innerJoin('organisations', 'organisations.id', 'invoices.org_id')
  if (filter.orgId !== undefined) query = query.where('invoices.org_id', '=', filter.orgId)
  if (filter.from) query = query.where('invoices.period', '>=', `${filter.from}-01`)
  if (filter.to) query = query.where('invoices.period', '<=', `${filter.to}-01`)
  if (filter.status) query = query.where('invoices.status', '=', filter.status)
  const [rows, count] = await Promise.all([
    query.selectAll('invoices').select('organisations.name as org_name')
      .orderBy('invoices.period', 'desc').orderBy('organisations.name').orderBy('invoices.id')
      .limit(paging.limit).offset(paging.offset).execute(),
    query.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirst(),
  ])
  return { invoices: rows as InvoiceListRow[], total: Number(count?.n ?? 0) }
}

export interface InvoiceDetail {
  readonly invoice: InvoiceListRow
  readonly lines: InvoiceLineRow[]
  readonly payments: PaymentRow[]
}

export async function invoiceDetail(sdb: ScopedDb, id: number): Promise<InvoiceDetail> {
  const invoice = await sdb.selectFrom('invoices').innerJoin('organisations', 'organisations.id', 'invoices.org_id')
    .selectAll('invoices').select('organisations.name as org_name').where('invoices.id', '=', id).executeTakeFirst()
  if (!invoice) throw notFound('invoice')
  const [lines, payments] = await Promise.all([
    sdb.selectFrom('invoice_lines').selectAll().where('invoice_lines.invoice_id', '=', id).orderBy('invoice_lines.position').execute(),
    sdb.selectFrom('payments').selectAll().where('payments.invoice_id', '=', id).orderBy('payments.paid_on').orderBy('payments.id').execute(),
  ])
  return { invoice: invoice as InvoiceListRow, lines: lines as InvoiceLineRow[], payments: payments as PaymentRow[] }
}

export async function listBillingRuns(sdb: ScopedDb, paging: { limit: number; offset: number }): Promise<{ runs: BillingRunRow[]; total: number }> {
  const [runs, count] = await Promise.all([
    sdb.selectFrom('billing_runs').selectAll().orderBy('billing_runs.id', 'desc').limit(paging.limit).offset(paging.offset).execute(),
    sdb.selectFrom('billing_runs').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirst(),
  ])
  return { runs: runs as BillingRunRow[], total: Number(count?.n ?? 0) }
}

export async function billingRun(sdb: ScopedDb, id: number): Promise<BillingRunRow> {
  const run = await sdb.selectFrom('billing_runs').selectAll().where('billing_runs.id', '=', id).executeTakeFirst()
  if (!run) throw notFound('billing run')
  return run as BillingRunRow
}
