/**
 * The catalog and subscriptions JSON API: CRUD as the operator, shared reads from below, writes
 * only in the owner's subtree, costs never shown to a reseller, subscription rules (scope, plan
 * currency, dates), the 4xx answers for bad input, 409 for what is in use, and audit rows.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Agent, signedIn } from '../support/agent.ts'
import { addMonthlyUsage } from '../support/billing.ts'
import { ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`JSON API: catalog and subscriptions (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let operator: Agent
let alpha: Agent
let customer: Agent
const ids: Record<string, number> = {}

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  operator = await signedIn(rt.app, ADMIN.operator)
  alpha = await signedIn(rt.app, ADMIN.alpha)
  customer = await signedIn(rt.app, ADMIN.alphaCustomer)
})
test.after(async () => { await rt?.dispose() })

type ErrorJson = { error: { status: number; message: string; fields?: Record<string, string> } }

async function call(agent: Agent, method: string, path: string, body?: unknown, raw?: string): Promise<Response> {
  const headers: Record<string, string> = { 'x-csrf-token': await agent.csrf('/'), 'sec-fetch-site': 'same-origin' }
  if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json'
  return agent.request(path, { method, headers, ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}) })
}
const json = async <T = any>(res: Response) => (await res.json()) as T
async function expectStatus(res: Response, status: number, what: string): Promise<any> {
  const body = await res.text()
  assert.is(res.status, status, `${what}: ${body}`)
  return body ? JSON.parse(body) : undefined
}
const auditCount = async (subject: string) => Number((await rt.database.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<string>().as('n')).where('subject', '=', subject).executeTakeFirstOrThrow()).n)

test('the operator builds a catalog: services, meters, plans with prices, providers', async () => {
  const audits = await auditCount('Catalog')
  const service = await expectStatus(await call(operator, 'POST', '/api/v1/services', { code: 'compute', name: 'Compute', category: 'compute' }), 201, 'service')
  ids.service = service.service.id
  assert.is(service.service.ownerOrgId, tree.operator.id)
  const meter = await expectStatus(await call(operator, 'POST', '/api/v1/meters', { serviceId: ids.service, code: 'vcpu-hours', name: 'vCPU hours', unit: 'vCPU-h', aggregation: 'sum' }), 201, 'meter')
  ids.meter = meter.meter.id
  const storage = await expectStatus(await call(operator, 'POST', '/api/v1/meters', { serviceId: ids.service, code: 'storage-gb', name: 'Storage', unit: 'GB', aggregation: 'max' }), 201, 'meter 2')
  ids.storage = storage.meter.id
  const plan = await expectStatus(await call(operator, 'POST', '/api/v1/plans', {
    code: 'reserved-s', name: 'Reserved S', model: 'reserved', currency: 'EUR', fixedFeeMinor: '12000',
    prices: [{ meter: 'vcpu-hours', unitPrice: '0.018', includedQuantity: '1460' }, { meterId: ids.storage, unitPrice: 0.04 }],
  }), 201, 'plan')
  ids.plan = plan.plan.id
  assert.is(plan.plan.fixedFeeMinor, '12000')
  assert.equal(plan.plan.prices.map((p: any) => [p.meter, p.unitPrice, p.includedQuantity]), [['storage-gb', '0.040000', '0.000000'], ['vcpu-hours', '0.018000', '1460.000000']])
  const usd = await expectStatus(await call(operator, 'POST', '/api/v1/plans', { code: 'payg-usd', name: 'PAYG USD', model: 'payg', currency: 'USD', prices: [{ meter: 'vcpu-hours', unitPrice: '0.02' }] }), 201, 'usd plan')
  ids.usdPlan = usd.plan.id
  const provider = await expectStatus(await call(operator, 'POST', '/api/v1/providers', { name: 'Frankfurt 1', region: 'eu-central', cpuCapacity: '512', memoryGb: '2048.5', storageGb: 100000 }), 201, 'provider')
  ids.provider = provider.provider.id
  assert.is(provider.provider.memoryGb, '2048.500')

  const patched = await expectStatus(await call(operator, 'PATCH', `/api/v1/plans/${ids.plan}`, { name: 'Reserved Small', fixedFeeMinor: 15000 }), 200, 'patch plan')
  assert.is(patched.plan.name, 'Reserved Small')
  assert.is(patched.plan.fixedFeeMinor, '15000')
  const priced = await expectStatus(await call(operator, 'PUT', `/api/v1/plans/${ids.plan}/prices`, { prices: [{ meter: 'vcpu-hours', unitPrice: '0.017', includedQuantity: '1000' }] }), 200, 'prices')
  assert.is(priced.plan.prices.length, 1)
  await expectStatus(await call(operator, 'PATCH', `/api/v1/providers/${ids.provider}`, { status: 'retired' }), 200, 'provider patch')
  await expectStatus(await call(operator, 'PATCH', `/api/v1/providers/${ids.provider}`, { status: 'active' }), 200, 'provider patch back')
  const costs = await expectStatus(await call(operator, 'PUT', '/api/v1/costs', { costs: [{ meter: 'vcpu-hours', amount: '0.00731', currency: 'EUR' }, { planId: ids.plan, amount: '55', currency: 'EUR' }] }), 200, 'costs')
  assert.is(costs.costs.length, 2)
  assert.is((await auditCount('Catalog')) - audits, 11)

  const list = await json(await operator.get('/api/v1/plans?status=active'))
  assert.equal(list.plans.map((p: any) => p.code).sort(), ['payg-usd', 'reserved-s'])
  assert.is((await json(await operator.get('/api/v1/meters'))).meters.length, 2)
  assert.is((await json(await operator.get('/api/v1/services'))).services.length, 1)
  assert.is((await json(await operator.get('/api/v1/providers'))).providers.length, 1)
})

test('a reseller reads the operator catalog without its owner, cannot write it, and never sees its costs', async () => {
  const plans = await json(await alpha.get('/api/v1/plans'))
  const plan = plans.plans.find((p: any) => p.id === ids.plan)
  assert.ok(plan, 'the shared plan is listed')
  assert.is(plan.ownerOrgId, undefined)
  assert.is(plan.inherited, true)
  assert.is((await alpha.get(`/api/v1/plans/${ids.plan}`)).status, 200)
  await expectStatus(await call(alpha, 'PATCH', `/api/v1/plans/${ids.plan}`, { name: 'Hijacked' }), 404, 'patch parent plan')
  await expectStatus(await call(alpha, 'PUT', `/api/v1/plans/${ids.plan}/prices`, { prices: [] }), 404, 'prices of parent plan')
  await expectStatus(await call(alpha, 'PATCH', `/api/v1/providers/${ids.provider}`, { name: 'Mine' }), 404, 'patch parent provider')
  await expectStatus(await call(alpha, 'PATCH', `/api/v1/meters/${ids.meter}`, { name: 'Mine' }), 404, 'patch parent meter')
  const costs = await json(await alpha.get('/api/v1/costs'))
  assert.equal(costs.costs, [])
  assert.not.match(JSON.stringify(costs), '0.00731')
  // Its own cost of the operator's meter is its own business.
  await expectStatus(await call(alpha, 'PUT', '/api/v1/costs', { costs: [{ meter: 'vcpu-hours', amount: '0.015', currency: 'EUR' }] }), 200, 'alpha costs')
  assert.is((await json(await alpha.get('/api/v1/costs'))).costs.length, 1)
  assert.is((await json(await operator.get('/api/v1/costs'))).costs.length, 3)
  // A reseller's own plan may price the operator's meters.
  await expectStatus(await call(alpha, 'POST', '/api/v1/plans', { code: 'alpha-payg', name: 'Alpha PAYG', model: 'payg', currency: 'EUR', prices: [{ meter: 'vcpu-hours', unitPrice: '0.03' }] }), 201, 'alpha plan')
  const betaPlans = await json(await (await signedIn(rt.app, ADMIN.beta)).get('/api/v1/plans'))
  assert.not.ok(betaPlans.plans.some((p: any) => p.code === 'alpha-payg'), 'a sibling never sees it')
})

test('a customer admin reads the catalog but cannot write it', async () => {
  assert.is((await customer.get('/api/v1/plans')).status, 200)
  assert.is((await customer.get('/api/v1/subscriptions')).status, 200)
  await expectStatus(await call(customer, 'POST', '/api/v1/services', { code: 'x', name: 'X', category: 'other' }), 403, 'customer service')
  await expectStatus(await call(customer, 'PUT', '/api/v1/costs', { costs: [] }), 403, 'customer costs')
  await expectStatus(await call(customer, 'POST', '/api/v1/subscriptions', {}), 403, 'customer subscription')
})

test('catalog writes refuse bad input with 4xx', async () => {
  const cases: [string, string, unknown, number, string][] = [
    ['POST', '/api/v1/services', { code: 'Bad Code', name: 'X', category: 'compute' }, 422, 'code'],
    ['POST', '/api/v1/services', { code: 'ok', name: 'X', category: 'cheese' }, 422, 'category'],
    ['POST', '/api/v1/services', { code: 'compute', name: 'Again', category: 'compute' }, 409, 'code'],
    ['POST', '/api/v1/meters', { serviceId: 999999, code: 'm', name: 'M', unit: 'u', aggregation: 'sum' }, 422, 'serviceId'],
    ['POST', '/api/v1/meters', { serviceId: ids.service, code: 'm', name: 'M', unit: 'u', aggregation: 'avg' }, 422, 'aggregation'],
    ['POST', '/api/v1/plans', { code: 'p1', name: 'P', model: 'payg', currency: 'EUR', fixedFeeMinor: '100' }, 422, 'fixedFeeMinor'],
    ['POST', '/api/v1/plans', { code: 'p2', name: 'P', model: 'payg', currency: 'EUR', prices: [{ meter: 'vcpu-hours', unitPrice: '0.1', includedQuantity: '5' }] }, 422, 'prices'],
    ['POST', '/api/v1/plans', { code: 'p3', name: 'P', model: 'bundle', currency: 'EUR', prices: [{ meter: 'nope', unitPrice: '1' }] }, 422, 'prices'],
    ['POST', '/api/v1/plans', { code: 'p4', name: 'P', model: 'bundle', currency: 'EUR', prices: [{ meter: 'vcpu-hours', unitPrice: '-1' }] }, 422, 'prices'],
    ['POST', '/api/v1/plans', { code: 'p5', name: 'P', model: 'bundle', currency: 'EUR', fixedFeeMinor: '12.50' }, 422, 'fixedFeeMinor'],
    ['POST', '/api/v1/plans', { code: 'p6', name: 'P', model: 'bundle', currency: 'euro' }, 422, 'currency'],
    ['PATCH', `/api/v1/plans/${ids.plan}`, { model: 'payg' }, 422, 'fixedFeeMinor'],
    ['PUT', `/api/v1/plans/${ids.plan}/prices`, { prices: [{ meter: 'vcpu-hours', unitPrice: '1' }, { meter: 'vcpu-hours', unitPrice: '2' }] }, 422, 'prices'],
    ['PUT', `/api/v1/plans/${ids.plan}/prices`, { prices: [{ meter: 'vcpu-hours', unitPrice: '1.1234567' }] }, 422, 'prices'],
    ['POST', '/api/v1/providers', { name: 'P', cpuCapacity: '-4' }, 422, 'cpuCapacity'],
    ['POST', '/api/v1/providers', { name: 'frankfurt 1' }, 409, 'name'],
    ['PUT', '/api/v1/costs', { costs: [{ meter: 'nope', amount: '1', currency: 'EUR' }] }, 422, 'costs'],
    ['PUT', '/api/v1/costs', { costs: [{ meter: 'vcpu-hours', planId: ids.plan, amount: '1', currency: 'EUR' }] }, 422, 'costs'],
  ]
  for (const [method, path, body, status, field] of cases) {
    const res = await expectStatus(await call(operator, method, path, body), status, `${method} ${path} ${JSON.stringify(body)}`) as ErrorJson
    if (status === 422) assert.ok(Object.keys(res.error.fields ?? {}).some((k) => k.startsWith(field)), `${JSON.stringify(body)} -> fields ${JSON.stringify(res.error.fields)}`)
  }
  await expectStatus(await call(operator, 'POST', '/api/v1/plans', undefined, '{"code": '), 400, 'bad JSON')
  await expectStatus(await call(operator, 'POST', '/api/v1/plans', undefined, '[1]'), 400, 'not an object')
  await expectStatus(await call(operator, 'PATCH', '/api/v1/plans/abc', { name: 'x' }), 404, 'bad id')
})

test('subscriptions: a reseller subscribes its customer, not a sibling\'s, and only in the customer\'s currency', async () => {
  const audits = await auditCount('Subscription')
  const created = await expectStatus(await call(alpha, 'POST', '/api/v1/subscriptions', {
    orgId: tree.alphaCustomer.id, planId: ids.plan, providerId: ids.provider, name: 'Web cluster', startsOn: '2025-01-01', endsOn: '2025-12-31',
    allocations: { vcpu: '8', memoryGb: '32', storageGb: '500', bundles: 1, licenceSeats: '5' },
  }), 201, 'create')
  ids.subscription = created.subscription.id
  assert.equal(created.subscription.allocations, { vcpu: '8.000', memoryGb: '32.000', storageGb: '500.000', bundles: 1, licenceSeats: 5 })
  assert.is(created.subscription.currency, 'EUR')
  await expectStatus(await call(alpha, 'POST', '/api/v1/subscriptions', { orgId: tree.betaCustomer.id, planId: ids.plan, name: 'X', startsOn: '2025-01-01' }), 404, 'beta customer')
  const usd = await expectStatus(await call(alpha, 'POST', '/api/v1/subscriptions', { orgId: tree.alphaCustomer.id, planId: ids.usdPlan, name: 'X', startsOn: '2025-01-01' }), 422, 'usd plan') as ErrorJson
  assert.match(usd.error.fields!.planId!, /USD.*EUR/)
  const dates = await expectStatus(await call(alpha, 'POST', '/api/v1/subscriptions', { orgId: tree.alphaCustomer.id, planId: ids.plan, name: 'X', startsOn: '2025-02-01', endsOn: '2025-01-31' }), 422, 'dates') as ErrorJson
  assert.ok(dates.error.fields?.endsOn)
  await expectStatus(await call(alpha, 'POST', '/api/v1/subscriptions', { orgId: tree.alphaCustomer.id, planId: ids.plan, name: 'X', startsOn: '2025-02-30' }), 422, 'bad date')
  await expectStatus(await call(alpha, 'POST', '/api/v1/subscriptions', { orgId: tree.alphaCustomer.id, planId: ids.plan, name: 'X', startsOn: '2025-02-01', allocations: { vcpu: '-1' } }), 422, 'negative allocation')
  await expectStatus(await call(alpha, 'PATCH', `/api/v1/subscriptions/${ids.subscription}`, { endsOn: '2024-12-31' }), 422, 'patch ends before start')

  const patched = await expectStatus(await call(alpha, 'PATCH', `/api/v1/subscriptions/${ids.subscription}`, { status: 'suspended', allocations: { vcpu: '12' } }), 200, 'patch')
  assert.is(patched.subscription.status, 'suspended')
  assert.is(patched.subscription.allocations.vcpu, '12.000')
  assert.is(patched.subscription.allocations.memoryGb, '32.000')

  const list = await json(await alpha.get(`/api/v1/subscriptions?org=${tree.alphaCustomer.id}&period=2025-06`))
  assert.equal(list.subscriptions.map((s: any) => s.id), [ids.subscription])
  assert.is((await json(await alpha.get('/api/v1/subscriptions?period=2026-01'))).total, 0)
  assert.is((await json(await alpha.get('/api/v1/subscriptions?status=active'))).total, 0)
  assert.is((await alpha.get('/api/v1/subscriptions?period=2025-13')).status, 422)
  assert.is((await alpha.get(`/api/v1/subscriptions?org=${tree.betaCustomer.id}`)).status, 404)
  const beta = await signedIn(rt.app, ADMIN.beta)
  assert.is((await beta.get(`/api/v1/subscriptions/${ids.subscription}`)).status, 404)
  assert.is((await customer.get(`/api/v1/subscriptions/${ids.subscription}`)).status, 200)
  assert.is((await auditCount('Subscription')) - audits, 2)
})

test('what is in use cannot be removed or reshaped (409)', async () => {
  await addMonthlyUsage(rt.database.db, tree.alphaCustomer.id, ids.subscription!, ids.meter!, '2025-03-01', '10')
  const del = await expectStatus(await call(alpha, 'DELETE', `/api/v1/subscriptions/${ids.subscription}`), 409, 'delete with usage') as ErrorJson
  assert.match(del.error.message, /Cancel it instead/)
  await expectStatus(await call(operator, 'PATCH', `/api/v1/meters/${ids.meter}`, { aggregation: 'max' }), 409, 'aggregation with usage')
  await expectStatus(await call(operator, 'PATCH', `/api/v1/meters/${ids.meter}`, { name: 'vCPU hours (renamed)' }), 200, 'rename with usage')
  await expectStatus(await call(operator, 'PATCH', `/api/v1/plans/${ids.plan}`, { currency: 'USD' }), 409, 'currency of a used plan')

  const fresh = await expectStatus(await call(alpha, 'POST', '/api/v1/subscriptions', { orgId: tree.alphaCustomer.id, planId: ids.plan, name: 'Short lived', startsOn: '2025-01-01' }), 201, 'fresh')
  const audits = await auditCount('Subscription')
  await expectStatus(await call(alpha, 'DELETE', `/api/v1/subscriptions/${fresh.subscription.id}`), 200, 'delete unused')
  assert.is((await auditCount('Subscription')) - audits, 1)
  assert.is((await alpha.get(`/api/v1/subscriptions/${fresh.subscription.id}`)).status, 404)
})

test.run()
