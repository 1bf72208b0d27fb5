/**
 * The report engine: runs a report's query for a parsed {@link ReportRequest} and adds what every
 * report needs: sorting on a declared column (with the row key as tie-breaker, so pages never
 * overlap), paging, the row count, totals, chart data, and a stream of row batches for exports.
 * The report's builder is wrapped as a subquery; it was built on the caller's scoped handle, so the
 * tenant scope travels inside it.
 *
 * @example
 * const request = await parseReportRequest(report, queryInput(url.searchParams), { db: c.var.db })
 * const { rows, total, totals } = await runReport(request)
 */
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely'
import { isEmbedded } from '../db/database.ts'
import { executorOf } from '../tenancy/scoped-db.ts'
import { orderOf, type ChartDefinition, type ChartPoint } from './define.ts'
import type { ReportRequest } from './request.ts'

export type ReportRow = Record<string, unknown>

export interface ReportResult {
  readonly rows: readonly ReportRow[]
  /** Rows across all pages. */
  readonly total: number
  /** One row per `totalsBy` group (e.g. per currency) with the summed columns; empty when nothing is summed. */
  readonly totals: readonly ReportRow[]
  readonly page: number
  readonly pageSize: number
}

function base(request: ReportRequest): SelectQueryBuilder<any, any, any> {
  return request.report.query(request.context)
}

function executor(request: ReportRequest): Kysely<any> {
  // The unscoped executor only wraps the report's own (scoped) builder; it adds no table of its own.
  return executorOf(request.context.db) as Kysely<any>
}

const COUNT = '__ll_count'
const SUM_PREFIX = '__ll_sum_'

/** The report's rows as subquery `r`, ordered by the request's sort and then the row key. */
export function orderedRows(request: ReportRequest): SelectQueryBuilder<any, any, ReportRow> {
  return inReportOrder(request, executor(request).selectFrom(base(request).as('r')).selectAll('r'))
}

/** Orders rows of `r` by the request's sort, then the row key (so pages never overlap). */
function inReportOrder<Q extends SelectQueryBuilder<any, any, any>>(request: ReportRequest, query: Q): Q {
  const { report, sort } = request
  let ordered = query.orderBy(sql.ref(`r.${sort.key}`), (ob) => (sort.descending ? ob.desc() : ob.asc()).nullsLast()) as Q
  for (const key of orderOf(report, request.context.tab).rowKey) if (key !== sort.key) ordered = ordered.orderBy(sql.ref(`r.${key}`)) as Q
  return ordered
}

/** The row count and the sums of the `total: true` columns of `r`, one row per `totalsBy` group. */
function groupTotals(request: ReportRequest, rows: SelectQueryBuilder<any, any, any>): SelectQueryBuilder<any, any, ReportRow> {
  const summed = request.columns.filter((c) => c.total)
  const by = summed.length ? request.report.totalsBy ?? [] : []
  let query = rows.select([
    sql<string>`count(*)`.as(COUNT),
    ...by.map((k) => sql.ref(`r.${k}`).as(k)),
    ...summed.map((c) => sql<string>`coalesce(sum(${sql.ref(`r.${c.key}`)}), 0)::text`.as(c.key)),
  ])
  for (const key of by) query = query.groupBy(sql.ref(`r.${key}`)).orderBy(sql.ref(`r.${key}`))
  return query
}

/**
 * One page of rows, the row count and the totals, in one execution of the report's query (an
 * expensive report query, a join over a month of rollups, is the cost):
 *
 * - totals in one row (no `totalsBy`, or no summed column): **one** statement, the page with the
 *   count and the sums over all rows as window columns (`count(*) over ()`), stripped from the rows;
 *   only a page past the end (no row to carry them) asks again;
 * - totals per `totalsBy` group: the query materialised once, the page read from it, and the
 *   groups' counts and sums as one JSON column on each page row ({@link pageWithGroupTotals}).
 */
export async function runReport(request: ReportRequest): Promise<ReportResult> {
  return (await pageAndCharts(request, [])).result
}

/** A report's page with the points of its charts, one list per chart in the order given. */
export interface ReportView {
  readonly result: ReportResult
  readonly charts: ReadonlyArray<readonly ChartPoint[]>
}

/** Listed organisations up to this many make a request small enough to read in one statement. */
const FEW_ORGANISATIONS = 25

/**
 * The page, the totals and the points of the request's charts ({@link chartsFor}). A request for
 * a few listed organisations (`orgIds` is a short list) reads little, so its charts ride on the
 * page statement as JSON columns: one statement, one round trip. A wider one (a subtree, everyone,
 * a long list from the organisation list) runs each chart as a statement of its own beside the
 * page, on its own connection, so a heavy view uses both the page's and the charts' backends at once.
 */
