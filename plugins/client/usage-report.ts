/**
 * Client usage summary: per organisation what it consumed, by service category, with the charges
 * at its own prices (see charges.ts); drill down organisation -> subscriptions -> meters -> days
 * through links to the same report with narrower parameters.
 */
import { sql, type SelectQueryBuilder } from 'kysely'
import { SERVICE_CATEGORIES } from '../../core/db/schema.ts'
import { defineReport, type ColumnDefinition, type ReportContext } from '../../core/reports/define.ts'
import { accountTypeParam, orgScopeParam, periodParam } from '../../core/reports/params.ts'
import { aggregated, CATEGORY_LABELS, categoryParam, idParam, orgFilter } from '../usage/index.tsx'
import { minorPerMajorSql } from '../../core/billing/money-sql.ts'
import { monthsOf } from '../../core/reports/period.ts'
import { chargeLines, feeLines, lineChargeSql } from './charges.ts'

const period = periodParam({ default: 'last_month' })
const params = {
  period,
  orgs: orgScopeParam(),
  accountType: accountTypeParam(),
  category: categoryParam(),
  subscription: idParam({
    label: 'Subscription', noun: 'subscription',
    visible: async (db, id) => !!(await db.selectFrom('subscriptions').select('subscriptions.id').where('subscriptions.id', '=', id).executeTakeFirst()),
  }),
  meter: idParam({
    label: 'Meter', noun: 'meter',
    visible: async (db, id) => !!(await db.selectShared('meters').select('meters.id').where('meters.id', '=', id).executeTakeFirst()),
  }),
}
type Context = ReportContext<typeof params>
type Row = Record<string, any>

/** The period part of a drill-down link, so the narrower view keeps the same period. */
function periodQuery({ params }: Context): string {
  return new URLSearchParams(period.toQuery(params.period, 'period')).toString()
}

function link(row: Row, extra: string): string {
  const base = row.period_query ? `${row.period_query}&` : ''
  return `/reports/client.usage?${base}${extra}`
}

/** The organisations to narrow to, or undefined when the params select the whole scope (the scoped tables suffice). */
function narrowed({ params, orgIds }: Context) {
  return orgFilter(orgIds, params.orgs, params.accountType)
}

function lines(context: Context) {
  const { db, params } = context
  return chargeLines(db, params.period, narrowed(context))
    .$if(params.category !== undefined, (qb) => qb.where('services.category', '=', params.category!))
    .$if(params.subscription !== undefined, (qb) => qb.where('p.subscription_id', '=', params.subscription!))
    .$if(params.meter !== undefined, (qb) => qb.where('p.meter_id', '=', params.meter!))
}

function fees(context: Context) {
  const { db, params } = context
  return feeLines(db, params.period, narrowed(context))
    .$if(params.subscription !== undefined, (qb) => qb.where('subscriptions.id', '=', params.subscription!))
    // A category or meter filter narrows usage: monthly fees belong to no category or meter.
    .$if(params.category !== undefined || params.meter !== undefined, (qb) => qb.where(sql<boolean>`false`))
}

function clientRows(context: Context) {
  // One charge per line: each line falls in exactly one category; the usage charges add the categories up.
  const usage = lines(context).groupBy('p.org_id').select([
    'p.org_id',
    ...SERVICE_CATEGORIES.map((c) => sql<string>`coalesce(sum(${lineChargeSql}) filter (where services.category = ${sql.lit(c)}), 0)::bigint`.as(c)),
  ])
  const usageCharges = sql.join(SERVICE_CATEGORIES.map((c) => sql`coalesce(${sql.ref(`u.${c}`)}, 0)`), sql` + `)
  const fixed = fees(context).groupBy('subscriptions.org_id').select(['subscriptions.org_id', sql<string>`sum(plans.fixed_fee_minor)`.as('fixed')])
  return context.db.organisations()
    .leftJoin(usage.as('u'), 'u.org_id', 'organisations.id')
    .leftJoin(fixed.as('f'), 'f.org_id', 'organisations.id')
    .where('organisations.id', 'in', context.orgIds)
    .where((eb) => eb.or([eb('u.org_id', 'is not', null), eb('f.org_id', 'is not', null)]))
    .select([
      sql<string>`row_number() over (order by organisations.name, organisations.id)`.as('position'),
      'organisations.id as org_id', 'organisations.name as organisation', 'organisations.kind', 'organisations.currency',
      sql<string>`${periodQuery(context)}::text`.as('period_query'),
      ...SERVICE_CATEGORIES.map((c) => sql<string>`coalesce(${sql.ref(`u.${c}`)}, 0)`.as(c)),
      sql<string>`(${usageCharges})`.as('usage_charges'),
      sql<string>`coalesce(f.fixed, 0)`.as('fixed_fees'),
      sql<string>`(${usageCharges}) + coalesce(f.fixed, 0)`.as('total'),
    ])
}

