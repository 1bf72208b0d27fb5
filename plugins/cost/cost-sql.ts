/**
 * The parts of the cost & expense report, each a set of contributions grouped by account and
 * currency (and, for the by-service tab, by service): usage x unit cost from the monthly rollup,
 * fixed costs of subscriptions' plans per month, and what was invoiced. The report adds them up.
 * Exact `numeric` until the report rounds each row once.
 */
import { sql, type RawBuilder } from 'kysely'
import { minorPerMajorSql } from '../../core/billing/money-sql.ts'
import type { ReportContext } from '../../core/reports/define.ts'
import type { ParamsShape } from '../../core/reports/params.ts'
import { monthEnd, monthStart } from '../../core/reports/period.ts'

/** Invoices that count as invoiced: drafts are not yet, void ones never were. */
export const INVOICED_STATUSES = ['issued', 'overdue', 'paid'] as const

/** Minor units per major unit of a currency column (money-sql.ts). */
export function minorPerMajor(currencyColumn: string): RawBuilder<number> {
  return minorPerMajorSql(sql.ref(currencyColumn))
}

/** The whole months the period touches: costs and invoices are monthly. */
export interface MonthRange {
  /** First day of the first month. */
  readonly first: string
  /** First day of the last month. */
  readonly last: string
  /** Last day of the last month. */
  readonly end: string
}

export function monthRange(period: { from: string; to: string }): MonthRange {
  return { first: monthStart(period.from), last: monthStart(period.to), end: monthEnd(period.to) }
}

/** Whose costs price the usage: the caller's own organisation (the book's owner). */
export function bookOwner(context: ReportContext<ParamsShape>): number {
  return context.db.scope.orgId
}

const zero = sql<string>`0::numeric`
const none = sql<string>`0::bigint`

/** Usage x the owner's unit cost of the meter, per account and cost currency (and service). */
export function usageCosts(context: ReportContext<ParamsShape>, range: MonthRange, byService: boolean) {
  const owner = bookOwner(context)
  return context.db.selectFrom('usage_monthly')
    .innerJoin('catalog_costs as cc', (join) => join.onRef('cc.meter_id', '=', 'usage_monthly.meter_id').on('cc.org_id', '=', owner))
    .$if(byService, (qb) => qb.innerJoin('meters', 'meters.id', 'usage_monthly.meter_id'))
    .where('usage_monthly.org_id', 'in', context.orgIds)
    .where('usage_monthly.org_id', '<>', owner)
    .where('usage_monthly.month', '>=', range.first)
    .where('usage_monthly.month', '<=', range.last)
    .groupBy([sql`usage_monthly.org_id`, sql`cc.currency`, ...(byService ? [sql`meters.service_id`] : [])])
    .select([
      'usage_monthly.org_id as org_id',
      'cc.currency as currency',
      sql<string>`${byService ? sql`'service'` : sql`''`}::text`.as('line'),
      (byService ? sql<number | null>`meters.service_id` : sql<number | null>`null::integer`).as('service_id'),
      sql<string>`sum(usage_monthly.quantity * cc.amount)`.as('usage_exact'),
      zero.as('fixed_exact'), none.as('revenue'), none.as('credits'), none.as('paid'),
    ])
}

/** Months of a subscription inside the range (a subscription counts for every month it overlaps). */
function monthsInRange(range: MonthRange): RawBuilder<number> {
  const s = sql`greatest(date_trunc('month', subscriptions.starts_on)::date, ${range.first}::date)`
  const e = sql`least(coalesce(date_trunc('month', subscriptions.ends_on)::date, ${range.last}::date), ${range.last}::date)`
  return sql<number>`((extract(year from ${e}) * 12 + extract(month from ${e})) - (extract(year from ${s}) * 12 + extract(month from ${s})) + 1)`
}

