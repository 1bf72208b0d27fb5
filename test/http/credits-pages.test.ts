/** The credits and discounts pages: forms, 422 re-renders, htmx fragments, edit and cancel. */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { signedIn, type Agent } from '../support/agent.ts'
import { ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`credits pages (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let alpha: Agent

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  alpha = await signedIn(rt.app, ADMIN.alpha)
})
test.after(async () => { await rt?.dispose() })

test('the grant form offers the subtree without the caller, and records a top-up', async () => {
  const form = await (await alpha.get('/credits/new')).text()
  assert.match(form, tree.alphaCustomer.name)
  assert.not.match(form, `value="${tree.alpha.id}"`)
  const bad = await alpha.postForm('/credits', { orgId: String(tree.alphaCustomer.id), kind: 'topup', amount: 'ten', description: '' })
  assert.is(bad.status, 422)
  assert.match(await bad.text(), 'Enter an amount of EUR')
  const own = await alpha.postForm('/credits', { orgId: String(tree.alpha.id), kind: 'topup', amount: '10', description: '' })
  assert.is(own.status, 403)
  const ok = await alpha.postForm('/credits', { orgId: String(tree.alphaCustomer.id), kind: 'topup', amount: '1,234.50', currency: '', expiresOn: '', description: 'Welcome credit' })
  assert.is(ok.status, 303)
  assert.is(ok.headers.get('location'), `/credits?org=${tree.alphaCustomer.id}`)
  const list = await (await alpha.get(`/credits?org=${tree.alphaCustomer.id}`)).text()
  assert.match(list, 'Welcome credit')
  assert.match(list, '€1,234.50')
  const fragment = await alpha.get('/credits?kind=topup', { 'hx-request': 'true' })
  const html = await fragment.text()
  assert.not.match(html, '<html')
  assert.match(html, 'id="credits-body"')
})

test('a customer admin sees its ledger but no grant button', async () => {
  const customer = await signedIn(rt.app, ADMIN.alphaCustomer)
  const html = await (await customer.get('/credits')).text()
  assert.match(html, 'Welcome credit')
  assert.not.match(html, 'Grant credit')
  assert.is((await customer.get('/credits/new')).status, 403)
})

test('discounts: create through the form, edit, cancel, then no more edits', async () => {
  const bad = await alpha.postForm('/credits/discounts', { orgId: String(tree.alphaCustomer.id), item: 'all', kind: 'percent', percent: '101', validFrom: '2025-01-01', validTo: '', description: '' })
  assert.is(bad.status, 422)
  const created = await alpha.postForm('/credits/discounts', { orgId: String(tree.alphaCustomer.id), item: 'all', kind: 'percent', percent: '15', validFrom: '2025-01-01', validTo: '', description: 'Partner rate' })
  assert.is(created.status, 303)
  const href = created.headers.get('location')!
  assert.match(href, /^\/credits\/discounts\/\d+$/)
  const detail = await (await alpha.get(href)).text()
  assert.match(detail, 'Partner rate')
  assert.match(detail, 'discount-active')
  assert.match(detail, '15 %')
  assert.is((await alpha.postForm(href, { description: 'Partner rate 2025', validTo: '2025-12-31' })).status, 303)
  assert.match(await (await alpha.get('/credits/discounts?status=expired')).text(), 'Partner rate 2025')
  assert.is((await alpha.postForm(href, { description: 'x', validTo: '2024-01-01' })).status, 422)
  assert.is((await alpha.postForm(`${href}/cancel`, {})).status, 303)
  assert.match(await (await alpha.get(href)).text(), 'discount-cancelled')
  assert.is((await alpha.postForm(href, { description: 'again' })).status, 409)
  const list = await alpha.get('/credits/discounts?status=cancelled', { 'hx-request': 'true' })
  assert.match(await list.text(), 'Partner rate 2025')
})

test.run()