function subscriptionRows(context: Context) {
  const usage = lines(context).groupBy('p.subscription_id').select(['p.subscription_id', sql<string>`sum(${lineChargeSql})::bigint`.as('usage_charges')])
  const fixed = fees(context).groupBy('subscriptions.id').select(['subscriptions.id as subscription_id', sql<string>`sum(plans.fixed_fee_minor)`.as('fixed')])
  return context.db.selectFrom('subscriptions')
    .innerJoin('organisations', 'organisations.id', 'subscriptions.org_id')
    .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
    .leftJoin(usage.as('u'), 'u.subscription_id', 'subscriptions.id')
    .leftJoin(fixed.as('f'), 'f.subscription_id', 'subscriptions.id')
    .where('subscriptions.org_id', 'in', context.orgIds)
    .where((eb) => eb.or([eb('u.subscription_id', 'is not', null), eb('f.subscription_id', 'is not', null)]))
    .select([
      sql<string>`row_number() over (order by organisations.name, organisations.id, subscriptions.id)`.as('position'),
      'organisations.id as org_id', 'organisations.name as organisation', 'organisations.currency',
      sql<string>`${periodQuery(context)}::text`.as('period_query'),
      'subscriptions.id as subscription_id', 'subscriptions.name as subscription', 'plans.name as plan', 'subscriptions.status',
      sql<string>`coalesce(u.usage_charges, 0)`.as('usage_charges'),
      sql<string>`coalesce(f.fixed, 0)`.as('fixed_fees'),
      sql<string>`coalesce(u.usage_charges, 0) + coalesce(f.fixed, 0)`.as('total'),
    ])
}

/**
 * One row per subscription and meter. No `position`: numbering 51k rows of a month over every
 * organisation in name order means sorting them all before the page is cut; the tab's default
 * order (organisation name, then its row key) lets the engine take the page with a top-N sort.
 */
function meterRows(context: Context) {
  // The plan's price is shown even when rating does not bill the subscription (the charge is then 0).
  const joined = lines(context).innerJoin('organisations', 'organisations.id', 'p.org_id')
  const columns = [
    'organisations.id as org_id', 'organisations.name as organisation', 'organisations.currency',
    sql<string>`${periodQuery(context)}::text`.as('period_query'),
    'subscriptions.id as subscription_id', 'subscriptions.name as subscription', 'services.name as service', 'services.category',
    'meters.id as meter_id', 'meters.name as meter', 'meters.unit', 'meters.aggregation',
    'plan_prices.included_quantity as included', 'plan_prices.unit_price',
  ] as const
  // Within one month a line already is one subscription's meter (its month rollup, or its days folded): nothing to add up.
  if (monthsOf(context.params.period).length === 1) {
    return joined.select([...columns, 'p.quantity', sql<string>`p.event_count`.as('events'), sql<string>`(${lineChargeSql})::bigint`.as('charge')])
  }
  return joined
    // Grouped by primary keys (the other columns follow from them): integer keys, no text to compare.
    .groupBy(['organisations.id', 'subscriptions.id', 'meters.id', 'services.id', 'plan_prices.id'])
    .select([
      ...columns,
      aggregated(sql.ref('meters.aggregation'), sql.ref('p.quantity'), sql.ref('p.bucket')).as('quantity'),
      sql<string>`sum(p.event_count)`.as('events'),
      sql<string>`sum(${lineChargeSql})::bigint`.as('charge'),
    ])
}

function dayRows(context: Context) {
  const { db, params, orgIds } = context
  return db.selectFrom('usage_daily')
    .innerJoin('subscriptions', 'subscriptions.id', 'usage_daily.subscription_id')
    .innerJoin('organisations', 'organisations.id', 'usage_daily.org_id')
    .innerJoin('meters', 'meters.id', 'usage_daily.meter_id')
    .innerJoin('services', 'services.id', 'meters.service_id')
    .where('usage_daily.day', '>=', params.period.from)
    .where('usage_daily.day', '<=', params.period.to)
    .where('usage_daily.org_id', 'in', orgIds)
    .$if(params.category !== undefined, (qb) => qb.where('services.category', '=', params.category!))
    .$if(params.subscription !== undefined, (qb) => qb.where('usage_daily.subscription_id', '=', params.subscription!))
    .$if(params.meter !== undefined, (qb) => qb.where('usage_daily.meter_id', '=', params.meter!))
    .select([
      sql<string>`row_number() over (order by organisations.name, usage_daily.org_id, usage_daily.subscription_id, meters.name, usage_daily.meter_id, usage_daily.day)`.as('position'),
      'usage_daily.org_id', 'organisations.name as organisation', 'organisations.currency',
      sql<string>`${periodQuery(context)}::text`.as('period_query'),
      sql<string>`usage_daily.day::text`.as('day'),
      'usage_daily.subscription_id', 'subscriptions.name as subscription', 'services.name as service', 'services.category',
      'usage_daily.meter_id', 'meters.name as meter', 'meters.unit', 'meters.aggregation', 'usage_daily.quantity', 'usage_daily.event_count as events',
    ])
}

const only = (...tabs: string[]) => tabs
const categoryColumns: ColumnDefinition<Row>[] = SERVICE_CATEGORIES.map((c) => ({
  key: c, label: CATEGORY_LABELS[c], type: 'money', currency: 'currency', total: true, tabs: only('clients'),
}))

