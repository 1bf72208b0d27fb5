/**
 * The subscription pages: a reseller subscribes its own customer (not a sibling's, not on a plan
 * of another currency), the list filters and pages with htmx, the detail shows the plan's prices
 * and the allocations, edits are audited, and a subscription with usage cannot be deleted.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Agent, signedIn } from '../support/agent.ts'
import { addMonthlyUsage, seedCatalog, type Catalog } from '../support/billing.ts'
import { ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`subscription pages (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let catalog: Catalog
let alpha: Agent
let usdPlan: number
const db = () => rt.database.db

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  catalog = await seedCatalog(rt.database.db, tree.operator.id)
  usdPlan = (await db().insertInto('plans').values({ org_id: tree.operator.id, code: 'usd', name: 'Dollar plan', model: 'payg', currency: 'USD' }).returning('id').executeTakeFirstOrThrow()).id
  alpha = await signedIn(rt.app, ADMIN.alpha)
})
test.after(async () => { await rt?.dispose() })

const form = (fields: Record<string, string>) => ({
  orgId: String(tree.alphaCustomer.id), planId: String(catalog.plans.bundle), providerId: '', name: 'Telephony', startsOn: '2025-01-01', endsOn: '2025-12-31', status: 'active',
  vcpu: '0', memoryGb: '0', storageGb: '0', bundles: '2', licenceSeats: '10', ...fields,
})
const subscription = (name: string) => db().selectFrom('subscriptions').selectAll().where('name', '=', name).executeTakeFirstOrThrow()

test('a reseller subscribes its customer; the detail shows the prices and allocations', async () => {
  const res = await alpha.postForm('/subscriptions', form({}))
  assert.is(res.status, 303)
  const row = await subscription('Telephony')
  assert.is(res.headers.get('location'), `/subscriptions/${row.id}`)
  const html = await (await alpha.get(`/subscriptions/${row.id}`)).text()
  assert.match(html, '€49.00')
  assert.match(html, 'voice-minutes')
  assert.match(html, '1,000 min')
  assert.match(html, 'Licence seats')
  assert.is((await alpha.get(`/subscriptions/${row.id}/edit`)).status, 200)
  const beta = await signedIn(rt.app, ADMIN.beta)
  assert.is((await beta.get(`/subscriptions/${row.id}`)).status, 404)
})

test('not for a sibling\'s customer (404), not on a plan of another currency or with bad dates (422)', async () => {
  assert.is((await alpha.postForm('/subscriptions', form({ orgId: String(tree.betaCustomer.id), name: 'Sneaky' }))).status, 404)
  const usd = await alpha.postForm('/subscriptions', form({ planId: String(usdPlan), name: 'Dollars' }))
  assert.is(usd.status, 422)
  assert.match(await usd.text(), 'priced in USD, but Alpha Customer is billed in EUR')
  const dates = await alpha.postForm('/subscriptions', form({ name: 'Backwards', startsOn: '2025-06-01', endsOn: '2025-05-01' }))
  assert.is(dates.status, 422)
  assert.match(await dates.text(), 'on or after the start')
  assert.is((await alpha.postForm('/subscriptions', form({ name: 'Negative', vcpu: '-2' }))).status, 422)
  assert.not.ok(await db().selectFrom('subscriptions').select('id').where('name', 'in', ['Sneaky', 'Dollars', 'Backwards', 'Negative']).executeTakeFirst())
})

test('the list filters by organisation, status and expiry, and answers htmx with a fragment', async () => {
  const soon = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10)
  assert.is((await alpha.postForm('/subscriptions', form({ orgId: String(tree.alphaSubCustomer.id), planId: String(catalog.plans.payg), name: 'Expiring soon', startsOn: '2024-01-01', endsOn: soon }))).status, 303)
  const all = await (await alpha.get('/subscriptions')).text()
  assert.match(all, 'Telephony')
  assert.match(all, 'Expiring soon')
  const expiring = await (await alpha.get('/subscriptions?expiring=30')).text()
  assert.match(expiring, 'Expiring soon')
  assert.not.match(expiring, '>Telephony<')
  const byOrg = await (await alpha.get(`/subscriptions?org=${tree.alphaCustomer.id}`)).text()
  assert.not.match(byOrg, 'Expiring soon')
  assert.match(await (await alpha.get('/subscriptions?status=cancelled')).text(), 'No subscriptions match')
  const fragment = await alpha.get('/subscriptions?status=active', { 'HX-Request': 'true' })
  const body = await fragment.text()
  assert.not.match(body, '<html')
  assert.match(body, 'id="subscription-table"')
})

test('edits are audited; delete works only without usage', async () => {
  const row = await subscription('Telephony')
  const audits = async () => db().selectFrom('audit_log').selectAll().where('subject', '=', 'Subscription').where('subject_id', '=', String(row.id)).orderBy('id').execute()
  const edited = await alpha.postForm(`/subscriptions/${row.id}`, form({ planId: String(catalog.plans.reserved), status: 'suspended', vcpu: '4' }))
  assert.is(edited.status, 303)
  const after = await subscription('Telephony')
  assert.is(after.plan_id, catalog.plans.reserved)
  assert.is(after.alloc_vcpu, '4.000')
  assert.is(after.status, 'suspended')
  const rows = await audits()
  assert.equal(rows.map((r) => r.action), ['create', 'update'])
  assert.match(rows[1]!.summary, 'another plan')

  await addMonthlyUsage(db(), tree.alphaCustomer.id, row.id, catalog.meters['vcpu-hours']!, '2025-02-01', '5')
  const refused = await alpha.postForm(`/subscriptions/${row.id}/delete`, {})
  assert.is(refused.status, 409)
  assert.match(await refused.text(), 'Cancel it instead')
  const spare = await subscription('Expiring soon')
  assert.is((await alpha.postForm(`/subscriptions/${spare.id}/delete`, {})).status, 303)
  assert.not.ok(await db().selectFrom('subscriptions').select('id').where('id', '=', spare.id).executeTakeFirst())
})

test('a customer admin reads but cannot write', async () => {
  const customer = await signedIn(rt.app, ADMIN.alphaCustomer)
  assert.is((await customer.get('/subscriptions')).status, 200)
  assert.is((await customer.get('/subscriptions/new')).status, 403)
  assert.is((await customer.postForm('/subscriptions', form({ name: 'Self-service' }))).status, 403)
})

test.run()
