/**
 * The credit ledger through /api/v1/credits: who may grant credit to whom, balances, adjustments
 * that would go below zero, accrued credit in a period, paging, and the audit rows.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { sql } from 'kysely'
import { accruedCredits, creditBalance } from '../../core/billing/credits.ts'
import { signedIn, type Agent } from '../support/agent.ts'
import { ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`credits api (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let operator: Agent
let alpha: Agent
let customer: Agent

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  operator = await signedIn(rt.app, ADMIN.operator)
  alpha = await signedIn(rt.app, ADMIN.alpha)
  customer = await signedIn(rt.app, ADMIN.alphaCustomer)
})
test.after(async () => { await rt?.dispose() })

async function send(agent: Agent, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const token = await agent.csrf('/')
  const res = await agent.request(path, {
    method,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    headers: { 'content-type': 'application/json', 'x-csrf-token': token, 'sec-fetch-site': 'same-origin' },
  })
  return { status: res.status, json: await res.json() }
}
const get = async (agent: Agent, path: string) => {
  const res = await agent.get(path, { accept: 'application/json' })
  return { status: res.status, json: await res.json() as any }
}

const auditRows = async (orgId: number) => (await rt.database.db.selectFrom('audit_log').selectAll()
  .where('subject', '=', 'Credit').where('org_id', '=', orgId).orderBy('id').execute())

test('the operator tops up a customer; the balance is the exact sum', async () => {
  const res = await send(operator, 'POST', '/api/v1/credits', { orgId: tree.alphaCustomer.id, kind: 'topup', amount: '50.00', description: 'Prepaid' })
  assert.is(res.status, 201, JSON.stringify(res.json))
  assert.is(res.json.entry.amountMinor, '5000')
  assert.is(res.json.entry.currency, tree.alphaCustomer.currency)
  assert.is(res.json.entry.grantedByOrgId, tree.operator.id)
  const again = await send(alpha, 'POST', '/api/v1/credits', { orgId: tree.alphaCustomer.id, kind: 'accrual', amountMinor: '1250', description: 'Referral' })
  assert.is(again.status, 201, JSON.stringify(again.json))
  assert.is(await creditBalance(rt.database.db, tree.alphaCustomer.id, tree.alphaCustomer.currency), 6250n)
  const balances = await get(alpha, `/api/v1/credits/balances?org=${tree.alphaCustomer.id}`)
  assert.is(balances.status, 200)
  assert.equal(balances.json.balances, [{ orgId: tree.alphaCustomer.id, orgName: tree.alphaCustomer.name, currency: tree.alphaCustomer.currency, balanceMinor: '6250' }])
  const audit = await auditRows(tree.alphaCustomer.id)
  assert.is(audit.length, 2)
  assert.is(audit[0]!.action, 'create')
  assert.is(audit[0]!.subject_id, res.json.entry.id)
})

test('an organisation cannot credit itself, nor an account outside its subtree', async () => {
  const own = await send(alpha, 'POST', '/api/v1/credits', { orgId: tree.alpha.id, kind: 'topup', amount: '10' })
  assert.is(own.status, 403)
  assert.match(own.json.error.message, /own organisation/)
  const foreign = await send(alpha, 'POST', '/api/v1/credits', { orgId: tree.betaCustomer.id, kind: 'topup', amount: '10' })
  assert.is(foreign.status, 404)
  const operatorSelf = await send(operator, 'POST', '/api/v1/credits', { orgId: tree.operator.id, kind: 'accrual', amount: '10' })
  assert.is(operatorSelf.status, 403)
  assert.is((await auditRows(tree.alpha.id)).length, 0)
})

test('bad input is a 4xx with a field message', async () => {
  const cases: [unknown, number, string][] = [
    ['{not json', 400, ''],
    [{ orgId: tree.alphaCustomer.id, kind: 'usage', amount: '1' }, 422, 'kind'],
    [{ orgId: tree.alphaCustomer.id, kind: 'topup', amount: 12.5 }, 422, 'amount'],
    [{ orgId: tree.alphaCustomer.id, kind: 'topup', amount: '12.345' }, 422, 'amount'],
    [{ orgId: tree.alphaCustomer.id, kind: 'topup', amount: '-5' }, 422, 'amount'],
    [{ orgId: tree.alphaCustomer.id, kind: 'topup' }, 422, 'amount'],
    [{ orgId: tree.alphaCustomer.id, kind: 'topup', amount: '1', amountMinor: '100' }, 422, 'amount'],
    [{ orgId: tree.alphaCustomer.id, kind: 'topup', amount: '1', expiresOn: '2000-01-01' }, 422, 'expiresOn'],
    [{ orgId: tree.alphaCustomer.id, kind: 'accrual', amount: '1', expiresOn: '2999-01-01' }, 422, 'expiresOn'],
    [{ orgId: tree.alphaCustomer.id, kind: 'topup', amount: '1', currency: 'euro' }, 422, 'currency'],
    [{ orgId: tree.alphaCustomer.id, kind: 'adjustment', amount: '-1' }, 422, 'description'],
    [{ orgId: tree.alphaCustomer.id, kind: 'adjustment', amountMinor: '0', description: 'x' }, 422, 'amount'],
  ]
  for (const [body, status, field] of cases) {
    const res = await send(operator, 'POST', '/api/v1/credits', body)
    assert.is(res.status, status, JSON.stringify(body))
    if (field) assert.ok(res.json.error.fields?.[field], `${JSON.stringify(body)} -> ${JSON.stringify(res.json)}`)
  }
})

test('an adjustment may not take the balance below zero', async () => {
  const org = tree.alphaSubCustomer
  assert.is((await send(alpha, 'POST', '/api/v1/credits', { orgId: org.id, kind: 'topup', amountMinor: '1000' })).status, 201)
  const tooMuch = await send(alpha, 'POST', '/api/v1/credits', { orgId: org.id, kind: 'adjustment', amountMinor: '-1001', description: 'Correction' })
  assert.is(tooMuch.status, 422)
  assert.match(tooMuch.json.error.message, /below zero/)
  const exact = await send(alpha, 'POST', '/api/v1/credits', { orgId: org.id, kind: 'adjustment', amount: '-10.00', description: 'Correction' })
  assert.is(exact.status, 201, JSON.stringify(exact.json))
  assert.is(await creditBalance(rt.database.db, org.id, org.currency), 0n)
  // Concurrent draws: only as many as the balance allows go through.
  assert.is((await send(alpha, 'POST', '/api/v1/credits', { orgId: org.id, kind: 'topup', amountMinor: '500' })).status, 201)
  const racing = await Promise.all([1, 2, 3].map(() => send(alpha, 'POST', '/api/v1/credits', { orgId: org.id, kind: 'adjustment', amountMinor: '-300', description: 'Race' })))
  assert.equal(racing.map((r) => r.status).sort(), [201, 422, 422])
  assert.is(await creditBalance(rt.database.db, org.id, org.currency), 200n)
})

test('a customer admin reads its own ledger and cannot grant credit', async () => {
  const list = await get(customer, '/api/v1/credits')
  assert.is(list.status, 200)
  assert.ok(list.json.entries.length >= 2)
  assert.ok(list.json.entries.every((e: any) => e.orgId === tree.alphaCustomer.id))
  // The granters (the operator, alpha) are above the customer: never named.
  assert.ok(list.json.entries.every((e: any) => e.grantedByOrgId === null))
  assert.is((await send(customer, 'POST', '/api/v1/credits', { orgId: tree.alphaCustomer.id, kind: 'topup', amount: '1' })).status, 403)
  assert.is((await get(customer, `/api/v1/credits?org=${tree.alpha.id}`)).status, 404)
  assert.is((await get(alpha, `/api/v1/credits?org=${tree.betaCustomer.id}`)).status, 404)
})

test('the ledger filters by kind and pages by id', async () => {
  const org = tree.betaCustomer
  const beta = await signedIn(rt.app, ADMIN.beta)
  for (let i = 1; i <= 5; i++) assert.is((await send(beta, 'POST', '/api/v1/credits', { orgId: org.id, kind: i % 2 ? 'topup' : 'accrual', amountMinor: String(i * 100) })).status, 201)
  const first = await get(beta, `/api/v1/credits?org=${org.id}&limit=2`)
  assert.equal(first.json.entries.map((e: any) => e.amountMinor), ['500', '400'])
  const second = await get(beta, `/api/v1/credits?org=${org.id}&limit=2&before=${first.json.nextBefore}`)
  assert.equal(second.json.entries.map((e: any) => e.amountMinor), ['300', '200'])
  const third = await get(beta, `/api/v1/credits?org=${org.id}&limit=2&before=${second.json.nextBefore}`)
  assert.equal(third.json.entries.map((e: any) => e.amountMinor), ['100'])
  assert.is(third.json.nextBefore, null)
  const accruals = await get(beta, `/api/v1/credits?org=${org.id}&kind=accrual`)
  assert.equal(accruals.json.entries.map((e: any) => e.amountMinor), ['400', '200'])
  assert.is((await get(beta, '/api/v1/credits?kind=gift')).status, 422)
  assert.is((await get(beta, '/api/v1/credits?from=2025-02-30')).status, 422)
  assert.is((await get(beta, '/api/v1/credits?from=2025-02-03&to=2025-02-01')).status, 422)
})

test('accrued credit in a period: positive movements whose date falls in it', async () => {
  const org = tree.alphaSub
  const db = rt.database.db
  const rows = [['topup', '1000', '2025-03-01T00:00:00Z'], ['accrual', '250', '2025-03-31T23:59:59Z'], ['adjustment', '-100', '2025-03-15T12:00:00Z'],
    ['adjustment', '40', '2025-03-20T12:00:00Z'], ['topup', '999', '2025-02-28T23:59:59Z'], ['topup', '777', '2025-04-01T00:00:00Z']] as const
  for (const [kind, amount, at] of rows) {
    await db.insertInto('credit_entries').values({ org_id: org.id, kind, amount_minor: amount, currency: org.currency, occurred_at: at, granted_by_org_id: tree.alpha.id }).execute()
  }
  assert.is(await accruedCredits(db, org.id, org.currency, '2025-03-01', '2025-03-31'), 1290n)
  const res = await get(alpha, `/api/v1/credits/balances?org=${org.id}&from=2025-03-01&to=2025-03-31`)
  assert.equal(res.json.balances, [{ orgId: org.id, orgName: org.name, currency: org.currency, balanceMinor: '2966', accruedMinor: '1290' }])
  const march = await get(alpha, `/api/v1/credits?org=${org.id}&from=2025-03-01&to=2025-03-31`)
  assert.is(march.json.entries.length, 4)
  const count = await sql<{ n: string }>`select count(*) as n from credit_entries where org_id = ${org.id}`.execute(db)
  assert.is(count.rows[0]!.n, '6')
})

test.run()
