/**
 * client.usage through the engine: a whole month's charges equal what rating bills (the invoice
 * subtotal, line by line), drill-down parameters are checked against the caller's scope, and a
 * reseller sees its subtree only.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { loadRatingInput, rateInvoice } from '../../core/billing/rating.ts'
import { runReport } from '../../core/reports/engine.ts'
import { queryInput, ReportParamError } from '../../core/reports/params.ts'
import { parseReportRequest } from '../../core/reports/request.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { clientUsageReport } from '../../plugins/client/index.tsx'
import { dbLabel, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'
import { periodValue, scaled, seedUsageFixture, type UsageFixture } from './report-usage-fixture.ts'

const test = suite(`client.usage report (${dbLabel})`)
let rt: TestRuntime
let fx: UsageFixture
const NOW = new Date('2026-03-15T12:00:00Z')

test.before(async () => {
  rt = await testRuntime()
  fx = await seedUsageFixture(rt.database.db)
})
test.after(async () => { await rt?.dispose() })

const scoped = (org: keyof Tree) => new ScopedDb(rt.database.db, { orgId: fx.tree[org].id, path: fx.tree[org].path })
const request = (org: keyof Tree, query: string) => parseReportRequest(clientUsageReport, queryInput(new URLSearchParams(`pageSize=500&${query}`)), { db: scoped(org), now: NOW })
const run = async (org: keyof Tree, query: string) => runReport(await request(org, query))

test('a whole month: every client\'s charges equal the rated invoice subtotal, line by line', async () => {
  const clients = await run('operator', 'period=last_month')
  const customers = [fx.tree.alphaCustomer, fx.tree.alphaSubCustomer, fx.tree.betaCustomer]
  assert.equal(clients.rows.map((r) => r.org_id).sort(), customers.map((c) => c.id).sort())
  for (const org of customers) {
    const rated = rateInvoice(await loadRatingInput(scoped('operator'), org.id, '2026-02', org.currency, { withCredit: false }))
    const row = clients.rows.find((r) => r.org_id === org.id)!
    assert.is(BigInt(row.total as string), rated.subtotal, `total of ${org.name}`)
    const fixed = rated.lines.filter((l) => l.kind === 'fixed').reduce((s, l) => s + l.amountMinor, 0n)
    assert.is(BigInt(row.fixed_fees as string), fixed)
    const meters = await run('operator', `period=last_month&org=${org.id}&tab=meters`)
    for (const line of rated.lines.filter((l) => l.kind === 'usage')) {
      const m = meters.rows.find((r) => r.subscription_id === line.subscriptionId && r.meter_id === line.meterId)!
      assert.is(BigInt(m.charge as string), line.amountMinor, line.description)
      assert.is(m.quantity, line.quantity)
    }
  }
  assert.ok(clients.totals.length >= 1)
})

test('drill-down: subscription and meter ids are checked against the scope; links keep the period', async () => {
  const subs = await run('alpha', `period=last_month&org=${fx.tree.alphaCustomer.id}&tab=subscriptions`)
  assert.equal(subs.rows.map((r) => r.subscription_id).sort(), [fx.subs.a1, fx.subs.a2].sort())
  const href = clientUsageReport.columns.find((c) => c.key === 'subscription')!.href!(subs.rows[0]!)
  assert.match(href!, /tab=meters/)
  const days = await run('alpha', `period=last_month&org=${fx.tree.alphaCustomer.id}&subscription=${fx.subs.a1}&meter=${fx.catalog.meters['vcpu-hours']}&tab=days`)
  const expected = fx.days.filter((d) => d.sub === fx.subs.a1 && d.meter === fx.catalog.meters['vcpu-hours'] && d.day.startsWith('2026-02'))
  assert.is(days.total, expected.length)
  for (const key of ['subscription', 'org'] as const) {
    try {
      await request('alpha', key === 'org' ? `org=${fx.tree.betaCustomer.id}` : `subscription=${fx.subs.b1}`)
      assert.unreachable('expected a 400')
    } catch (error) {
      assert.instance(error, ReportParamError)
      assert.is((error as ReportParamError).key, key)
    }
  }
})

test('a range cutting a month rates only the days inside it, against the whole month\'s included quantity', async () => {
  const [from, to] = ['2026-02-05', '2026-02-20']
  const vcpu = fx.catalog.meters['vcpu-hours']!
  /** round(max(q - included, 0) x price x 100), half away from zero, with q scaled by 10^6 and the price in thousandths. */
  const charge = (q: bigint, included: bigint, priceThousandths: bigint) => {
    const over = q > included * 1_000_000n ? q - included * 1_000_000n : 0n
    return (over * priceThousandths * 2n + 10_000_000n) / 20_000_000n
  }
  // payg: 0.021 per vCPU-h, nothing included; reserved: 0.018 beyond 1460 included per month.
  const cases = [
    { org: fx.tree.alphaCustomer.id, sub: fx.subs.a1, included: 0n, price: 21n },
    { org: fx.tree.betaCustomer.id, sub: fx.subs.b1, included: 1460n, price: 18n },
  ]
  for (const c of cases) {
    const q = periodValue(fx.days, c.sub, vcpu, from, to)
    assert.ok(q !== undefined && q !== periodValue(fx.days, c.sub, vcpu, '2026-02-01', '2026-02-28'), 'the range leaves out some February days with usage')
    const meters = await run('operator', `period=custom&from=${from}&to=${to}&org=${c.org}&tab=meters`)
    const row = meters.rows.find((r) => r.subscription_id === c.sub && r.meter_id === vcpu)!
    assert.is(scaled(row.quantity), q)
    assert.is(BigInt(row.charge as string), charge(q!, c.included, c.price))
  }
})

test('a reseller sees its subtree only', async () => {
  const result = await run('alpha', 'period=last_month')
  assert.equal(result.rows.map((r) => r.org_id).sort(), [fx.tree.alphaCustomer.id, fx.tree.alphaSubCustomer.id].sort())
})

test.run()
