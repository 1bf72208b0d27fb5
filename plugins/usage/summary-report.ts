/**
 * The usage summary: usage of everything in scope for a period, per service and meter, with the
 * number of organisations using each meter and the change against the previous period; a trend
 * chart by day, week or month; usage by weekday; and the meters growing fastest. Figures come from
 * the rollups (see quantities.ts for how a period's quantity is defined per aggregation).
 */
import { sql, type SelectQueryBuilder } from 'kysely'
import { defineReport, type ReportContext } from '../../core/reports/define.ts'
import { accountTypeParam, enumParam, orgScopeParam, periodParam } from '../../core/reports/params.ts'
import { previousPeriod, type Period } from '../../core/reports/period.ts'
import { categoryParam, changePercentSql, changeSql, serviceParam, sharePercentSql } from './params.ts'
import { bucketTotals, GRANULARITIES, orgFilter, periodQuantities, type Granularity } from './quantities.ts'

const params = {
  period: periodParam({ default: 'last_month' }),
  orgs: orgScopeParam(),
  accountType: accountTypeParam(),
  category: categoryParam(),
  service: serviceParam(),
  granularity: enumParam<Granularity>({
    label: 'Chart by',
    description: 'Points of the trend chart: one per day, ISO week or month of the previous period and the period.',
    values: GRANULARITIES.map((value) => ({ value, label: value === 'day' ? 'Day' : value === 'week' ? 'Week' : 'Month' })),
    default: 'month',
  }),
}
type Context = ReportContext<typeof params>

/** A row of the `meters` and `growing` tabs. */
export interface UsageSummaryRow {
  position: string
  rank: string
  meter_id: number
  service: string
  category: string
  meter: string
  unit: string
  aggregation: string
  quantity: string
  organisations: string
  events: string
  previous: string
  change: string
  change_percent: string | null
  weekday: string
  days: number
  per_day: string
  share: string | null
}

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const

/** How many of each ISO weekday (1 = Monday) a period holds. */
export function weekdayCounts(period: Pick<Period, 'from' | 'to'>): number[] {
  const counts = [0, 0, 0, 0, 0, 0, 0]
  const end = Date.parse(`${period.to}T00:00:00Z`)
  for (let t = Date.parse(`${period.from}T00:00:00Z`); t <= end; t += 86_400_000) counts[(new Date(t).getUTCDay() + 6) % 7]!++
  return counts
}

/** The organisations the request covers; undefined for the caller's whole subtree (see `orgFilter`). */
function orgsOf({ orgIds, params }: Context) {
  return orgFilter(orgIds, params.orgs, params.accountType)
}

/** Catalog filters on `meters` joined with `services`. */
function filtered<QB extends SelectQueryBuilder<any, any, any>>(qb: QB, { params }: Context): QB {
  let out = qb
  if (params.category) out = out.where('services.category', '=', params.category) as QB
  if (params.service !== undefined) out = out.where('services.id', '=', params.service) as QB
  return out
}

/** Per meter: quantity, organisations and events over a range. */
function perMeter(context: Context, range: Pick<Period, 'from' | 'to'>) {
  const { db } = context
  return db.selectShared('meters')
    .innerJoin(periodQuantities(db, range, orgsOf(context)).as('q'), 'q.meter_id', 'meters.id')
    .groupBy('meters.id')
    .select([
      'meters.id as meter_id',
      sql<string>`sum(q.quantity)`.as('quantity'),
      sql<string>`count(distinct q.org_id)`.as('organisations'),
      sql<string>`sum(q.event_count)`.as('events'),
    ])
}

