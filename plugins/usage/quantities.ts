/**
 * Usage quantities over a period, from the rollups only (never `usage_events`). Shared by the usage
 * summary, client usage and resource usage reports, so all three add usage up the same way.
 *
 * The rule, per subscription and meter (the meter's `aggregation` decides):
 * - a month inside the period is the month rollup's value (`usage_monthly`); a month the period
 *   covers only in part is folded from the day rollups of the days inside the period
 *   (`usage_daily`): sum -> the sum of the days, max -> the highest day, last -> the day with the
 *   latest reading (`last_at`);
 * - several months: sum -> the sum of the months, max -> the highest month, last -> the latest
 *   month with a reading.
 * Across subscriptions and organisations values are added (a `max` meter gives the sum of each
 * subscription's peak, a `last` meter the sum of each subscription's latest reading).
 *
 * Every builder starts from the caller's scoped handle; the subqueries it joins carry their own
 * scope, so nothing here can reach outside the subtree.
 */
import { sql, type Expression, type SelectQueryBuilder, type SqlBool } from 'kysely'
import { addDays, monthEnd, monthsOf } from '../../core/reports/period.ts'
import type { OrgIds } from '../../core/reports/define.ts'
import type { AccountType, OrgScope } from '../../core/reports/params.ts'
import type { ScopedDb } from '../../core/tenancy/scoped-db.ts'

/** Both ends inclusive, `YYYY-MM-DD`. */
export interface DayRange {
  readonly from: string
  readonly to: string
}

// The engine's own type, re-exported for plugins that imported it from here.
export type { OrgIds }

/**
 * The organisations a builder covers: a report's `orgIds`, or undefined for the handle's whole
 * scope. Every table read here is a scoped one, already limited to the scope, so repeating the
 * scope as `org_id in (...)` would only cost a hash probe per rollup row.
 */
export type OrgFilter = OrgIds | undefined

/**
 * `orgIds`, or undefined when the report's organisation and account-type params select the whole
 * scope (missing, `all`, `both`): the builders then rely on the scoped tables alone.
 */
export function orgFilter(orgIds: OrgIds, orgs: OrgScope | undefined, accountType: AccountType | undefined): OrgFilter {
  return (!orgs || orgs.mode === 'all') && (!accountType || accountType === 'both') ? undefined : orgIds
}

function inOrgs<QB extends SelectQueryBuilder<any, any, any>>(qb: QB, column: string, orgIds: OrgFilter): QB {
  return orgIds ? qb.where(sql.ref(column), 'in', orgIds) as QB : qb
}

/** One subscription's quantity of one meter in one piece of time (a month, a week, a day). */
export interface PieceRow {
  readonly org_id: number
  readonly subscription_id: number
  readonly meter_id: number
  readonly bucket: string
  readonly quantity: string
  readonly event_count: string
}

/** One subscription's quantity of one meter over the whole period. */
export interface QuantityRow {
  readonly org_id: number
  readonly subscription_id: number
  readonly meter_id: number
  readonly quantity: string
  readonly event_count: string
}

type Builder<Row> = SelectQueryBuilder<any, any, Row>

/** The whole months inside the range, and the day spans left over at its ends. */
export function splitRange(range: DayRange): { months: string[]; spans: DayRange[] } {
  const months = monthsOf(range).filter((m) => m >= range.from && monthEnd(m) <= range.to)
  if (!months.length) return { months, spans: [range] }
  const spans: DayRange[] = []
  if (range.from < months[0]!) spans.push({ from: range.from, to: addDays(months[0]!, -1) })
  const last = monthEnd(months[months.length - 1]!)
  if (range.to > last) spans.push({ from: addDays(last, 1), to: range.to })
  return { months, spans }
}

/**
 * `quantity` folded by the meter's aggregation; `latest` (a timestamp, date or `YYYY-MM-DD` text)
 * orders readings for `last`, the larger reading winning a tie.
 */
