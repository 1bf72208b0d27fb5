/**
 * The invoice report: every invoice of the customers in scope for the period, with its customer
 * and reseller, dates, amount, payments, balance due, status and days overdue (tab `invoices`),
 * and the same invoices' balances aged by days overdue per customer and currency (tab `aging`).
 * Totals per currency. Statuses and days overdue are as of the report's `now` in the period's
 * time zone. See README.md for each figure.
 */
import { sql, type SelectQueryBuilder } from 'kysely'
import { defineReport, type ReportContext } from '../../core/reports/define.ts'
import { accountTypeParam, decimalParam, enumListParam, orgScopeParam, periodParam } from '../../core/reports/params.ts'
import { dayIn, monthStart } from '../../core/reports/period.ts'
import { ACTION_BUTTONS, INVOICE_ACTIONS } from './actions.ts'
import { AGING_BUCKETS, balanceDue, daysOverdue, minorPerMajor, statusFilter, statusLabelOn, type ReportStatus } from './invoice-sql.ts'

const STATUS_OPTIONS: ReadonlyArray<{ value: ReportStatus; label: string }> = [
  { value: 'pending', label: 'Pending (issued, not yet due)' },
  { value: 'overdue', label: 'Overdue' },
  { value: 'paid', label: 'Paid' },
  { value: 'void', label: 'Void' },
  { value: 'draft', label: 'Draft' },
]

const params = {
  period: periodParam({ default: 'last_3_months', label: 'Invoice period' }),
  orgs: orgScopeParam({ label: 'Customers' }),
  accountType: accountTypeParam(),
  status: enumListParam<ReportStatus>({ label: 'Status', values: STATUS_OPTIONS }),
  minAmount: decimalParam({ label: 'Amount from', description: 'Invoice total at least this much, in major units of its currency (e.g. 100 or 99.95).', min: '0' }),
  maxAmount: decimalParam({ label: 'Amount up to', description: 'Invoice total at most this much, in major units of its currency.', min: '0' }),
}

type InvoiceParams = typeof params
type Context = ReportContext<InvoiceParams>

/** One row of either tab; the columns a tab does not show are null in it. */
export interface InvoiceReportRow {
  id: number | null
  number: string | null
  customer_id: number
  customer: string
  reseller: string | null
  period: string | null
  issued_on: string | null
  due_on: string | null
  amount: string | null
  paid: string | null
  balance: string
  status: string | null
  currency: string
  days_overdue: number
  invoices: string | null
  current: string | null
  d1_30: string | null
  d31_60: string | null
  d61_90: string | null
  d90_plus: string | null
}

/** The day "now" falls on where the report is read: statuses and days overdue count from it. */
export function reportDay(context: Context): string {
  return dayIn(context.now, context.params.period.timeZone)
}

/** Invoices in scope matching every filter, joined to their customer and its reseller. */
export function filteredInvoices(context: Context) {
  const { db, params: p, orgIds } = context
  const today = reportDay(context)
  const factor = minorPerMajor('invoices.currency')
  return db.selectFrom('invoices')
    .innerJoin('organisations as customer', 'customer.id', 'invoices.org_id')
    .leftJoin('organisations as parent', (join) => join.onRef('parent.id', '=', 'customer.parent_id').on('parent.kind', '=', 'reseller'))
    .where('invoices.org_id', 'in', orgIds)
    // An invoice belongs to the month it bills: it is in the period when that month overlaps it.
    .where('invoices.period', '>=', monthStart(p.period.from))
    .where('invoices.period', '<=', p.period.to)
    .$if(p.status.length > 0, (qb) => qb.where(statusFilter(p.status, today)))
    .$if(p.minAmount !== undefined, (qb) => qb.where(sql<boolean>`invoices.total_minor >= ${p.minAmount}::numeric * ${factor}`))
    .$if(p.maxAmount !== undefined, (qb) => qb.where(sql<boolean>`invoices.total_minor <= ${p.maxAmount}::numeric * ${factor}`))
}

function invoiceList(context: Context) {
  const today = reportDay(context)
  return filteredInvoices(context).select([
    'invoices.id',
    'invoices.number',
    'customer.id as customer_id',
    'customer.name as customer',
    'parent.name as reseller',
    sql<string>`to_char(invoices.period, 'YYYY-MM')`.as('period'),
    'invoices.issued_on',
    'invoices.due_on',
    'invoices.total_minor as amount',
    'invoices.paid_minor as paid',
    balanceDue.as('balance'),
    statusLabelOn(today).as('status'),
    'invoices.currency',
    daysOverdue(today).as('days_overdue'),
  ])
}