function meterRows(context: Context) {
  const { db, params, tab } = context
  const growing = tab === 'growing'
  const change = changeSql(sql.ref('c.quantity'), sql.ref('p.quantity'))
  const percent = changePercentSql(sql.ref('c.quantity'), sql.ref('p.quantity'))
  const order = growing
    ? sql`order by ${percent} desc nulls last, ${change} desc, meters.id`
    : sql`order by services.name, meters.name, meters.id`
  const base = db.selectShared('meters')
    .innerJoin('services', 'services.id', 'meters.service_id')
    .leftJoin(perMeter(context, params.period).as('c'), 'c.meter_id', 'meters.id')
    .leftJoin(perMeter(context, previousPeriod(params.period)).as('p'), 'p.meter_id', 'meters.id')
    .where((eb) => eb.or([eb('c.meter_id', 'is not', null), eb('p.meter_id', 'is not', null)]))
    .$if(growing, (qb) => qb.where(sql<boolean>`${change} > 0`))
    .select([
      sql<string>`row_number() over (${order})`.as('position'),
      sql<string>`row_number() over (${order})`.as('rank'),
      'meters.id as meter_id', 'services.name as service', 'services.category', 'meters.name as meter', 'meters.unit', 'meters.aggregation',
      sql<string>`coalesce(c.quantity, 0)`.as('quantity'),
      sql<string>`coalesce(c.organisations, 0)`.as('organisations'),
      sql<string>`coalesce(c.events, 0)`.as('events'),
      sql<string>`coalesce(p.quantity, 0)`.as('previous'),
      change.as('change'),
      percent.as('change_percent'),
    ])
  return filtered(base, context)
}

/** Per weekday and `sum` meter: quantity on that weekday (max/last readings do not add up by day). */
function weekdayRows(context: Context) {
  const { db, params } = context
  const counts = weekdayCounts(params.period)
  const days = sql<number>`(case w.dow ${sql.join(counts.map((n, i) => sql`when ${sql.lit(i + 1)} then ${sql.lit(n)}`), sql` `)} end)`
  // Added up per meter and day first: the weekday is taken once per day rather than once per
  // rollup row, and meters other than `sum` ones are dropped after adding, not probed row by row.
  let byDay = db.selectFrom('usage_daily')
    .where('usage_daily.day', '>=', params.period.from)
    .where('usage_daily.day', '<=', params.period.to)
    .groupBy(['usage_daily.meter_id', 'usage_daily.day'])
    .select(['usage_daily.meter_id', 'usage_daily.day', sql<string>`sum(usage_daily.quantity)`.as('quantity')])
  const orgIds = orgsOf(context)
  if (orgIds) byDay = byDay.where('usage_daily.org_id', 'in', orgIds)
  const byWeekday = db.selectShared('meters')
    .innerJoin(byDay.as('d'), 'd.meter_id', 'meters.id')
    .where('meters.aggregation', '=', 'sum')
    .groupBy(['meters.id', sql`extract(isodow from d.day)`])
    .select(['meters.id as meter_id', sql<number>`extract(isodow from d.day)::int`.as('dow'), sql<string>`sum(d.quantity)`.as('quantity')])
  const base = db.selectShared('meters')
    .innerJoin('services', 'services.id', 'meters.service_id')
    .innerJoin(byWeekday.as('w'), 'w.meter_id', 'meters.id')
    .where('meters.aggregation', '=', 'sum')
    .select([
      sql<string>`row_number() over (order by services.name, meters.name, meters.id, w.dow)`.as('position'),
      'meters.id as meter_id',
      sql<string>`(array[${sql.join(WEEKDAYS.map((d) => sql.lit(d)))}])[w.dow]`.as('weekday'),
      'services.name as service', 'services.category', 'meters.name as meter', 'meters.unit', 'meters.aggregation',
      sql<string>`w.quantity`.as('quantity'),
      days.as('days'),
      sql<string>`round(w.quantity / nullif(${days}, 0), 6)`.as('per_day'),
      sharePercentSql(sql.ref('w.quantity'), sql`sum(w.quantity) over (partition by meters.id)`).as('share'),
    ])
  return filtered(base, context)
}

const inTabs = (...tabs: string[]) => tabs