export function aggregated(aggregation: Expression<string>, quantity: Expression<string>, latest: Expression<unknown>) {
  // Plain aggregates, no `array_agg(... order by ...)`: an ordered aggregate makes PostgreSQL sort
  // every group (a disk sort over a few months of day rollups); these let it hash-aggregate. Each
  // is filtered to its own aggregation, so a group only holds the state it needs.
  return sql<string>`case ${aggregation} when 'sum' then sum(${quantity}) filter (where ${aggregation} = 'sum')
    when 'max' then max(${quantity}) filter (where ${aggregation} = 'max')
    else (max(array[extract(epoch from (${latest})::timestamptz), ${quantity}]) filter (where ${aggregation} not in ('sum', 'max')))[2] end`
}

function inSpans(column: string, spans: readonly DayRange[]) {
  return sql<SqlBool>`(${sql.join(spans.map((s) => sql`${sql.ref(column)} between ${s.from}::date and ${s.to}::date`), sql` or `)})`
}

/** The day rollups of `spans` with their meter (alias `meters`), for the organisations `orgIds` covers. */
function dayRollups(db: ScopedDb, spans: readonly DayRange[], orgIds: OrgFilter) {
  return inOrgs(db.selectFrom('usage_daily')
    .innerJoin('meters', 'meters.id', 'usage_daily.meter_id')
    .where(inSpans('usage_daily.day', spans)), 'usage_daily.org_id', orgIds)
}

/** First day of the month / ISO week of a day rollup, as a date: grouped on, formatted once per group. */
function bucketStart(bucket: 'month' | 'week') {
  return sql<string>`date_trunc(${sql.lit(bucket)}, usage_daily.day)::date`
}

/**
 * Day rollups of `spans` folded per subscription, meter and `bucket` (`month` or `week`: the first
 * day of the month / ISO week, as text).
 */
function foldedDays(db: ScopedDb, spans: readonly DayRange[], orgIds: OrgFilter, bucket: 'month' | 'week'): Builder<PieceRow> {
  const start = bucketStart(bucket)
  return dayRollups(db, spans, orgIds)
    .groupBy(['usage_daily.org_id', 'usage_daily.subscription_id', 'usage_daily.meter_id', 'meters.aggregation', start])
    .select([
      'usage_daily.org_id', 'usage_daily.subscription_id', 'usage_daily.meter_id', sql<string>`${start}::text`.as('bucket'),
      aggregated(sql.ref('meters.aggregation'), sql.ref('usage_daily.quantity'), sql.ref('usage_daily.last_at')).as('quantity'),
      sql<string>`sum(usage_daily.event_count)`.as('event_count'),
    ]) as unknown as Builder<PieceRow>
}

/** Month rollups of whole months, as pieces whose bucket is the month. */
function wholeMonths(db: ScopedDb, months: readonly string[], orgIds: OrgFilter): Builder<PieceRow> {
  return inOrgs(db.selectFrom('usage_monthly').where('usage_monthly.month', 'in', months), 'usage_monthly.org_id', orgIds)
    .select([
      'usage_monthly.org_id', 'usage_monthly.subscription_id', 'usage_monthly.meter_id', sql<string>`usage_monthly.month::text`.as('bucket'),
      'usage_monthly.quantity', 'usage_monthly.event_count',
    ]) as unknown as Builder<PieceRow>
}

/**
 * Per organisation, subscription, meter and calendar month touched by the range: the quantity
 * inside the range (whole months from `usage_monthly`, the ends from `usage_daily`).
 */
export function monthPieces(db: ScopedDb, range: DayRange, orgIds: OrgFilter): Builder<PieceRow> {
  const { months, spans } = splitRange(range)
  if (!spans.length) return wholeMonths(db, months, orgIds)
  if (!months.length) return foldedDays(db, spans, orgIds, 'month')
  return wholeMonths(db, months, orgIds).unionAll(foldedDays(db, spans, orgIds, 'month')) as Builder<PieceRow>
}

export const GRANULARITIES = ['day', 'week', 'month'] as const
export type Granularity = (typeof GRANULARITIES)[number]

/** Part of one meter's quantity in one bucket of a chart: a point is the sum of its rows. */
export interface BucketRow {
  readonly meter_id: number
  readonly bucket: string
  readonly quantity: string
}

