/**
 * usage.summary through the engine: per-meter quantities for sum, max and last meters, the
 * organisations using each, the change against the previous period, a range cutting months in
 * part, the weekday pattern, and a reseller's scope. Expected figures come from the fixture's raw
 * day rows (report-usage-fixture.ts), in bigint.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { chartData, chartsFor, runReport } from '../../core/reports/engine.ts'
import { queryInput, ReportParamError } from '../../core/reports/params.ts'
import { parseReportRequest } from '../../core/reports/request.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { unscale } from '../../core/billing/money.ts'
import { usageSummaryReport } from '../../plugins/usage/index.tsx'
import { METERS } from '../support/billing.ts'
import { dbLabel, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'
import { addDays } from '../../core/reports/period.ts'
import { meterTotal, periodValue, scaled, seedUsageFixture, type UsageFixture } from './report-usage-fixture.ts'

const test = suite(`usage.summary report (${dbLabel})`)
let rt: TestRuntime
let fx: UsageFixture
const NOW = new Date('2026-03-15T12:00:00Z')

test.before(async () => {
  rt = await testRuntime()
  fx = await seedUsageFixture(rt.database.db)
})
test.after(async () => { await rt?.dispose() })

const scoped = (org: keyof Tree) => new ScopedDb(rt.database.db, { orgId: fx.tree[org].id, path: fx.tree[org].path })
const request = (org: keyof Tree, query: string, now = NOW) => parseReportRequest(usageSummaryReport, queryInput(new URLSearchParams(`pageSize=500&${query}`)), { db: scoped(org), now })
const run = async (org: keyof Tree, query: string, now = NOW) => runReport(await request(org, query, now))
const allOrgs = () => Object.values(fx.tree).map((o) => o.id)

function percent(now: bigint, before: bigint): string | null {
  if (before === 0n) return null
  const n = (now - before) * 10000n
  const q = (n < 0n ? -n * 2n + before : n * 2n + before) / (before * 2n)
  return unscale(n < 0n ? -q : q, 2)
}

function checkMeters(rows: readonly Record<string, unknown>[], from: string, to: string, prevFrom: string, prevTo: string, orgs: number[]) {
  const meters = [...new Set(fx.days.filter((d) => orgs.includes(d.org)).map((d) => d.meter))]
  assert.is(rows.length, meters.length)
  for (const meter of meters) {
    const row = rows.find((r) => r.meter_id === meter)
    assert.ok(row, `meter ${meter} has a row`)
    const now = meterTotal(fx.days, meter, from, to, orgs)
    const before = meterTotal(fx.days, meter, prevFrom, prevTo, orgs)
    assert.is(scaled(row!.quantity), now.q, `quantity of meter ${meter} (${row!.aggregation})`)
    assert.is(Number(row!.organisations), now.orgs)
    assert.is(scaled(row!.previous), before.q)
    assert.is(scaled(row!.change), now.q - before.q)
    assert.is(row!.change_percent, percent(now.q, before.q))
  }
}

test('a whole month: quantities per meter (sum, max, last), organisations, change against the month before', async () => {
  const result = await run('operator', 'period=last_month')
  checkMeters(result.rows, '2026-02-01', '2026-02-28', '2026-01-01', '2026-01-31', allOrgs())
  assert.ok(result.rows.some((r) => r.aggregation === 'max') && result.rows.some((r) => r.aggregation === 'last'))
})

test('a range cutting months in part folds the days inside it, then the months', async () => {
  const result = await run('operator', 'from=2026-01-10&to=2026-02-20')
  checkMeters(result.rows, '2026-01-10', '2026-02-20', '2025-11-28', '2026-01-09', allOrgs())
  const twoMonths = await run('operator', 'from=2026-01-01&to=2026-02-28')
  checkMeters(twoMonths.rows, '2026-01-01', '2026-02-28', '2025-11-01', '2025-12-31', allOrgs())
})

test('a reseller sees its subtree only; another subtree is a 400', async () => {
  const alpha = [fx.tree.alpha.id, fx.tree.alphaCustomer.id, fx.tree.alphaSub.id, fx.tree.alphaSubCustomer.id]
  const result = await run('alpha', 'period=last_month')
  checkMeters(result.rows, '2026-02-01', '2026-02-28', '2026-01-01', '2026-01-31', alpha)
  try {
    await run('alpha', `org=${fx.tree.betaCustomer.id}`)
    assert.unreachable('expected a 400')
  } catch (error) {
    assert.instance(error, ReportParamError)
    assert.is((error as ReportParamError).key, 'org')
  }
})

test('org and accountType narrow every tab to the organisations they select', async () => {
  const one = [fx.tree.alphaSubCustomer.id]
  checkMeters((await run('operator', `period=last_month&org=${one[0]}`)).rows, '2026-02-01', '2026-02-28', '2026-01-01', '2026-01-31', one)
  const alpha = [fx.tree.alpha.id, fx.tree.alphaCustomer.id, fx.tree.alphaSub.id, fx.tree.alphaSubCustomer.id]
  checkMeters((await run('operator', `from=2026-01-10&to=2026-02-20&scope=subtree&org=${fx.tree.alpha.id}`)).rows, '2026-01-10', '2026-02-20', '2025-11-28', '2026-01-09', alpha)
  // All usage in the fixture is customers': partners alone have none, on any tab or chart.
  for (const tab of ['meters', 'by-weekday', 'growing']) {
    const req = await request('operator', `period=last_month&accountType=partner&tab=${tab}&granularity=week`)
    assert.is((await runReport(req)).total, 0, tab)
    for (const chart of chartsFor(req)) assert.equal(await chartData(req, chart), [], `${tab} ${chart.id}`)
  }
  const weekdays = await run('operator', `period=last_month&tab=by-weekday&org=${one[0]}`)
  const expected = fx.days.filter((d) => d.org === one[0] && d.aggregation === 'sum' && d.day.startsWith('2026-02')).reduce((s, d) => s + d.q, 0n)
  assert.is(weekdays.rows.reduce((s, r) => s + scaled(r.quantity), 0n), expected)
})

test('growing tab keeps only meters that grew, ranked by change %', async () => {
  const all = await run('operator', 'period=last_month')
  const grown = all.rows.filter((r) => scaled(r.change) > 0n)
  const result = await run('operator', 'period=last_month&tab=growing')
  assert.is(result.rows.length, grown.length)
  const order = [...grown].sort((a, b) => (a.change_percent === null ? 1 : b.change_percent === null ? -1 : Number(b.change_percent) - Number(a.change_percent)))
  assert.equal(result.rows.map((r) => r.meter_id), order.map((r) => r.meter_id))
})

test('by weekday: sum meters per ISO weekday, with the weekday counts of the period', async () => {
  const result = await run('operator', 'period=last_month&tab=by-weekday')
  const feb = fx.days.filter((d) => d.day.startsWith('2026-02') && d.aggregation === 'sum')
  const expected = new Map<string, bigint>()
  const names = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
  for (const d of feb) {
    const key = `${d.meter}|${names[new Date(`${d.day}T00:00:00Z`).getUTCDay()]}`
    expected.set(key, (expected.get(key) ?? 0n) + d.q)
  }
  assert.is(result.rows.length, expected.size)
  for (const row of result.rows) {
    assert.is(scaled(row.quantity), expected.get(`${row.meter_id}|${row.weekday}`))
    assert.is(row.days, 4, 'February 2026 has four of every weekday')
  }
})

test('the trend chart adds up per bucket; granularity is checked', async () => {
  const req = await parseReportRequest(usageSummaryReport, queryInput(new URLSearchParams('period=last_month&granularity=day')), { db: scoped('operator'), now: NOW })
  const points = await chartData(req, chartsFor(req).find((c) => c.id === 'trend')!)
  const vcpu = fx.catalog.meters['vcpu-hours']!
  const day = '2026-02-09'
  const expected = fx.days.filter((d) => d.meter === vcpu && d.day === day).reduce((s, d) => s + d.q, 0n)
  const point = points.find((p) => p.x === day && String(p.series).startsWith('vcpu-hours'))
  assert.is(scaled(point?.y ?? '0'), expected)
  try {
    await parseReportRequest(usageSummaryReport, queryInput(new URLSearchParams('granularity=hour')), { db: scoped('operator'), now: NOW })
    assert.unreachable('expected a 400')
  } catch (error) {
    assert.is((error as ReportParamError).key, 'granularity')
  }
})

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const weekdayOf = (day: string) => WEEKDAYS[new Date(`${day}T00:00:00Z`).getUTCDay()]!
/** Half away from zero of `n / d` (d > 0). */
const rounded = (n: bigint, d: bigint) => (n < 0n ? -((-n * 2n + d) / (d * 2n)) : (n * 2n + d) / (d * 2n))