export const clientUsageReport = defineReport<typeof params, Row>({
  id: 'client.usage',
  title: 'Client usage summary',
  description: 'Per client what it consumed (compute, memory, storage, bandwidth, voice, SMS, licences...) and the charges at its own prices; drill down to subscriptions, meters and days.',
  category: 'Usage',
  subject: 'ClientUsageReport',
  params,
  tabs: [
    { id: 'clients', label: 'Clients' },
    { id: 'subscriptions', label: 'Subscriptions' },
    // Today's order (organisation name, organisation, subscription, meter name, meter), taken as a top-N sort: no position to number first.
    { id: 'meters', label: 'Meters', defaultSort: 'organisation', rowKey: ['org_id', 'subscription_id', 'meter', 'meter_id'] },
    { id: 'days', label: 'Days' },
  ],
  columns: [
    { key: 'position', label: 'Position', type: 'integer', hiddenInTable: true, tabs: only('clients', 'subscriptions', 'days') },
    { key: 'org_id', label: 'Organisation id', type: 'integer', hiddenInTable: true },
    { key: 'day', label: 'Day', type: 'date', tabs: only('days') },
    { key: 'organisation', label: 'Organisation', type: 'link', href: (row) => link(row, `org=${row.org_id}&tab=subscriptions`) },
    { key: 'kind', label: 'Kind', type: 'text', tabs: only('clients') },
    { key: 'currency', label: 'Currency', type: 'text' },
    { key: 'subscription_id', label: 'Subscription id', type: 'integer', hiddenInTable: true, tabs: only('subscriptions', 'meters', 'days') },
    { key: 'subscription', label: 'Subscription', type: 'link', tabs: only('subscriptions', 'meters', 'days'), href: (row) => link(row, `org=${row.org_id}&subscription=${row.subscription_id}&tab=meters`) },
    { key: 'plan', label: 'Plan', type: 'text', tabs: only('subscriptions') },
    { key: 'status', label: 'Status', type: 'text', tabs: only('subscriptions') },
    { key: 'service', label: 'Service', type: 'text', tabs: only('meters', 'days') },
    { key: 'category', label: 'Category', type: 'text', tabs: only('meters', 'days') },
    { key: 'meter_id', label: 'Meter id', type: 'integer', hiddenInTable: true, tabs: only('meters', 'days') },
    { key: 'meter', label: 'Meter', type: 'link', tabs: only('meters', 'days'), href: (row) => link(row, `org=${row.org_id}&subscription=${row.subscription_id}&meter=${row.meter_id}&tab=days`) },
    { key: 'unit', label: 'Unit', type: 'text', tabs: only('meters', 'days') },
    { key: 'aggregation', label: 'Aggregation', type: 'text', tabs: only('meters', 'days') },
    { key: 'quantity', label: 'Quantity', type: 'quantity', unit: 'unit', tabs: only('meters', 'days') },
    { key: 'included', label: 'Included per month', type: 'quantity', unit: 'unit', tabs: only('meters') },
    { key: 'unit_price', label: 'Unit price', type: 'quantity', unit: 'currency', tabs: only('meters'), description: 'Per unit beyond the included quantity, in major units' },
    { key: 'events', label: 'Events', type: 'integer', tabs: only('meters', 'days'), total: true },
    ...categoryColumns,
    { key: 'charge', label: 'Charge', type: 'money', currency: 'currency', total: true, tabs: only('meters') },
    { key: 'usage_charges', label: 'Usage charges', type: 'money', currency: 'currency', total: true, tabs: only('clients', 'subscriptions') },
    { key: 'fixed_fees', label: 'Monthly fees', type: 'money', currency: 'currency', total: true, tabs: only('clients', 'subscriptions') },
    { key: 'total', label: 'Total charges', type: 'money', currency: 'currency', total: true, tabs: only('clients', 'subscriptions') },
  ],
  defaultSort: 'position',
  rowKey: ['position'],
  totalsBy: ['currency'],
  charts: [{
    id: 'charges-by-category',
    title: 'Usage charges by category',
    kind: 'pie',
    tabs: only('clients', 'subscriptions', 'meters'),
    yLabel: 'charges (major units, all currencies)',
    query: (context) => lines(context)
      .innerJoin('organisations', 'organisations.id', 'p.org_id')
      .groupBy(['services.category', 'organisations.currency'])
      .orderBy('services.category').orderBy('organisations.currency')
      .select([
        sql<string>`services.category || ' (' || organisations.currency || ')'`.as('x'),
        sql<string>`round(sum(${lineChargeSql}) / ${minorPerMajorSql(sql.ref('organisations.currency'))}, 3)`.as('y'),
      ]),
  }],
  query: (context) => {
    const rows = context.tab === 'subscriptions' ? subscriptionRows(context)
      : context.tab === 'meters' ? meterRows(context)
        : context.tab === 'days' ? dayRows(context) : clientRows(context)
    return rows as unknown as SelectQueryBuilder<any, any, Row>
  },
})