/** The owner's fixed monthly cost of each subscription's plan, x the months it ran in the range. */
export function fixedCosts(context: ReportContext<ParamsShape>, range: MonthRange) {
  const owner = bookOwner(context)
  return context.db.selectFrom('subscriptions')
    .innerJoin('catalog_costs as cc', (join) => join.onRef('cc.plan_id', '=', 'subscriptions.plan_id').on('cc.org_id', '=', owner))
    .where('subscriptions.org_id', 'in', context.orgIds)
    .where('subscriptions.org_id', '<>', owner)
    .where('subscriptions.status', '<>', 'cancelled')
    .where('subscriptions.starts_on', '<=', range.end)
    .where((eb) => eb.or([eb('subscriptions.ends_on', 'is', null), eb('subscriptions.ends_on', '>=', range.first)]))
    .groupBy(['subscriptions.org_id', 'cc.currency'])
    .select([
      'subscriptions.org_id as org_id',
      'cc.currency as currency',
      sql<string>`'plan-fees'::text`.as('line'),
      sql<number | null>`null::integer`.as('service_id'),
      zero.as('usage_exact'),
      sql<string>`sum(${monthsInRange(range)} * cc.amount)`.as('fixed_exact'),
      none.as('revenue'), none.as('credits'), none.as('paid'),
    ])
}

/** Per account and currency: invoiced (net of discounts), credit applied and paid, from invoices of the range. */
export function invoicedByAccount(context: ReportContext<ParamsShape>, range: MonthRange) {
  const owner = bookOwner(context)
  return context.db.selectFrom('invoices')
    .where('invoices.org_id', 'in', context.orgIds)
    .where('invoices.org_id', '<>', owner)
    .where('invoices.period', '>=', range.first)
    .where('invoices.period', '<=', range.last)
    .where('invoices.status', 'in', INVOICED_STATUSES)
    .groupBy(['invoices.org_id', 'invoices.currency'])
    .select([
      'invoices.org_id as org_id',
      'invoices.currency as currency',
      sql<string>`''::text`.as('line'),
      sql<number | null>`null::integer`.as('service_id'),
      zero.as('usage_exact'), zero.as('fixed_exact'),
      sql<string>`sum(invoices.subtotal_minor + invoices.discount_minor)::bigint`.as('revenue'),
      sql<string>`sum(-invoices.credit_minor)::bigint`.as('credits'),
      sql<string>`sum(invoices.paid_minor)::bigint`.as('paid'),
    ])
}

/**
 * Per account, currency and line of the by-service tab: invoice lines of the range (usage lines
 * under their meter's service, fixed fees under plan fees, discounts and adjustments together;
 * credit lines are a means of payment, not revenue).
 */
export function invoicedByService(context: ReportContext<ParamsShape>, range: MonthRange) {
  const owner = bookOwner(context)
  const line = sql<string>`(case when invoice_lines.kind = 'usage' and meters.service_id is not null then 'service'
    when invoice_lines.kind = 'usage' then 'other' when invoice_lines.kind = 'fixed' then 'plan-fees' else 'discounts' end)`
  const serviceId = sql<number | null>`(case when invoice_lines.kind = 'usage' then meters.service_id end)`
  return context.db.selectFrom('invoice_lines')
    .innerJoin('invoices', 'invoices.id', 'invoice_lines.invoice_id')
    .leftJoin('meters', 'meters.id', 'invoice_lines.meter_id')
    .where('invoices.org_id', 'in', context.orgIds)
    .where('invoices.org_id', '<>', owner)
    .where('invoices.period', '>=', range.first)
    .where('invoices.period', '<=', range.last)
    .where('invoices.status', 'in', INVOICED_STATUSES)
    .where('invoice_lines.kind', '<>', 'credit')
    .groupBy([sql`invoice_lines.org_id`, sql`invoices.currency`, line, serviceId])
    .select([
      'invoice_lines.org_id as org_id',
      'invoices.currency as currency',
      line.as('line'),
      serviceId.as('service_id'),
      zero.as('usage_exact'), zero.as('fixed_exact'),
      sql<string>`sum(invoice_lines.amount_minor)::bigint`.as('revenue'),
      none.as('credits'), none.as('paid'),
    ])
}