function agingBuckets(context: Context) {
  const today = reportDay(context)
  const days = daysOverdue(today)
  const bucket = (from: number, to: number | null) => sql<string>`coalesce(sum(${balanceDue}) filter (where ${days} >= ${sql.lit(from)}${to === null ? sql`` : sql` and ${days} <= ${sql.lit(to)}`}), 0)::bigint`
  return filteredInvoices(context)
    .where(sql<boolean>`${balanceDue} > 0`)
    .groupBy(['customer.id', 'customer.name', 'parent.name', 'invoices.currency'])
    .select([
      sql<null>`null::integer`.as('id'),
      sql<null>`null::text`.as('number'),
      'customer.id as customer_id',
      'customer.name as customer',
      'parent.name as reseller',
      'invoices.currency',
      sql<string>`count(*)`.as('invoices'),
      ...AGING_BUCKETS.map((b) => bucket(b.from, b.to).as(b.key)),
      sql<string>`sum(${balanceDue})::bigint`.as('balance'),
      sql<number>`max(${days})`.as('days_overdue'),
    ])
}

export const invoiceReport = defineReport({
  id: 'invoice.invoices',
  title: 'Invoices',
  description: 'Invoices of the customers in scope: amounts, payments, balance due and status, with an aging view of what is overdue. Totals per currency. With permission to update invoices, tick invoices to mark them paid, pending or void.',
  category: 'Billing',
  subject: 'Invoice',
  params,
  tabs: [
    { id: 'invoices', label: 'Invoices' },
    { id: 'aging', label: 'Aging' },
  ],
  columns: [
    { key: 'id', label: 'Id', type: 'integer', hiddenInTable: true, tabs: ['invoices'] },
    { key: 'number', label: 'Invoice', type: 'link', href: (row) => (row.id === null ? null : `/billing/invoices/${row.id}`), tabs: ['invoices'] },
    { key: 'customer_id', label: 'Customer id', type: 'integer', hiddenInTable: true },
    { key: 'customer', label: 'Customer', type: 'text' },
    { key: 'reseller', label: 'Reseller', type: 'text' },
    { key: 'period', label: 'Period', type: 'text', tabs: ['invoices'] },
    { key: 'issued_on', label: 'Issued', type: 'date', tabs: ['invoices'] },
    { key: 'due_on', label: 'Due', type: 'date', tabs: ['invoices'] },
    { key: 'amount', label: 'Amount', type: 'money', currency: 'currency', total: true, tabs: ['invoices'] },
    { key: 'paid', label: 'Paid', type: 'money', currency: 'currency', total: true, tabs: ['invoices'] },
    { key: 'invoices', label: 'Open invoices', type: 'integer', total: true, tabs: ['aging'] },
    ...AGING_BUCKETS.map((b) => ({ key: b.key, label: b.label, type: 'money' as const, currency: 'currency' as const, total: true, tabs: ['aging'] })),
    { key: 'balance', label: 'Balance due', type: 'money', currency: 'currency', total: true },
    { key: 'status', label: 'Status', type: 'text', tabs: ['invoices'] },
    { key: 'days_overdue', label: 'Days overdue', type: 'integer', description: 'Days past the due date of an unpaid invoice (aging: the oldest).' },
    { key: 'currency', label: 'Currency', type: 'text' },
  ],
  // Mark paid / pending / void on the chosen invoices: posted to the plugin's /invoice/actions.
  actions: {
    requires: ['update', 'Invoice'], key: 'id', name: 'invoiceId', path: '/invoice/actions', tabs: ['invoices'],
    choices: INVOICE_ACTIONS.map((value) => ({ value, label: ACTION_BUTTONS[value] })),
  },
  defaultSort: 'customer',
  rowKey: ['customer_id', 'currency', 'id'],
  totalsBy: ['currency'],
  charts: [{
    id: 'amount-by-status',
    title: 'Invoiced by status',
    kind: 'stacked-bar',
    yLabel: 'amount (major units)',
    tabs: ['invoices'],
    // Grouped by select-list position: the label's day is a bind parameter, and PostgreSQL does not
    // see `$1::date` in GROUP BY and `$2::date` in the select list as the same expression.
    query: (context) => filteredInvoices(context)
      .groupBy([sql`1`, sql`2`])
      .orderBy(sql`1`)
      .orderBy(sql`2`)
      .select([
        statusLabelOn(reportDay(context)).as('x'),
        'invoices.currency as series',
        sql<string>`(sum(invoices.total_minor)::numeric / max(${minorPerMajor('invoices.currency')}))::text`.as('y'),
      ]),
  }],
  query: (context) => (context.tab === 'aging' ? agingBuckets(context) : invoiceList(context)) as unknown as SelectQueryBuilder<any, any, InvoiceReportRow>,
})
