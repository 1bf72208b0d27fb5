/**
 * The cost & expense report through the engine. Expected figures come from the fixture's raw rows
 * (usage, costs, subscriptions, invoices and lines), recomputed here with BigInt arithmetic on
 * scaled decimals; the report's own query is never called for them. Covers both tabs, whole-month
 * periods, the operator's book and a reseller's own book (its costs, its subtree only).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { runReport } from '../../core/reports/engine.ts'
import { queryInput } from '../../core/reports/params.ts'
import { parseReportRequest } from '../../core/reports/request.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { costReport } from '../../plugins/cost/cost-report.ts'
import { addMonthlyUsage, addSubscription, seedCatalog, type Catalog } from '../support/billing.ts'
import { dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'
import { buildCostFixture, expectedByAccount, expectedByService, type CostFixture } from './report-cost-expected.ts'

const test = suite(`cost & expense report (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let catalog: Catalog
let fx: CostFixture
const NOW = new Date('2026-03-15T12:00:00Z')

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  catalog = await seedCatalog(rt.database.db, tree.operator.id)
  fx = await buildCostFixture(rt.database.db, tree, catalog, { addSubscription, addMonthlyUsage })
})
test.after(async () => { await rt?.dispose() })

const scoped = (org: keyof Tree) => new ScopedDb(rt.database.db, { orgId: tree[org].id, path: tree[org].path })
const run = async (org: keyof Tree, query: string) =>
  runReport(await parseReportRequest(costReport, queryInput(new URLSearchParams(`${query}&pageSize=500`)), { db: scoped(org), now: NOW }))

const ACCOUNT_KEYS = ['account_id', 'currency', 'usage_cost', 'fixed_cost', 'cost', 'revenue', 'margin', 'margin_pct', 'credits', 'paid', 'balance'] as const
const SERVICE_KEYS = ['line', 'currency', 'accounts', 'usage_cost', 'fixed_cost', 'cost', 'revenue', 'margin', 'margin_pct'] as const
const pick = (keys: readonly string[]) => (r: Record<string, unknown>) => Object.fromEntries(keys.map((k) => [k, r[k] === null || r[k] === undefined ? null : String(r[k])]))
const sorted = (rows: Record<string, string | null>[]) => [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))

const PERIODS: Array<[string, string[]]> = [
  ['period=last_month', ['2026-02-01']],
  ['from=2025-12-01&to=2026-02-28', ['2025-12-01', '2026-01-01', '2026-02-01']],
  // A period that ends mid-month counts the whole month: costs and invoices are monthly.
  ['period=year_to_date', ['2026-01-01', '2026-02-01', '2026-03-01']],
]

for (const [query, months] of PERIODS) {
  test(`by account, the operator's book (${query})`, async () => {
    const result = await run('operator', query)
    const expected = expectedByAccount(fx, 'operator', months)
    assert.ok(expected.length > 3, 'the fixture gives several rows')
    assert.equal(sorted(result.rows.map(pick(ACCOUNT_KEYS))), sorted(expected.map(pick(ACCOUNT_KEYS))))
  })
  test(`by service, the operator's book (${query})`, async () => {
    const result = await run('operator', `${query}&tab=by-service`)
    assert.equal(sorted(result.rows.map(pick(SERVICE_KEYS))), sorted(expectedByService(fx, 'operator', months).map(pick(SERVICE_KEYS))))
  })
}

test('a reseller\'s book: its own costs, its subtree without itself', async () => {
  for (const [query, months] of PERIODS) {
    const result = await run('alpha', query)
    assert.equal(sorted(result.rows.map(pick(ACCOUNT_KEYS))), sorted(expectedByAccount(fx, 'alpha', months).map(pick(ACCOUNT_KEYS))))
    const ids = new Set(result.rows.map((r) => r.account_id))
    assert.not.ok(ids.has(tree.alpha.id) || ids.has(tree.beta.id) || ids.has(tree.betaCustomer.id))
    const services = await run('alpha', `${query}&tab=by-service`)
    assert.equal(sorted(services.rows.map(pick(SERVICE_KEYS))), sorted(expectedByService(fx, 'alpha', months).map(pick(SERVICE_KEYS))))
  }
  // The operator's costs are not the reseller's: the same account costs differently in each book.
  const operatorRow = (await run('operator', 'period=last_month')).rows.find((r) => r.account_id === tree.alphaCustomer.id && r.currency === 'EUR')!
  const alphaRow = (await run('alpha', 'period=last_month')).rows.find((r) => r.account_id === tree.alphaCustomer.id && r.currency === 'EUR')!
  assert.is.not(operatorRow.usage_cost, alphaRow.usage_cost)
})

test('totals per currency are the sums of the rows; the balance is invoiced - credits - paid', async () => {
  const result = await run('operator', 'from=2025-12-01&to=2026-02-28')
  const expected = expectedByAccount(fx, 'operator', ['2025-12-01', '2026-01-01', '2026-02-01'])
  for (const total of result.totals) {
    const rows = expected.filter((r) => r.currency === total.currency)
    for (const key of ['usage_cost', 'fixed_cost', 'cost', 'revenue', 'margin', 'credits', 'paid', 'balance'] as const) {
      assert.is(String(total[key]), rows.reduce((s, r) => s + BigInt(r[key] ?? '0'), 0n).toString(), `${total.currency} ${key}`)
    }
  }
  for (const row of result.rows) {
    assert.is(BigInt(String(row.balance)), BigInt(String(row.revenue)) - BigInt(String(row.credits)) - BigInt(String(row.paid)))
  }
  assert.equal(result.totals.map((t) => t.currency), [...new Set(expected.map((r) => r.currency))].sort())
})

test('scope narrows the accounts; a customer has no book; bad params are 400s naming the key', async () => {
  const one = await run('operator', `period=last_month&org=${tree.alphaCustomer.id}`)
  assert.equal([...new Set(one.rows.map((r) => r.account_id))], [tree.alphaCustomer.id])
  const partners = await run('operator', 'from=2025-12-01&to=2026-02-28&accountType=partner')
  assert.ok(partners.rows.length > 0 && partners.rows.every((r) => r.kind === 'reseller'))
  assert.is((await run('betaCustomer', 'from=2025-12-01&to=2026-02-28')).total, 0)
  const error = await parseReportRequest(costReport, queryInput(new URLSearchParams(`org=${tree.betaCustomer.id}`)), { db: scoped('alpha'), now: NOW }).catch((e: unknown) => e)
  assert.is((error as { key?: string }).key, 'org')
  const bad = await parseReportRequest(costReport, queryInput(new URLSearchParams('tab=by-plan')), { db: scoped('operator'), now: NOW }).catch((e: unknown) => e)
  assert.is((bad as { key?: string }).key, 'tab')
})

test('sorting by margin % puts accounts without revenue last', async () => {
  const result = await run('operator', 'from=2025-12-01&to=2026-02-28&sort=-margin_pct')
  const pcts = result.rows.map((r) => r.margin_pct)
  const firstNull = pcts.indexOf(null)
  assert.ok(firstNull > 0)
  assert.ok(pcts.slice(firstNull).every((p) => p === null))
  const numbers = pcts.slice(0, firstNull).map((p) => Number(p))
  assert.equal(numbers, [...numbers].sort((a, b) => b - a))
})

test.run()