export async function runReportWithCharts(request: ReportRequest): Promise<ReportView> {
  const charts = chartsFor(request)
  if (!charts.length) return { result: await runReport(request), charts: [] }
  const { orgIds } = request.context
  if (!Array.isArray(orgIds) || orgIds.length > FEW_ORGANISATIONS) {
    const [result, points] = await Promise.all([runReport(request), Promise.all(charts.map((chart) => chartData(request, chart)))])
    return { result, charts: points }
  }
  const view = await pageAndCharts(request, charts)
  // An empty page has no row to carry the points: the charts are read on their own.
  return view.charts.length === charts.length ? view : { result: view.result, charts: await Promise.all(charts.map((chart) => chartData(request, chart))) }
}

const CHART_PREFIX = '__ll_chart_'

/**
 * One chart's points as a JSON column. Each value travels as its text (numeric keeps its digits
 * and scale, a date is `YYYY-MM-DD`), which is what the driver gives for those types, so a chart
 * draws the same whichever way its points came. `n` keeps the chart's own order.
 */
function chartColumn(request: ReportRequest, chart: ChartDefinition<any>, alias: string) {
  const points = chart.query(request.context)
  return sql<unknown>`(select coalesce(json_agg(p.point order by p.n), '[]') from (
    select row_number() over () as n, (select jsonb_object_agg(e.key, e.value) from jsonb_each_text(to_jsonb(c)) as e) as point
    from ${points} as c) as p)`.as(alias)
}

/** A JSON column's value: parsed by the driver, or text to parse. */
function jsonColumn<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T
}

function chartPointsOf(row: ReportRow, count: number): ChartPoint[][] {
  return Array.from({ length: count }, (_, i) => jsonColumn<ChartPoint[]>(row[`${CHART_PREFIX}${i}`]))
}

async function pageAndCharts(request: ReportRequest, charts: readonly ChartDefinition<any>[]): Promise<{ result: ReportResult; charts: ChartPoint[][] }> {
  const { pageSize, page } = request
  const summed = request.columns.filter((c) => c.total)
  if (summed.length && request.report.totalsBy?.length) return pageWithGroupTotals(request, charts)
  const pageQuery = orderedRows(request).limit(pageSize).offset((page - 1) * pageSize)
  const raw = await pageQuery.select([
    sql<string>`count(*) over ()`.as(COUNT),
    ...summed.map((c, i) => sql<string>`coalesce(sum(${sql.ref(`r.${c.key}`)}) over (), 0)::text`.as(`${SUM_PREFIX}${i}`)),
    ...charts.map((chart, i) => chartColumn(request, chart, `${CHART_PREFIX}${i}`)),
  ]).execute()
  const first = raw[0]
  if (!first) {
    // Past the last page the window columns have no row to ride on; on the first page there is simply nothing.
    const summary = page > 1 ? await summarise(request) : { total: 0, totals: summed.length ? [Object.fromEntries(summed.map((c) => [c.key, '0']))] : [] }
    return { result: { rows: [], total: summary.total, totals: summary.totals, page, pageSize }, charts: [] }
  }
  const extra = new Set([COUNT, ...summed.map((_, i) => `${SUM_PREFIX}${i}`), ...charts.map((_, i) => `${CHART_PREFIX}${i}`)])
  const rows = raw.map((row) => Object.fromEntries(Object.entries(row).filter(([key]) => !extra.has(key))))
  const totals = summed.length ? [Object.fromEntries(summed.map((c, i) => [c.key, first[`${SUM_PREFIX}${i}`]]))] : []
  return { result: { rows, total: Number(first[COUNT]), totals, page, pageSize }, charts: chartPointsOf(first, charts.length) }
}

const SUMMARY = '__ll_summary'

/**
 * The page and the totals per `totalsBy` group from **one** execution of the report's query: it is
 * materialised once as `r`; the page reads it sorted and limited, and the aggregate over the same
 * `r` (an uncorrelated subquery: one init plan, evaluated once) rides on every page row as JSON.
 * A group need not appear on the page, which is why its sums cannot be window columns.
 * Group keys come back through JSON, so they should be text (a currency, a unit). A page past the
 * end has no row to carry it and asks again.
 */