/** The by-weekday rows of [from, to] from the raw day rows: quantity, days, per day and share, per sum meter and weekday. */
function expectedWeekdays(from: string, to: string): Map<string, { q: bigint; days: number; perDay: string; share: string }> {
  const counts = new Map<string, number>()
  for (let day = from; day <= to; day = addDays(day, 1)) counts.set(weekdayOf(day), (counts.get(weekdayOf(day)) ?? 0) + 1)
  const sums = new Map<string, bigint>()
  const meterSums = new Map<number, bigint>()
  for (const d of fx.days.filter((r) => r.aggregation === 'sum' && r.day >= from && r.day <= to)) {
    const key = `${d.meter}|${weekdayOf(d.day)}`
    sums.set(key, (sums.get(key) ?? 0n) + d.q)
    meterSums.set(d.meter, (meterSums.get(d.meter) ?? 0n) + d.q)
  }
  return new Map([...sums].map(([key, q]) => {
    const days = counts.get(key.split('|')[1]!)!
    const share = unscale(rounded(q * 10000n, meterSums.get(Number(key.split('|')[0]))!), 2)
    return [key, { q, days, perDay: unscale(rounded(q, BigInt(days)), 6), share }]
  }))
}

function checkWeekdays(rows: readonly Record<string, unknown>[], from: string, to: string) {
  const expected = expectedWeekdays(from, to)
  assert.is(rows.length, expected.size)
  for (const row of rows) {
    const e = expected.get(`${row.meter_id}|${row.weekday}`)
    assert.ok(e, `${row.meter_id} on ${row.weekday} is expected`)
    assert.is(scaled(row.quantity), e!.q)
    assert.is(row.days, e!.days, `${row.weekday}s in ${from}..${to}`)
    assert.is(row.per_day, e!.perDay)
    assert.is(row.share, e!.share)
  }
}

