/**
 * Resource usage: per resource (a service category and unit: compute vCPU-h, storage GB, ...)
 * across the organisations in scope: consumption, how it spreads (median, percentile), each
 * organisation's share, and the organisations far above their peers, flagged and ranked with their
 * change against the previous period.
 *
 * Percentiles use percentile_cont's definition (linear interpolation between the two nearest
 * ranks) but are computed in `numeric` from the ranked values, so a consumer exactly on the
 * threshold compares exactly (it is not flagged: only values strictly above are).
 */
import { sql, type SelectQueryBuilder } from 'kysely'
import { SERVICE_CATEGORIES, type ServiceCategory } from '../../core/db/schema.ts'
import { defineReport, type ReportContext } from '../../core/reports/define.ts'
import { accountTypeParam, decimalParam, enumParam, integerParam, orgScopeParam, periodParam } from '../../core/reports/params.ts'
import { previousPeriod, type Period } from '../../core/reports/period.ts'
import { CATEGORY_LABELS, changePercentSql, periodQuantities, sharePercentSql } from '../usage/index.tsx'

const params = {
  period: periodParam({ default: 'last_month' }),
  orgs: orgScopeParam(),
  accountType: accountTypeParam(),
  resource: enumParam<ServiceCategory>({ label: 'Resource', values: SERVICE_CATEGORIES.map((value) => ({ value, label: CATEGORY_LABELS[value] })) }),
  percentile: integerParam({ label: 'Flag above percentile', min: 1, max: 99, default: 95 }),
  multiple: decimalParam({ label: 'Flag above this multiple of the median', min: '1', description: 'Default 3' }),
}
type Context = ReportContext<typeof params>
type Row = Record<string, any>

/** Usage quantities over `range` with their resource (`services.category`, `meters.unit`); aliases `q`, `meters`, `services`. */
function quantities(context: Context, range: Pick<Period, 'from' | 'to'>) {
  const { db, orgIds, params } = context
  return db.selectShared('meters')
    .innerJoin('services', 'services.id', 'meters.service_id')
    .innerJoin(periodQuantities(db, range, orgIds).as('q'), 'q.meter_id', 'meters.id')
    .$if(params.resource !== undefined, (qb) => qb.where('services.category', '=', params.resource!))
}

/** Per organisation and resource (category, unit): the quantity over `range`. */
function perOrg(context: Context, range: Pick<Period, 'from' | 'to'>) {
  return quantities(context, range)
    .groupBy(['q.org_id', 'services.category', 'meters.unit'])
    .select(['q.org_id', 'services.category', 'meters.unit', sql<string>`sum(q.quantity)`.as('quantity')])
}

/** Each organisation's quantity in the period ranked within its resource (`rn`, 1 = smallest), with the resource's count `n` and total. */
function ranked(context: Context) {
  const resource = sql`partition by services.category, meters.unit`
  return perOrg(context, context.params.period).select([
    sql<number>`row_number() over (${resource} order by sum(q.quantity), q.org_id)`.as('rn'),
    sql<number>`count(*) over (${resource})`.as('n'),
    sql<string>`sum(sum(q.quantity)) over (${resource})`.as('total'),
  ])
}

/**
 * percentile_cont(p / 100) of a resource's ranked values, in numeric: `h = (n - 1) x p / 100`; the
 * values ranked floor(h) + 1 and ceil(h) + 1, interpolated by h's fraction. The positions are
 * integer arithmetic on `n`, and the window aggregates run once per resource.
 */
function percentileSql(p: number) {
  const scaled = sql`((k.n - 1) * ${sql.lit(p)})`
  const lo = sql`(min(k.quantity) filter (where k.rn = ${scaled} / 100 + 1) over resource)`
  const hi = sql`(min(k.quantity) filter (where k.rn = (${scaled} + 99) / 100 + 1) over resource)`
  return sql<string>`round(${lo} + (${scaled} % 100)::numeric / 100 * (${hi} - ${lo}), 6)`
}

