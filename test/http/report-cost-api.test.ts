/**
 * The cost & expense report through the JSON API and its CSV download: a reseller gets its own
 * book (its subtree without itself, priced at its own costs), exactly as computed from the raw
 * rows; the permission is `CostReport`.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { signedIn } from '../support/agent.ts'
import { addMonthlyUsage, addSubscription, seedCatalog } from '../support/billing.ts'
import { ADMIN, addRole, addUser, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'
import { buildCostFixture, expectedByAccount, type CostFixture } from '../db/report-cost-expected.ts'

const test = suite(`cost report API (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let fx: CostFixture
const QUERY = 'from=2025-12-01&to=2026-02-28&pageSize=500'
const MONTHS = ['2025-12-01', '2026-01-01', '2026-02-01']

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  fx = await buildCostFixture(rt.database.db, tree, await seedCatalog(rt.database.db, tree.operator.id), { addSubscription, addMonthlyUsage })
})
test.after(async () => { await rt?.dispose() })

const KEYS = ['account_id', 'currency', 'cost', 'revenue', 'margin', 'balance'] as const
const pick = (r: Record<string, unknown>) => KEYS.map((k) => String(r[k])).join('|')

test('JSON: the reseller\'s own book, the operator\'s whole book', async () => {
  for (const who of ['alpha', 'operator'] as const) {
    const agent = await signedIn(rt.app, ADMIN[who])
    const response = await agent.get(`/api/v1/reports/cost.expense?${QUERY}`)
    assert.is(response.status, 200)
    const body = await response.json() as { rows: Array<Record<string, unknown>> }
    assert.equal(body.rows.map(pick).sort(), expectedByAccount(fx, who, MONTHS).map(pick).sort())
  }
})

test('CSV as the reseller: only its accounts', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const response = await alpha.get(`/api/v1/reports/cost.expense.csv?${QUERY}`)
  assert.is(response.status, 200)
  const text = await response.text()
  assert.match(text, tree.alphaCustomer.name)
  for (const outside of [tree.beta.name, tree.betaCustomer.name]) assert.not.ok(text.includes(outside), outside)
  const lines = text.trim().split(/\r?\n/)
  // The first column is the account id: the reseller itself is not an account of its own book.
  assert.not.ok(lines.some((l) => l.startsWith(`${tree.alpha.id},`)))
  assert.is(lines.length - 1, expectedByAccount(fx, 'alpha', MONTHS).length)
})

test('the permission is CostReport: without it 403, with read only no download', async () => {
  const none = await addRole(rt.database.db, tree.operator.id, 'Invoices only', [['Invoice', 'read']])
  await addUser(rt.database.db, tree.operator.id, 'noc@test.example', { roleIds: [none] })
  const outsider = await signedIn(rt.app, 'noc@test.example')
  assert.is((await outsider.get(`/api/v1/reports/cost.expense?${QUERY}`)).status, 403)
  const reader = await addRole(rt.database.db, tree.operator.id, 'Cost reader', [['CostReport', 'read']])
  await addUser(rt.database.db, tree.operator.id, 'cost@test.example', { roleIds: [reader] })
  const agent = await signedIn(rt.app, 'cost@test.example')
  assert.is((await agent.get(`/api/v1/reports/cost.expense?${QUERY}`)).status, 200)
  assert.is((await agent.get(`/api/v1/reports/cost.expense.csv?${QUERY}`)).status, 403)
})

test.run()