async function pageWithGroupTotals(request: ReportRequest, charts: readonly ChartDefinition<any>[]): Promise<{ result: ReportResult; charts: ChartPoint[][] }> {
  const { pageSize, page } = request
  const db = executor(request)
  const summary = db.selectFrom(groupTotals(request, db.selectFrom('r')).as('g')).select(sql<unknown>`coalesce(json_agg(g), '[]')`.as('s'))
  const query = inReportOrder(request, db.with((cte) => cte('r').materialized(), () => base(request))
    .selectFrom('r').selectAll('r').select([summary.as(SUMMARY), ...charts.map((chart, i) => chartColumn(request, chart, `${CHART_PREFIX}${i}`))]))
  const raw = (await query.limit(pageSize).offset((page - 1) * pageSize).execute()) as ReportRow[]
  const first = raw[0]
  if (!first) {
    const summary = page > 1 ? await summarise(request) : { total: 0, totals: [] }
    return { result: { rows: [], total: summary.total, totals: summary.totals, page, pageSize }, charts: [] }
  }
  const parsed = jsonColumn<Array<Record<string, unknown>>>(first[SUMMARY])
  const extra = new Set([SUMMARY, ...charts.map((_, i) => `${CHART_PREFIX}${i}`)])
  const rows = raw.map((row) => Object.fromEntries(Object.entries(row).filter(([key]) => !extra.has(key))))
  const total = parsed.reduce((n, g) => n + Number(g[COUNT]), 0)
  const totals = parsed.map(({ [COUNT]: _, ...rest }) => rest)
  return { result: { rows, total, totals, page, pageSize }, charts: chartPointsOf(first, charts.length) }
}

/** Sums of the `total: true` columns, per `totalsBy` group. */
export async function reportTotals(request: ReportRequest): Promise<ReportRow[]> {
  return (await summarise(request)).totals
}

async function summarise(request: ReportRequest): Promise<{ total: number; totals: ReportRow[] }> {
  const summed = request.columns.filter((c) => c.total)
  const by = summed.length ? request.report.totalsBy ?? [] : []
  const groups = (await groupTotals(request, executor(request).selectFrom(base(request).as('r'))).execute()) as ReportRow[]
  // Without a group-by, an empty result still gives one row (count 0, sums 0); with one, no rows.
  const total = groups.reduce((n, g) => n + Number(g[COUNT]), 0)
  const totals = summed.length ? groups.filter((g) => Number(g[COUNT]) > 0 || !by.length).map(({ [COUNT]: _, ...rest }) => rest) : []
  return { total, totals }
}

/** The points of one chart. */
export async function chartData(request: ReportRequest, chart: ChartDefinition<any>): Promise<ChartPoint[]> {
  return (await chart.query(request.context).execute()) as ChartPoint[]
}

/** Charts shown in the request's tab. */
export function chartsFor(request: ReportRequest): readonly ChartDefinition<any>[] {
  const tab = request.context.tab
  return (request.report.charts ?? []).filter((c) => !c.tabs || (tab !== undefined && c.tabs.includes(tab)))
}

export interface StreamOptions {
  /** Rows per batch (default 1,000). */
  readonly batchSize?: number
  /** Stops the stream between batches (a cancelled run, a client that went away). */
  readonly signal?: AbortSignal
}

/**
 * Every row in order, in batches, without holding the result in memory. On PostgreSQL a cursor
 * on one pooled connection; on the embedded database a held cursor fetched chunk by chunk, so
 * other requests get the single connection between chunks.
 */
export async function* streamReport(request: ReportRequest, options: StreamOptions = {}): AsyncGenerator<ReportRow[]> {
  const batchSize = options.batchSize ?? 1000
  const query = orderedRows(request)
  const db = executor(request)
  if (isEmbedded(db)) {
    yield* streamEmbedded(db, query, batchSize, options.signal)
    return
  }
  let batch: ReportRow[] = []
  for await (const row of query.stream(batchSize)) {
    batch.push(row)
    if (batch.length >= batchSize) {
      options.signal?.throwIfAborted()
      yield batch
      batch = []
    }
  }
  if (batch.length) yield batch
}

let cursorSequence = 0

async function* streamEmbedded(db: Kysely<any>, query: SelectQueryBuilder<any, any, ReportRow>, batchSize: number, signal?: AbortSignal): AsyncGenerator<ReportRow[]> {
  const name = `ll_report_${process.pid}_${++cursorSequence}`
  const compiled = query.compile()
  // WITH HOLD: the cursor outlives the implicit transaction, so each FETCH takes the lock on its own.
  await db.executeQuery({ ...compiled, sql: `declare ${name} no scroll cursor with hold for ${compiled.sql}` })
  try {
    for (;;) {
      signal?.throwIfAborted()
      const { rows } = await sql<ReportRow>`fetch forward ${sql.lit(batchSize)} from ${sql.id(name)}`.execute(db)
      if (!rows.length) return
      yield rows
      if (rows.length < batchSize) return
    }
  } finally {
    await sql`close ${sql.id(name)}`.execute(db).catch(() => {})
  }
}