interface ConsumerRow {
  org_id: number
  category: string
  unit: string
  quantity: string
  rn: number
  n: number
  total: string
  median: string
  threshold: string
}

/**
 * The ranked rows, each with its resource's median and percentile threshold: one pass of window
 * functions over the same ordering, instead of joining per-resource figures back to the rows.
 */
function consumers(context: Context) {
  return sql<ConsumerRow>`(select k.*, ${percentileSql(50)} as median, ${percentileSql(context.params.percentile)} as threshold
    from ${ranked(context)} as k window resource as (partition by k.category, k.unit))`
}

function multiple(context: Context): string {
  return context.params.multiple ?? '3'
}

/** Whether a `consumers` row `k` is flagged: strictly above the threshold, or above `multiple` x a positive median. */
function flags(context: Context) {
  const aboveP = sql<boolean>`k.quantity > k.threshold`
  const aboveM = sql<boolean>`(k.median > 0 and k.quantity > k.median * ${multiple(context)}::numeric)`
  return { aboveP, aboveM, flagged: sql<boolean>`(${aboveP} or ${aboveM})` }
}

function resourceRows(context: Context) {
  const { db } = context
  const stats = sql<{ category: string; unit: string }>`(select k.category, k.unit, count(*) as organisations, sum(k.quantity) as quantity,
      max(k.median) as median, max(k.threshold) as threshold, max(k.quantity) as peak, count(*) filter (where ${flags(context).flagged}) as outliers
    from ${consumers(context)} as k group by k.category, k.unit)`
  // Every organisation's previous period counts, also one without usage in this period.
  const prev = quantities(context, previousPeriod(context.params.period))
    .groupBy(['services.category', 'meters.unit'])
    .select(['services.category', 'meters.unit', sql<string>`sum(q.quantity)`.as('quantity')])
  // The scope's root organisation is a one-row anchor the per-resource subqueries hang from.
  return db.organisations()
    .where('organisations.id', '=', db.scope.orgId)
    .innerJoin(stats.as('s'), (join) => join.onTrue())
    .leftJoin(prev.as('p'), (join) => join.onRef('p.category', '=', 's.category').onRef('p.unit', '=', 's.unit'))
    .select([
      sql<string>`row_number() over (order by s.category, s.unit)`.as('position'),
      sql<string>`s.category`.as('category'), sql<string>`s.unit`.as('unit'),
      sql<string>`s.organisations`.as('organisations'), sql<string>`s.quantity`.as('quantity'), sql<string>`s.median`.as('median'),
      sql<string>`s.threshold`.as('threshold'), sql<string>`s.peak`.as('peak'),
      sql<string>`coalesce(p.quantity, 0)`.as('previous'),
      changePercentSql(sql.ref('s.quantity'), sql.ref('p.quantity')).as('change_percent'),
      sharePercentSql(sql.ref('s.peak'), sql.ref('s.quantity')).as('share'),
      sql<string>`s.outliers`.as('outliers'),
    ])
}

function consumerRows(context: Context, outliersOnly: boolean) {
  const { aboveP, aboveM, flagged } = flags(context)
  const prev = perOrg(context, previousPeriod(context.params.period))
  return context.db.organisations()
    .innerJoin(consumers(context).as('k'), 'k.org_id', 'organisations.id')
    .leftJoin(prev.as('v'), (join) => join.onRef('v.org_id', '=', 'k.org_id').onRef('v.category', '=', 'k.category').onRef('v.unit', '=', 'k.unit'))
    .$if(outliersOnly, (qb) => qb.where(flagged))
    .select([
      sql<string>`row_number() over (order by k.category, k.unit, k.quantity desc, k.org_id)`.as('position'),
      sql<string>`k.n - k.rn + 1`.as('rank'),
      'k.org_id', 'organisations.name as organisation', 'organisations.kind', 'k.category', 'k.unit', 'k.quantity',
      sharePercentSql(sql.ref('k.quantity'), sql.ref('k.total')).as('share'),
      sql<string | null>`case when k.median = 0 then null else round(k.quantity / k.median, 2) end`.as('times_median'),
      sql<string>`case when ${aboveP} and ${aboveM} then 'percentile and median' when ${aboveP} then 'percentile' when ${aboveM} then 'median' else '' end`.as('flag'),
      sql<string>`coalesce(v.quantity, 0)`.as('previous'),
      changePercentSql(sql.ref('k.quantity'), sql.ref('v.quantity')).as('change_percent'),
    ])
}

