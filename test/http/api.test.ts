import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { OrganisationJson } from '../../core/api/organisations.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const api = suite<{ rt: TestRuntime; tree: Tree }>(`JSON API: organisations (${dbLabel})`)
api.before(async (ctx) => {
  ctx.rt = await testRuntime()
  ctx.tree = await seedTree(ctx.rt.database.db)
})
api.after(async (ctx) => { await ctx.rt.dispose() })

const list = async (agent: Agent) => {
  const res = await agent.get('/api/v1/organisations')
  assert.is(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /application\/json/)
  return ((await res.json()) as { organisations: OrganisationJson[] }).organisations
}

api('lists exactly the caller\'s subtree, its own organisation without a parent', async ({ rt, tree }) => {
  const alpha = await list(await signedIn(rt.app, ADMIN.alpha))
  assert.equal(alpha.map((o) => o.id).sort((a, b) => a - b), [tree.alpha.id, tree.alphaCustomer.id, tree.alphaSub.id, tree.alphaSubCustomer.id].sort((a, b) => a - b))
  const own = alpha.find((o) => o.id === tree.alpha.id)!
  assert.is(own.parentId, null)
  assert.is(alpha.find((o) => o.id === tree.alphaSubCustomer.id)!.parentId, tree.alphaSub.id)
  const all = await list(await signedIn(rt.app, ADMIN.operator))
  assert.is(all.length, 7)
  const customer = await list(await signedIn(rt.app, ADMIN.betaCustomer))
  assert.equal(customer.map((o) => o.name), ['Beta Customer'])
})

api('one organisation by id: 200 inside the subtree, 404 JSON outside it with no foreign name', async ({ rt, tree }) => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const child = await alpha.get(`/api/v1/organisations/${tree.alphaSubCustomer.id}`)
  assert.is(child.status, 200)
  assert.is(((await child.json()) as { organisation: OrganisationJson }).organisation.name, 'Alpha Sub Customer')
  for (const id of [tree.beta.id, tree.betaCustomer.id, tree.operator.id, 'abc', '99999999999']) {
    const res = await alpha.get(`/api/v1/organisations/${id}`)
    assert.is(res.status, 404, `id ${id}`)
    const text = await res.text()
    assert.not.match(text, /Beta|Test Operator/)
    assert.is((JSON.parse(text) as { error: { status: number } }).error.status, 404)
  }
})

api('without a session the API answers 401 JSON', async ({ rt }) => {
  const res = await rt.app.request('/api/v1/organisations')
  assert.is(res.status, 401)
  assert.is(((await res.json()) as { error: { status: number } }).error.status, 401)
})

const write = async (agent: Agent, method: 'POST' | 'PATCH', path: string, body: unknown) =>
  agent.request(path, { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'x-csrf-token': await agent.csrf('/'), 'sec-fetch-site': 'same-origin' } })

api('POST creates an organisation under a parent in scope and audits it; a foreign parent is refused without its name', async ({ rt, tree }) => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const made = await write(alpha, 'POST', '/api/v1/organisations', { name: 'Scripted Customer', kind: 'customer', parentId: tree.alphaSub.id, currency: 'usd' })
  assert.is(made.status, 201)
  const org = ((await made.json()) as { organisation: OrganisationJson }).organisation
  assert.equal([org.name, org.kind, org.parentId, org.currency], ['Scripted Customer', 'customer', tree.alphaSub.id, 'USD'])
  const audit = await rt.database.db.selectFrom('audit_log').select(['action', 'subject', 'actor_email']).where('subject_id', '=', String(org.id)).execute()
  assert.equal(audit, [{ action: 'create', subject: 'Organisation', actor_email: ADMIN.alpha }])

  const foreign = await write(alpha, 'POST', '/api/v1/organisations', { name: 'Planted', kind: 'customer', parentId: tree.beta.id })
  assert.is(foreign.status, 422)
  assert.not.match(await foreign.text(), /Beta/)
  const invalid = await write(alpha, 'POST', '/api/v1/organisations', { name: '', kind: 'operator' })
  assert.is(invalid.status, 422)
  assert.ok(((await invalid.json()) as { error: { fields: Record<string, string> } }).error.fields.kind)
  assert.is((await write(alpha, 'POST', '/api/v1/organisations', '[1]')).status, 400)
  const planted = await rt.database.db.selectFrom('organisations').select('id').where('name', '=', 'Planted').execute()
  assert.equal(planted, [])
})

api('PATCH renames or moves inside the subtree; outside it is a 404; a customer admin may not', async ({ rt, tree }) => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const renamed = await write(alpha, 'PATCH', `/api/v1/organisations/${tree.alphaCustomer.id}`, { name: 'Alpha Customer Ltd' })
  assert.is(renamed.status, 200)
  assert.is(((await renamed.json()) as { organisation: OrganisationJson }).organisation.name, 'Alpha Customer Ltd')
  const foreign = await write(alpha, 'PATCH', `/api/v1/organisations/${tree.betaCustomer.id}`, { name: 'Taken' })
  assert.is(foreign.status, 404)
  assert.not.match(await foreign.text(), /Beta/)
  const customer = await signedIn(rt.app, ADMIN.alphaCustomer)
  assert.is((await write(customer, 'PATCH', `/api/v1/organisations/${tree.alphaCustomer.id}`, { name: 'Mine' })).status, 403)
  const row = await rt.database.db.selectFrom('organisations').select('name').where('id', 'in', [tree.alphaCustomer.id, tree.betaCustomer.id]).orderBy('id').execute()
  assert.equal(row.map((r) => r.name), ['Alpha Customer Ltd', 'Beta Customer'])
})

api.run()
