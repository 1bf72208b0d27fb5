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

/** Per organisation and resource (category, unit): the quantity over `range`. */
function perOrg(context: Context, range: Pick<Period, 'from' | 'to'>) {
  const { db, orgIds, params } = context
  return db.selectShared('meters')
    .innerJoin('services', 'services.id', 'meters.service_id')
    .innerJoin(periodQuantities(db, range, orgIds).as('q'), 'q.meter_id', 'meters.id')
    .$if(params.resource !== undefined, (qb) => qb.where('services.category', '=', params.resource!))
    .groupBy(['q.org_id', 'services.category', 'meters.unit'])
    .select(['q.org_id', 'services.category', 'meters.unit', sql<string>`sum(q.quantity)`.as('quantity')])
}

/** Each organisation's quantity ranked within its resource, with the resource's count and total. */
function ranked(context: Context) {
  return context.db.organisations()
    .innerJoin(perOrg(context, context.params.period).as('o'), 'o.org_id', 'organisations.id')
    .select([
      'o.org_id', 'organisations.name', 'organisations.kind', 'o.category', 'o.unit', 'o.quantity',
      sql<number>`row_number() over (partition by o.category, o.unit order by o.quantity, o.org_id)`.as('rn'),
      sql<number>`count(*) over (partition by o.category, o.unit)`.as('n'),
      sql<string>`sum(o.quantity) over (partition by o.category, o.unit)`.as('total'),
    ])
}

/** percentile_cont(p / 100) over the ranked values `k.quantity` (1-based `k.rn`, `k.n` values), in numeric. */
function percentileSql(p: number) {
  const h = sql`((k.n - 1) * ${sql.lit(p)}::numeric / 100)`
  const lo = sql`(min(k.quantity) filter (where k.rn = floor(${h}) + 1))`
  const hi = sql`(min(k.quantity) filter (where k.rn = ceil(${h}) + 1))`
  return sql<string>`(${lo} + (max(${h}) - floor(max(${h}))) * (${hi} - ${lo}))`
}

/** Per resource: organisations, total, median, percentile threshold, peak. */
function stats(context: Context) {
  return context.db.organisations()
    .innerJoin(ranked(context).as('k'), 'k.org_id', 'organisations.id')
    .groupBy(['k.category', 'k.unit'])
    .select([
      'k.category', 'k.unit',
      sql<string>`count(*)`.as('organisations'),
      sql<string>`sum(k.quantity)`.as('quantity'),
      sql<string>`round(${percentileSql(50)}, 6)`.as('median'),
      sql<string>`round(${percentileSql(context.params.percentile)}, 6)`.as('threshold'),
      sql<string>`max(k.quantity)`.as('peak'),
    ])
}

function multiple(context: Context): string {
  return context.params.multiple ?? '3'
}

function resourceRows(context: Context) {
  const { db } = context
  const prev = db.organisations()
    .innerJoin(perOrg(context, previousPeriod(context.params.period)).as('v'), 'v.org_id', 'organisations.id')
    .groupBy(['v.category', 'v.unit'])
    .select(['v.category', 'v.unit', sql<string>`sum(v.quantity)`.as('quantity')])
  const flagged = db.organisations()
    .innerJoin(consumerRows(context, true).as('x'), 'x.org_id', 'organisations.id')
    .groupBy(['x.category', 'x.unit'])
    .select(['x.category', 'x.unit', sql<string>`count(*)`.as('n')])
  // The scope's root organisation is a one-row anchor the per-resource subqueries hang from.
  return db.organisations()
    .where('organisations.id', '=', db.scope.orgId)
    .innerJoin(stats(context).as('s'), (join) => join.onTrue())
    .leftJoin(prev.as('p'), (join) => join.onRef('p.category', '=', 's.category').onRef('p.unit', '=', 's.unit'))
    .leftJoin(flagged.as('f'), (join) => join.onRef('f.category', '=', 's.category').onRef('f.unit', '=', 's.unit'))
    .select([
      sql<string>`row_number() over (order by s.category, s.unit)`.as('position'),
      sql<string>`s.category`.as('category'), sql<string>`s.unit`.as('unit'),
      's.organisations', 's.quantity', 's.median', 's.threshold', 's.peak',
      sql<string>`coalesce(p.quantity, 0)`.as('previous'),
      changePercentSql(sql.ref('s.quantity'), sql.ref('p.quantity')).as('change_percent'),
      sharePercentSql(sql.ref('s.peak'), sql.ref('s.quantity')).as('share'),
      sql<string>`coalesce(f.n, 0)`.as('outliers'),
    ])
}

function consumerRows(context: Context, outliersOnly: boolean) {
  const m = multiple(context)
  const aboveP = sql<boolean>`k.quantity > s.threshold`
  const aboveM = sql<boolean>`(s.median > 0 and k.quantity > s.median * ${m}::numeric)`
  const prev = perOrg(context, previousPeriod(context.params.period))
  return context.db.organisations()
    .innerJoin(ranked(context).as('k'), 'k.org_id', 'organisations.id')
    .innerJoin(stats(context).as('s'), (join) => join.onRef('s.category', '=', 'k.category').onRef('s.unit', '=', 'k.unit'))
    .leftJoin(prev.as('v'), (join) => join.onRef('v.org_id', '=', 'k.org_id').onRef('v.category', '=', 'k.category').onRef('v.unit', '=', 'k.unit'))
    .$if(outliersOnly, (qb) => qb.where(sql<boolean>`(${aboveP} or ${aboveM})`))
    .select([
      sql<string>`row_number() over (order by k.category, k.unit, k.quantity desc, k.org_id)`.as('position'),
      sql<string>`k.n - k.rn + 1`.as('rank'),
      'k.org_id', sql<string>`k.name`.as('organisation'), sql<string>`k.kind`.as('kind'), sql<string>`k.category`.as('category'), sql<string>`k.unit`.as('unit'),
      sql<string>`k.quantity`.as('quantity'),
      sharePercentSql(sql.ref('k.quantity'), sql.ref('k.total')).as('share'),
      sql<string | null>`case when s.median = 0 then null else round(k.quantity / s.median, 2) end`.as('times_median'),
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