const only = (...tabs: string[]) => tabs

export const resourceUsageReport = defineReport<typeof params, Row>({
  id: 'resource.usage',
  title: 'Resource usage',
  description: 'Consumption of each resource (compute, memory, storage, network...) across organisations, each one\'s share, and the organisations far above their peers.',
  category: 'Usage',
  subject: 'ResourceReport',
  params,
  tabs: [
    { id: 'resources', label: 'Resources' },
    { id: 'consumers', label: 'Consumers' },
    { id: 'outliers', label: 'Outliers' },
  ],
  columns: [
    { key: 'position', label: 'Position', type: 'integer', hiddenInTable: true },
    { key: 'rank', label: 'Rank in resource', type: 'integer', tabs: only('consumers', 'outliers') },
    { key: 'org_id', label: 'Organisation id', type: 'integer', hiddenInTable: true, tabs: only('consumers', 'outliers') },
    { key: 'organisation', label: 'Organisation', type: 'link', tabs: only('consumers', 'outliers'), href: (row) => `/reports/client.usage?org=${row.org_id}&tab=meters` },
    { key: 'kind', label: 'Kind', type: 'text', tabs: only('consumers', 'outliers') },
    { key: 'category', label: 'Resource', type: 'text' },
    { key: 'unit', label: 'Unit', type: 'text' },
    { key: 'organisations', label: 'Organisations', type: 'integer', tabs: only('resources') },
    { key: 'quantity', label: 'Consumption', type: 'quantity', unit: 'unit', total: true },
    { key: 'median', label: 'Median per organisation', type: 'quantity', unit: 'unit', tabs: only('resources') },
    { key: 'threshold', label: 'Percentile threshold', type: 'quantity', unit: 'unit', tabs: only('resources') },
    { key: 'peak', label: 'Largest consumer', type: 'quantity', unit: 'unit', tabs: only('resources') },
    { key: 'share', label: 'Share of the total', type: 'percent', description: 'Resources: the largest consumer\'s share; consumers: this organisation\'s share' },
    { key: 'times_median', label: '× median', type: 'percent', tabs: only('consumers', 'outliers'), description: 'Consumption divided by the median (2 decimals; not a percent)' },
    { key: 'flag', label: 'Flagged', type: 'text', tabs: only('consumers', 'outliers') },
    { key: 'outliers', label: 'Outliers', type: 'integer', tabs: only('resources') },
    { key: 'previous', label: 'Previous period', type: 'quantity', unit: 'unit', total: true },
    { key: 'change_percent', label: 'Change %', type: 'percent' },
  ],
  defaultSort: 'position',
  rowKey: ['position'],
  totalsBy: ['category', 'unit'],
  charts: [{
    id: 'top-consumers',
    title: 'Largest consumers (share of the resource, %)',
    kind: 'bar',
    yLabel: '%',
    tabs: only('consumers', 'outliers'),
    query: (context) => context.db.organisations()
      .innerJoin(consumerRows(context, context.tab === 'outliers').as('c'), 'c.org_id', 'organisations.id')
      .where(sql<boolean>`c.rank <= 10`)
      .orderBy('c.position')
      .select([sql<string>`c.organisation`.as('x'), sql<string>`c.category || ' ' || c.unit`.as('series'), sql<string>`c.share`.as('y')]),
  }],
  query: (context) => (context.tab === 'resources' ? resourceRows(context) : consumerRows(context, context.tab === 'outliers')) as unknown as SelectQueryBuilder<any, any, Row>,
})
