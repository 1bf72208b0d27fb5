/**
 * The invoice report through the JSON API and its downloads, as a reseller, the operator and a
 * user without `export`: the rows are the caller's subtree only, figures match the raw rows, and
 * the CSV carries the same invoices (amounts in major units).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { signedIn } from '../support/agent.ts'
import { ADMIN, addRole, addUser, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`invoice report API (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
const RANGE = 'from=2020-01-01&to=2030-12-31'
const ROWS: Array<{ org: keyof Tree; number: string; period: string; total: number; paid: number; status: 'issued' | 'paid' | 'void' }> = [
  { org: 'alphaCustomer', number: 'API-1', period: '2025-10-01', total: 123456, paid: 0, status: 'issued' },
  { org: 'alphaSubCustomer', number: 'API-2', period: '2025-10-01', total: 5000, paid: 5000, status: 'paid' },
  { org: 'betaCustomer', number: 'API-3', period: '2025-10-01', total: 777, paid: 0, status: 'issued' },
  { org: 'alphaCustomer', number: 'API-4', period: '2025-11-01', total: 990, paid: 0, status: 'void' },
]

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  for (const r of ROWS) {
    await rt.database.db.insertInto('invoices').values({
      org_id: tree[r.org].id, number: r.number, period: r.period, currency: 'EUR', status: r.status, issued_on: '2025-11-01', due_on: '2025-12-01',
      subtotal_minor: r.total, total_minor: r.total, paid_minor: r.paid,
    }).execute()
  }
})
test.after(async () => { await rt?.dispose() })

const inSubtree = (org: keyof Tree, root: keyof Tree) => tree[org].path.startsWith(tree[root].path)

test('JSON: a reseller gets its subtree\'s invoices with figures from the raw rows', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const response = await alpha.get(`/api/v1/reports/invoice.invoices?${RANGE}&pageSize=500`)
  assert.is(response.status, 200)
  const body = await response.json() as { total: number; rows: Array<Record<string, unknown>>; totals: Array<Record<string, unknown>> }
  const expected = ROWS.filter((r) => inSubtree(r.org, 'alpha'))
  assert.equal(body.rows.map((r) => r.number).sort(), expected.map((r) => r.number).sort())
  for (const r of expected) {
    const row = body.rows.find((x) => x.number === r.number)!
    assert.equal([String(row.amount), String(row.paid), String(row.balance)], [String(r.total), String(r.paid), String(r.status === 'issued' ? r.total - r.paid : 0)])
  }
  assert.equal(body.totals, [{ currency: 'EUR', amount: String(expected.reduce((s, r) => s + r.total, 0)), paid: String(expected.reduce((s, r) => s + r.paid, 0)), balance: '123456' }])
  const aging = await (await alpha.get(`/api/v1/reports/invoice.invoices?${RANGE}&tab=aging`)).json() as { rows: Array<Record<string, unknown>> }
  assert.equal(aging.rows.map((r) => r.customer), [tree.alphaCustomer.name])
})

test('CSV (comma and pipe) as the reseller: the same invoices, money in major units', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const csv = await alpha.get(`/api/v1/reports/invoice.invoices.csv?${RANGE}`)
  assert.is(csv.status, 200)
  const text = await csv.text()
  for (const r of ROWS) assert.is(text.includes(r.number), inSubtree(r.org, 'alpha'), r.number)
  assert.match(text, '1234.56')
  const pipe = await (await alpha.get(`/api/v1/reports/invoice.invoices.csv?${RANGE}&delimiter=pipe`)).text()
  assert.match(pipe, /API-1\|/)
  assert.not.match(pipe, 'API-3')
})

test('XLSX as the operator; a user without export gets a 403, a bad param a 400', async () => {
  const op = await signedIn(rt.app, ADMIN.operator)
  const xlsx = await op.get(`/api/v1/reports/invoice.invoices.xlsx?${RANGE}`)
  assert.is(xlsx.status, 200)
  assert.ok((await xlsx.arrayBuffer()).byteLength > 1000)
  const roleId = await addRole(rt.database.db, tree.operator.id, 'Invoice reader', [['Invoice', 'read']])
  await addUser(rt.database.db, tree.operator.id, 'reader@test.example', { roleIds: [roleId] })
  const reader = await signedIn(rt.app, 'reader@test.example')
  assert.is((await reader.get(`/api/v1/reports/invoice.invoices?${RANGE}`)).status, 200)
  assert.is((await reader.get(`/api/v1/reports/invoice.invoices.csv?${RANGE}`)).status, 403)
  const bad = await op.get('/api/v1/reports/invoice.invoices?maxAmount=lots')
  assert.is(bad.status, 400)
  assert.match(await bad.text(), 'maxAmount')
})

test.run()