export const usageSummaryReport = defineReport<typeof params, UsageSummaryRow>({
  id: 'usage.summary',
  title: 'Usage summary',
  description: 'Usage of every service and meter in scope for the period: quantity, organisations using it, change against the previous period, trend, weekday pattern and fastest-growing meters.',
  category: 'Usage',
  subject: 'UsageReport',
  params,
  tabs: [
    { id: 'meters', label: 'By service and meter' },
    { id: 'by-weekday', label: 'By weekday' },
    { id: 'growing', label: 'Growing fastest' },
  ],
  columns: [
    { key: 'position', label: 'Position', type: 'integer', hiddenInTable: true },
    { key: 'rank', label: 'Rank', type: 'integer', tabs: inTabs('growing') },
    { key: 'meter_id', label: 'Meter id', type: 'integer', hiddenInTable: true, sortable: false },
    { key: 'weekday', label: 'Weekday', type: 'text', tabs: inTabs('by-weekday') },
    { key: 'service', label: 'Service', type: 'text' },
    { key: 'category', label: 'Category', type: 'text' },
    { key: 'meter', label: 'Meter', type: 'text' },
    { key: 'unit', label: 'Unit', type: 'text' },
    { key: 'aggregation', label: 'Aggregation', type: 'text', description: 'sum: adds up; max: the peak; last: the latest reading' },
    { key: 'quantity', label: 'Quantity', type: 'quantity', unit: 'unit', total: true },
    { key: 'organisations', label: 'Organisations', type: 'integer', tabs: inTabs('meters', 'growing'), description: 'Organisations with usage of the meter in the period' },
    { key: 'events', label: 'Events', type: 'integer', tabs: inTabs('meters', 'growing'), total: true },
    { key: 'previous', label: 'Previous period', type: 'quantity', unit: 'unit', tabs: inTabs('meters', 'growing'), total: true },
    { key: 'change', label: 'Change', type: 'quantity', unit: 'unit', tabs: inTabs('meters', 'growing'), total: true },
    { key: 'change_percent', label: 'Change %', type: 'percent', tabs: inTabs('meters', 'growing') },
    { key: 'days', label: 'Days', type: 'integer', tabs: inTabs('by-weekday'), description: 'How many of this weekday the period holds' },
    { key: 'per_day', label: 'Per day', type: 'quantity', unit: 'unit', tabs: inTabs('by-weekday') },
    { key: 'share', label: 'Share of the meter', type: 'percent', tabs: inTabs('by-weekday') },
  ],
  defaultSort: 'position',
  rowKey: ['position'],
  totalsBy: ['unit', 'aggregation'],
  charts: [
    {
      id: 'trend',
      title: 'Usage trend (previous period and period)',
      kind: 'line',
      yLabel: 'quantity',
      tabs: inTabs('meters', 'growing'),
      query: (context) => {
        const { db, params } = context
        const range = { from: previousPeriod(params.period).from, to: params.period.to }
        const base = db.selectShared('meters')
          .innerJoin('services', 'services.id', 'meters.service_id')
          .innerJoin(bucketTotals(db, range, orgsOf(context), params.granularity).as('b'), 'b.meter_id', 'meters.id')
          .groupBy(['b.bucket', 'meters.id', 'meters.name', 'meters.unit'])
          .orderBy('b.bucket').orderBy('meters.name').orderBy('meters.id')
          .select([sql<string>`b.bucket`.as('x'), sql<string>`meters.name || ' (' || meters.unit || ')'`.as('series'), sql<string>`sum(b.quantity)`.as('y')])
        return filtered(base, context)
      },
    },
    {
      id: 'weekday',
      title: 'Usage by weekday',
      kind: 'bar',
      yLabel: 'quantity',
      tabs: inTabs('by-weekday'),
      query: (context) => context.db.selectShared('meters')
        .innerJoin(weekdayRows(context).as('r'), 'r.meter_id', 'meters.id')
        .orderBy('r.position')
        .select([sql<string>`r.weekday`.as('x'), sql<string>`r.meter || ' (' || r.unit || ')'`.as('series'), sql<string>`r.quantity`.as('y')]),
    },
    {
      id: 'growth',
      title: 'Fastest growing meters (change %)',
      kind: 'bar',
      yLabel: '%',
      tabs: inTabs('growing'),
      query: (context) => context.db.selectShared('meters')
        .innerJoin(meterRows(context).as('r'), 'r.meter_id', 'meters.id')
        .where('r.change_percent', 'is not', null)
        .where(sql<boolean>`r.position <= 10`)
        .orderBy('r.position')
        .select([sql<string>`r.meter || ' (' || r.unit || ')'`.as('x'), sql<string>`r.change_percent`.as('y')]),
    },
  ],
  query: (context) => (context.tab === 'by-weekday' ? weekdayRows(context) : meterRows(context)) as unknown as SelectQueryBuilder<any, any, UsageSummaryRow>,
})