/**
 * Per meter and day / ISO week / month of the range, rows whose quantities add up to the chart's
 * point: each bucket folded like a period per subscription, then added across subscriptions.
 * Only `max` and `last` meters need folding subscription by subscription; `sum` meters, and every
 * meter by day (a subscription has one rollup per day), are added up per meter and bucket at once.
 * Day rollups are read once, whatever the meters' aggregations.
 */
export function bucketTotals(db: ScopedDb, range: DayRange, orgIds: OrgFilter, granularity: Granularity): Builder<BucketRow> {
  if (granularity === 'day') {
    return dayRollups(db, [range], orgIds)
      .groupBy(['usage_daily.meter_id', 'usage_daily.day'])
      .select(['usage_daily.meter_id', sql<string>`usage_daily.day::text`.as('bucket'), sql<string>`sum(usage_daily.quantity)`.as('quantity')]) as unknown as Builder<BucketRow>
  }
  const { months, spans } = granularity === 'month' ? splitRange(range) : { months: [], spans: [range] }
  const start = bucketStart(granularity)
  const parts: Builder<BucketRow>[] = []
  if (months.length) {
    parts.push(inOrgs(db.selectFrom('usage_monthly').where('usage_monthly.month', 'in', months), 'usage_monthly.org_id', orgIds)
      .groupBy(['usage_monthly.meter_id', 'usage_monthly.month'])
      .select(['usage_monthly.meter_id', sql<string>`usage_monthly.month::text`.as('bucket'), sql<string>`sum(usage_monthly.quantity)`.as('quantity')]) as unknown as Builder<BucketRow>)
  }
  if (spans.length) {
    // One pass over the days: a `sum` meter's rows share one group per bucket (subscription 0).
    const subscription = sql<number>`case when meters.aggregation = 'sum' then 0 else usage_daily.subscription_id end`
    parts.push(dayRollups(db, spans, orgIds)
      .groupBy([subscription, 'usage_daily.meter_id', 'meters.aggregation', start])
      .select([
        'usage_daily.meter_id', sql<string>`${start}::text`.as('bucket'),
        aggregated(sql.ref('meters.aggregation'), sql.ref('usage_daily.quantity'), sql.ref('usage_daily.last_at')).as('quantity'),
      ]) as unknown as Builder<BucketRow>)
  }
  return parts.reduce((all, part) => all.unionAll(part) as Builder<BucketRow>)
}

/**
 * Per organisation, subscription and meter: the quantity over the whole range (see the rule at
 * the top). A single whole month reads the month rollup as it is.
 */
export function periodQuantities(db: ScopedDb, range: DayRange, orgIds: OrgFilter): Builder<QuantityRow> {
  const { months, spans } = splitRange(range)
  if (months.length === 1 && !spans.length) return wholeMonths(db, months, orgIds) as unknown as Builder<QuantityRow>
  // The meters are the anchor that lets a scoped handle group the pieces (it cannot select from a subquery).
  return db.selectShared('meters')
    .innerJoin(monthPieces(db, range, orgIds).as('p'), 'p.meter_id', 'meters.id')
    .groupBy(['p.org_id', 'p.subscription_id', 'p.meter_id', 'meters.aggregation'])
    .select([
      'p.org_id', 'p.subscription_id', 'p.meter_id',
      aggregated(sql.ref('meters.aggregation'), sql.ref('p.quantity'), sql.ref('p.bucket')).as('quantity'),
      sql<string>`sum(p.event_count)`.as('event_count'),
    ]) as unknown as Builder<QuantityRow>
}

/** First day of the month after `month`, minus one: its last day, in SQL. */
export function monthEndSql(month: Expression<string>) {
  return sql<string>`(${month}::date + interval '1 month' - interval '1 day')::date`
}

/** The months of a range as a `(values ...)` table `alias(month)`, for fixed fees per month. */
export function monthsTable(range: DayRange) {
  return sql`(values ${sql.join(monthsOf(range).map((m) => sql`(${m}::date)`))})`
}
