/**
 * SQL fragments of the invoice report, shared by its tabs and the selection page: the status an
 * invoice has on a given day (an issued invoice past its due date is overdue even before the daily
 * job marks it), its balance due, its days overdue and the aging bucket, and the factor that turns
 * a major-unit amount into minor units of the row's currency.
 */
import { sql, type RawBuilder } from 'kysely'
import { minorPerMajorSql } from '../../core/billing/money-sql.ts'

/** Report status values: the stored statuses with `issued` shown as `pending`. */
export const REPORT_STATUSES = ['draft', 'pending', 'overdue', 'paid', 'void'] as const
export type ReportStatus = (typeof REPORT_STATUSES)[number]

/** Aging buckets by days overdue: 0 is current (not due yet, or due today). */
export const AGING_BUCKETS = [
  { key: 'current', label: 'Current', from: 0, to: 0 },
  { key: 'd1_30', label: '1–30 days', from: 1, to: 30 },
  { key: 'd31_60', label: '31–60 days', from: 31, to: 60 },
  { key: 'd61_90', label: '61–90 days', from: 61, to: 90 },
  { key: 'd90_plus', label: 'Over 90 days', from: 91, to: null },
] as const

/** Minor units per major unit of a currency column (money-sql.ts). */
export function minorPerMajor(currencyColumn: string): RawBuilder<number> {
  return minorPerMajorSql(sql.ref(currencyColumn))
}

/** The status on `today`: stored status, except an issued invoice due before today is overdue. */
export function statusOn(today: string): RawBuilder<string> {
  return sql<string>`(case when invoices.status = 'issued' and invoices.due_on < ${today}::date then 'overdue' else invoices.status end)`
}

/** The status for people (`issued` is `pending`), on `today`. */
export function statusLabelOn(today: string): RawBuilder<string> {
  return sql<string>`(case when invoices.status = 'issued' and invoices.due_on < ${today}::date then 'overdue' when invoices.status = 'issued' then 'pending' else invoices.status end)`
}

/** What is still owed: total - paid on an issued or overdue invoice; nothing on a draft, a paid or a void one. */
export const balanceDue: RawBuilder<string> =
  sql<string>`(case when invoices.status in ('issued', 'overdue') then invoices.total_minor - invoices.paid_minor else 0 end)`

/** Whole days past the due date on `today` of an invoice with a balance due; 0 otherwise. */
export function daysOverdue(today: string): RawBuilder<number> {
  return sql<number>`(case when invoices.status in ('issued', 'overdue') and invoices.total_minor > invoices.paid_minor and invoices.due_on < ${today}::date
    then ${today}::date - invoices.due_on else 0 end)`
}

/** Stored statuses a report status filter matches, as a predicate on `today`. */
export function statusFilter(statuses: readonly ReportStatus[], today: string): RawBuilder<boolean> {
  const stored = statuses.map((s) => (s === 'pending' ? 'issued' : s))
  return sql<boolean>`${statusOn(today)} in (${sql.join(stored)})`
}
