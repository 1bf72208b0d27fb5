/**
 * The catalog pages: forms with CSRF and 422 re-renders, money typed in major units, the prices
 * table, read-only shared rows from below, costs kept to the owner, and 409 for what is in use.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Agent, signedIn } from '../support/agent.ts'
import { addMonthlyUsage, addSubscription } from '../support/billing.ts'
import { ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`catalog pages (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let operator: Agent
const db = () => rt.database.db

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  operator = await signedIn(rt.app, ADMIN.operator)
})
test.after(async () => { await rt?.dispose() })

const serviceId = async (code: string) => (await db().selectFrom('services').select('id').where('code', '=', code).executeTakeFirstOrThrow()).id
const meterId = async (code: string) => (await db().selectFrom('meters').select('id').where('code', '=', code).executeTakeFirstOrThrow()).id
const plan = (code: string) => db().selectFrom('plans').selectAll().where('code', '=', code).executeTakeFirstOrThrow()

test('the operator creates a service and a meter; a bad form comes back with 422 and its messages', async () => {
  assert.is((await operator.postForm('/catalog/services', { code: 'storage', name: 'Storage', category: 'storage', description: '' })).status, 303)
  const bad = await operator.postForm('/catalog/services', { code: 'Not A Code', name: '', category: 'storage', description: '' })
  assert.is(bad.status, 422)
  const html = await bad.text()
  assert.match(html, 'lowercase letters')
  assert.match(html, 'Enter a name')
  assert.match(html, 'value="Not A Code"')
  const sid = await serviceId('storage')
  assert.is((await operator.postForm('/catalog/meters', { serviceId: String(sid), code: 'storage-gb', name: 'Storage', unit: 'GB', aggregation: 'max' })).status, 303)
  assert.is((await operator.postForm('/catalog/meters', { serviceId: String(sid), code: 'storage-gb', name: 'Again', unit: 'GB', aggregation: 'max' })).status, 409)
  const page = await (await operator.get('/catalog')).text()
  assert.match(page, 'storage-gb')
  assert.match(page, 'Services &amp; meters')
})

test('plans: the fee is typed in major units, prices are edited per meter, PAYG refuses a fee', async () => {
  assert.is((await operator.postForm('/catalog/plans', { code: 'bundle-m', name: 'Bundle M', model: 'bundle', currency: 'EUR', fixedFee: '120.00', status: 'active', description: '' })).status, 303)
  const bundle = await plan('bundle-m')
  assert.is(bundle.fixed_fee_minor, '12000')
  const payg = await operator.postForm('/catalog/plans', { code: 'payg-x', name: 'PAYG', model: 'payg', currency: 'EUR', fixedFee: '5', status: 'active', description: '' })
  assert.is(payg.status, 422)
  assert.match(await payg.text(), 'Must be 0 for pay-as-you-go')
  assert.is((await operator.postForm('/catalog/plans', { code: 'bad-fee', name: 'X', model: 'bundle', currency: 'EUR', fixedFee: '1.234', status: 'active', description: '' })).status, 422)

  const mid = await meterId('storage-gb')
  assert.is((await operator.postForm(`/catalog/plans/${bundle.id}/prices`, { [`price.${mid}`]: '0.04', [`included.${mid}`]: '500' })).status, 303)
  const shown = await (await operator.get(`/catalog/plans/${bundle.id}`)).text()
  assert.match(shown, '€120.00')
  assert.match(shown, 'value="0.04"')
  const negative = await operator.postForm(`/catalog/plans/${bundle.id}/prices`, { [`price.${mid}`]: '-1', [`included.${mid}`]: '0' })
  assert.is(negative.status, 422)
  assert.match(await negative.text(), 'cannot be negative')
  const prices = await db().selectFrom('plan_prices').selectAll().where('plan_id', '=', bundle.id).execute()
  assert.equal(prices.map((p) => [p.unit_price, p.included_quantity]), [['0.040000', '500.000000']])

  const fragment = await operator.get('/catalog/plans?status=active', { 'HX-Request': 'true' })
  assert.not.match(await fragment.text(), '<html')
})

test('a reseller reads the operator plan read-only, cannot edit it, and never sees the operator costs', async () => {
  const bundle = await plan('bundle-m')
  const mid = await meterId('storage-gb')
  await db().insertInto('catalog_costs').values({ org_id: tree.operator.id, meter_id: mid, currency: 'EUR', amount: '0.013579' }).execute()
  assert.match(await (await operator.get('/catalog')).text(), '0.013579')
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const shown = await alpha.get(`/catalog/plans/${bundle.id}`)
  assert.is(shown.status, 200)
  const html = await shown.text()
  assert.match(html, 'Bundle M')
  assert.not.match(html, `/catalog/plans/${bundle.id}/edit`)
  assert.not.match(html, 'Test Operator')
  assert.is((await alpha.get(`/catalog/plans/${bundle.id}/edit`)).status, 404)
  assert.is((await alpha.postForm(`/catalog/plans/${bundle.id}`, { name: 'Mine now' })).status, 404)
  assert.is((await alpha.postForm(`/catalog/plans/${bundle.id}/delete`, {})).status, 404)
  for (const path of ['/catalog', '/catalog/costs', '/api/v1/costs']) assert.not.match(await (await alpha.get(path)).text(), '0.013579', path)
  const customer = await signedIn(rt.app, ADMIN.alphaCustomer)
  assert.is((await customer.get('/catalog/plans')).status, 200)
  assert.is((await customer.postForm('/catalog/services', { code: 'x', name: 'X', category: 'other' })).status, 403)
})

test('in use: a plan with subscriptions, a meter with usage or prices, a service with meters answer 409', async () => {
  const bundle = await plan('bundle-m')
  const mid = await meterId('storage-gb')
  const sub = await addSubscription(db(), tree.alphaCustomer.id, bundle.id)
  const audits = async () => Number((await db().selectFrom('audit_log').select((eb) => eb.fn.countAll<string>().as('n')).where('subject', '=', 'Catalog').executeTakeFirstOrThrow()).n)
  const before = await audits()
  const planDelete = await operator.postForm(`/catalog/plans/${bundle.id}/delete`, {})
  assert.is(planDelete.status, 409)
  assert.match(await planDelete.text(), 'Retire it instead')
  assert.is((await operator.postForm(`/catalog/meters/${mid}/delete`, {})).status, 409)
  assert.is((await operator.postForm(`/catalog/services/${await serviceId('storage')}/delete`, {})).status, 409)
  await addMonthlyUsage(db(), tree.alphaCustomer.id, sub, mid, '2025-01-01', '3')
  const aggregation = await operator.postForm(`/catalog/meters/${mid}`, { serviceId: String(await serviceId('storage')), code: 'storage-gb', name: 'Storage', unit: 'GB', aggregation: 'sum' })
  assert.is(aggregation.status, 409)
  assert.match(await aggregation.text(), 'aggregation cannot change')
  assert.is(await audits(), before, 'refusals write no audit row')

  assert.is((await operator.postForm(`/catalog/plans/${bundle.id}`, { code: 'bundle-m', name: 'Bundle M', model: 'bundle', currency: 'EUR', fixedFee: '120', status: 'retired', description: '' })).status, 303)
  assert.is((await plan('bundle-m')).status, 'retired')
  assert.is(await audits(), before + 1)
})

test('providers: create, edit, delete; one in use answers 409', async () => {
  assert.is((await operator.postForm('/catalog/providers', { name: 'Amsterdam 2', region: 'eu-west', cpuCapacity: '256', memoryGb: '1024', storageGb: '50000', status: 'active' })).status, 303)
  assert.is((await operator.postForm('/catalog/providers', { name: 'Bad', cpuCapacity: 'lots' })).status, 422)
  const provider = await db().selectFrom('providers').selectAll().where('name', '=', 'Amsterdam 2').executeTakeFirstOrThrow()
  assert.is(provider.memory_gb, '1024.000')
  assert.is((await operator.postForm(`/catalog/providers/${provider.id}`, { name: 'Amsterdam 2', region: 'eu-west', cpuCapacity: '300', memoryGb: '1024', storageGb: '50000', status: 'active' })).status, 303)
  assert.match(await (await operator.get('/catalog/providers')).text(), '300')
  const payg = await db().insertInto('plans').values({ org_id: tree.operator.id, code: 'p-prov', name: 'P', model: 'payg', currency: 'EUR' }).returning('id').executeTakeFirstOrThrow()
  await db().insertInto('subscriptions').values({ org_id: tree.alpha.id, plan_id: payg.id, provider_id: provider.id, name: 'On Amsterdam', starts_on: '2025-01-01' }).execute()
  assert.is((await operator.postForm(`/catalog/providers/${provider.id}/delete`, {})).status, 409)
  assert.is((await operator.postForm('/catalog/providers', { name: 'Spare', status: 'active' })).status, 303)
  const spare = await db().selectFrom('providers').select('id').where('name', '=', 'Spare').executeTakeFirstOrThrow()
  assert.is((await operator.postForm(`/catalog/providers/${spare.id}/delete`, {})).status, 303)
})

test('costs: the owner sets them on its page', async () => {
  const mid = await meterId('storage-gb')
  assert.is((await operator.postForm('/catalog/costs', { [`meter.${mid}.amount`]: '0.02', [`meter.${mid}.currency`]: 'EUR' })).status, 303)
  assert.is((await operator.postForm('/catalog/costs', { [`meter.${mid}.amount`]: '-2', [`meter.${mid}.currency`]: 'EUR' })).status, 422)
  const costs = await db().selectFrom('catalog_costs').selectAll().where('org_id', '=', tree.operator.id).execute()
  assert.equal(costs.map((c) => c.amount), ['0.020000'])
})

test.run()
