/**
 * resource.usage through the engine: per-organisation consumption and share, the percentile
 * threshold (percentile_cont's definition, recomputed here in bigint) and the strict boundary of
 * the outlier flag, and a reseller's scope.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { runReport } from '../../core/reports/engine.ts'
import { queryInput } from '../../core/reports/params.ts'
import { parseReportRequest } from '../../core/reports/request.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { resourceUsageReport } from '../../plugins/resource/index.tsx'
import { dbLabel, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'
import { periodValue, scaled, seedUsageFixture, type UsageFixture } from './report-usage-fixture.ts'

const test = suite(`resource.usage report (${dbLabel})`)
let rt: TestRuntime
let fx: UsageFixture
const NOW = new Date('2026-03-15T12:00:00Z')

test.before(async () => {
  rt = await testRuntime()
  fx = await seedUsageFixture(rt.database.db)
})
test.after(async () => { await rt?.dispose() })

const scoped = (org: keyof Tree) => new ScopedDb(rt.database.db, { orgId: fx.tree[org].id, path: fx.tree[org].path })
const run = async (org: keyof Tree, query: string) => runReport(await parseReportRequest(resourceUsageReport, queryInput(new URLSearchParams(`pageSize=500&${query}`)), { db: scoped(org), now: NOW }))

/** Per organisation: compute (vCPU-h) in February, from the raw day rows. */
function computeByOrg(orgs: readonly number[]): Map<number, bigint> {
  const meter = fx.catalog.meters['vcpu-hours']!
  const out = new Map<number, bigint>()
  for (const sub of Object.values(fx.subs)) {
    const org = fx.days.find((d) => d.sub === sub)!.org
    if (!orgs.includes(org)) continue
    const v = periodValue(fx.days, sub, meter, '2026-02-01', '2026-02-28')
    if (v !== undefined) out.set(org, (out.get(org) ?? 0n) + v)
  }
  return out
}

/** percentile_cont(p/100) of scaled values, exact: v[lo] + frac x (v[hi] - v[lo]), rounded to 10^-6. */
function percentile(values: bigint[], p: number): bigint {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const h100 = BigInt((sorted.length - 1) * p)
  const lo = h100 / 100n
  const rest = h100 % 100n
  const a = sorted[Number(lo)]!
  const b = sorted[Number(rest === 0n ? lo : lo + 1n)]!
  const n = a * 100n + rest * (b - a)
  return (n * 2n + 100n) / 200n
}

test('consumers: quantity and share per organisation; outliers strictly above the percentile', async () => {
  const orgs = Object.values(fx.tree).map((o) => o.id)
  const byOrg = computeByOrg(orgs)
  const total = [...byOrg.values()].reduce((s, v) => s + v, 0n)
  const consumers = await run('operator', 'period=last_month&tab=consumers&resource=compute')
  assert.is(consumers.total, byOrg.size)
  for (const row of consumers.rows) {
    assert.is(scaled(row.quantity), byOrg.get(row.org_id as number))
    const share = (byOrg.get(row.org_id as number)! * 20000n + total) / (total * 2n)
    assert.is(row.share, (Number(share) / 100).toFixed(2))
  }
  const threshold = percentile([...byOrg.values()], 50)
  const resources = await run('operator', 'period=last_month&percentile=50&multiple=1000')
  const compute = resources.rows.find((r) => r.category === 'compute')!
  assert.is(scaled(compute.threshold), threshold)
  assert.is(scaled(compute.median), threshold)
  const outliers = await run('operator', 'period=last_month&tab=outliers&resource=compute&percentile=50&multiple=1000')
  const expected = [...byOrg.entries()].filter(([, v]) => v > threshold).map(([org]) => org).sort()
  assert.equal(outliers.rows.map((r) => r.org_id).sort(), expected)
  // The organisation exactly at the median (odd count) is not flagged: only values strictly above are.
  if (byOrg.size % 2 === 1) assert.ok(![...byOrg.entries()].some(([org, v]) => v === threshold && outliers.rows.some((r) => r.org_id === org)))
  assert.is(Number(compute.outliers), expected.length)
})

test('the threshold at other percentiles, and the outliers above it, match percentile_cont recomputed from the raw rows', async () => {
  const byOrg = computeByOrg(Object.values(fx.tree).map((o) => o.id))
  for (const p of [33, 95]) {
    const threshold = percentile([...byOrg.values()], p)
    const resources = await run('operator', `period=last_month&resource=compute&percentile=${p}&multiple=1000`)
    assert.is(scaled(resources.rows[0]!.threshold), threshold, `p${p}`)
    const outliers = await run('operator', `period=last_month&tab=outliers&resource=compute&percentile=${p}&multiple=1000`)
    assert.equal(outliers.rows.map((r) => r.org_id).sort(), [...byOrg.entries()].filter(([, v]) => v > threshold).map(([org]) => org).sort())
    assert.is(Number(resources.rows[0]!.outliers), outliers.total)
  }
})

test('a reseller\'s distribution covers its subtree only', async () => {
  const alpha = [fx.tree.alpha.id, fx.tree.alphaCustomer.id, fx.tree.alphaSub.id, fx.tree.alphaSubCustomer.id]
  const byOrg = computeByOrg(alpha)
  const consumers = await run('alpha', 'period=last_month&tab=consumers&resource=compute')
  assert.equal(consumers.rows.map((r) => r.org_id).sort(), [...byOrg.keys()].sort())
})

test.run()