test('by weekday over a range cutting months: the days inside it, and how many of each weekday it holds', async () => {
  const result = await run('operator', 'period=custom&from=2026-01-10&to=2026-02-20&tab=by-weekday')
  checkWeekdays(result.rows, '2026-01-10', '2026-02-20')
  // 42 days: six of every weekday.
  assert.ok(result.rows.every((r) => r.days === 6))
})

test('by weekday in the report time zone: the zone decides the period, a day keeps its weekday', async () => {
  // 12:00 UTC on 28 February is already 1 March in Auckland: last month is February there, January in UTC.
  const now = new Date('2026-02-28T12:00:00Z')
  const auckland = await run('operator', 'period=last_month&tab=by-weekday&tz=Pacific/Auckland', now)
  checkWeekdays(auckland.rows, '2026-02-01', '2026-02-28')
  const utc = await run('operator', 'period=last_month&tab=by-weekday', now)
  checkWeekdays(utc.rows, '2026-01-01', '2026-01-31')
  // January 2026 starts on a Thursday: five Saturdays (the fixture's January days are Saturdays and a Wednesday).
  assert.ok(utc.rows.some((r) => r.weekday === 'Saturday' && r.days === 5))
  assert.ok(auckland.rows.every((r) => r.days === 4))
})

/** Monday of the ISO week `day` is in. */
const weekStart = (day: string) => addDays(day, -((new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7))

/**
 * Trend points from the raw rows: per meter and bucket (ISO week or month) of [from, to], each
 * subscription's quantity over the bucket's days inside the range, folded like a period, added up.
 */
function expectedTrend(from: string, to: string, bucketOf: (day: string) => string, bucketEnd: (start: string) => string): Map<string, bigint> {
  const out = new Map<string, bigint>()
  const names = new Map(Object.entries(fx.catalog.meters).map(([code, id]) => [id, code]))
  const units = new Map(METERS.map((m) => [m.code, m.unit]))
  const seen = new Set(fx.days.filter((d) => d.day >= from && d.day <= to).map((d) => `${d.sub}|${d.meter}|${bucketOf(d.day)}`))
  for (const key of seen) {
    const [sub, meter, start] = key.split('|') as [string, string, string]
    const end = bucketEnd(start)
    const q = periodValue(fx.days, Number(sub), Number(meter), start < from ? from : start, end > to ? to : end)!
    const code = names.get(Number(meter))!
    const point = `${start}|${code} (${units.get(code)})`
    out.set(point, (out.get(point) ?? 0n) + q)
  }
  return out
}

async function trendPoints(query: string): Promise<Map<string, bigint>> {
  const req = await request('operator', query)
  const points = await chartData(req, chartsFor(req).find((c) => c.id === 'trend')!)
  return new Map(points.map((p) => [`${p.x}|${p.series}`, scaled(p.y)]))
}

test('the trend by ISO week over a range cutting months: a week across two months is folded like a period', async () => {
  // The chart spans the previous period (2025-11-28 .. 2026-01-09) and the period.
  const points = await trendPoints('period=custom&from=2026-01-10&to=2026-02-20&granularity=week')
  const expected = expectedTrend('2025-11-28', '2026-02-20', weekStart, (start) => addDays(start, 6))
  assert.equal(points, expected)
  assert.ok([...points.keys()].some((k) => k.startsWith('2026-01-26|licence-seats')), 'the week of 26 January holds January and February days')
})

test('the trend by month over a range cutting months: whole months from the month rollups, the ends from the days', async () => {
  const points = await trendPoints('period=custom&from=2026-01-10&to=2026-02-20&granularity=month')
  assert.equal(points, expectedTrend('2025-11-28', '2026-02-20', (day) => `${day.slice(0, 7)}-01`, monthLastDay))
  const whole = await trendPoints('period=custom&from=2026-01-01&to=2026-02-28&granularity=month')
  assert.equal(whole, expectedTrend('2025-11-01', '2026-02-28', (day) => `${day.slice(0, 7)}-01`, monthLastDay))
})

function monthLastDay(start: string): string {
  const [y, m] = start.split('-').map(Number) as [number, number]
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10)
}

test.run()
