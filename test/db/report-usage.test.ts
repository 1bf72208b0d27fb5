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
import { dbLabel, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'
import { meterTotal, scaled, seedUsageFixture, type UsageFixture } from './report-usage-fixture.ts'

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
const run = async (org: keyof Tree, query: string) => runReport(await parseReportRequest(usageSummaryReport, queryInput(new URLSearchParams(`pageSize=500&${query}`)), { db: scoped(org), now: NOW }))
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

test.run()
