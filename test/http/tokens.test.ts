/**
 * API tokens: made on /users/tokens (the secret shown once), used as `Authorization: Bearer`,
 * revoked, expired, stopped by disabling the user; the JSON endpoints /api/v1/api-tokens; who
 * may see and revoke whose tokens; audit rows without secrets.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { ApiTokenJson } from '../../core/api/users.ts'
import { insertApiToken } from '../../core/auth/tokens.ts'
import type { OrganisationRow } from '../../core/db/schema.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { addUser, ADMIN, dbLabel, seedTree, systemRoleIds, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`API tokens (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
const role: Record<string, number> = {}

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  Object.assign(role, await systemRoleIds(rt.database.db))
})
test.after(async () => { await rt?.dispose() })

const db = () => rt.database.db
const SECRET = /<code class="secret" data-secret="token">(llt_[A-Za-z0-9_-]{43})<\/code>/

async function seedUser(org: OrganisationRow, email: string, roleKeys: string[] = [], name = email): Promise<number> {
  return addUser(db(), org.id, email, { name, roleIds: roleKeys.map((k) => role[k]!) })
}

const userId = async (email: string) => (await db().selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id
const tokenRow = (id: number) => db().selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
const tokenCount = async () => Number((await db().selectFrom('api_tokens').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n)
const tokenAudit = (id: number) => db().selectFrom('audit_log').selectAll().where('subject', '=', 'ApiToken').where('subject_id', '=', String(id)).orderBy('id').execute()
const auditText = async () => JSON.stringify(await db().selectFrom('audit_log').selectAll().execute())

async function bearer(token: string, path = '/api/v1/users', init: RequestInit = {}): Promise<Response> {
  return rt.app.request(path, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } })
}

/** Makes a token through the page and returns its secret and id. */
async function makeToken(agent: Agent, name: string, expiresInDays = ''): Promise<{ secret: string; id: number; html: string }> {
  const res = await agent.postForm('/users/tokens', { name, expiresInDays })
  assert.is(res.status, 200)
  const html = await res.text()
  const secret = SECRET.exec(html)?.[1]
  assert.ok(secret, 'the secret is on the page')
  const row = await db().selectFrom('api_tokens').select('id').where('name', '=', name).orderBy('id', 'desc').executeTakeFirstOrThrow()
  return { secret: secret!, id: row.id, html }
}

async function session(agent: Agent, method: string, path: string, body?: unknown): Promise<Response> {
  return agent.request(path, {
    method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    headers: { 'x-csrf-token': await agent.csrf('/'), 'sec-fetch-site': 'same-origin', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
  })
}

test('a token made on the page is shown once, works on the API, and is revoked with one click', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const { secret, id, html } = await makeToken(alpha, 'Nightly export', '30')
  assert.match(html, 'shown only this once')
  const row = await tokenRow(id)
  assert.is(row.user_id, await userId(ADMIN.alpha))
  assert.is(row.org_id, tree.alpha.id)
  assert.is(row.hint, secret.slice(-4))
  assert.not.ok(row.token_hash.includes(secret))
  const days = (row.expires_at!.getTime() - Date.now()) / 86_400_000
  assert.ok(days > 29.9 && days <= 30, `expires in ${days} days`)

  const list = await (await alpha.get('/users/tokens')).text()
  assert.match(list, 'Nightly export')
  assert.match(list, `…${secret.slice(-4)}`)
  assert.not.match(list, secret)

  const res = await bearer(secret)
  assert.is(res.status, 200)
  const emails = ((await res.json()) as { users: { email: string }[] }).users.map((u) => u.email)
  assert.ok(emails.includes(ADMIN.alphaSubCustomer))
  assert.not.ok(emails.includes(ADMIN.beta))
  assert.ok((await tokenRow(id)).last_used_at, 'last use is recorded')

  const revoke = await alpha.postForm(`/users/tokens/${id}/revoke`, {})
  assert.is(revoke.status, 303)
  assert.is(revoke.headers.get('location'), '/users/tokens')
  assert.ok((await tokenRow(id)).revoked_at)
  const after = await bearer(secret)
  assert.is(after.status, 401)
  assert.is(((await after.json()) as { error: { status: number } }).error.status, 401)
  assert.match(await (await alpha.get('/users/tokens')).text(), 'revoked')

  const audit = await tokenAudit(id)
  assert.equal(audit.map((a) => a.action), ['create', 'revoke'])
  assert.is(audit[0]!.org_id, tree.alpha.id)
  const text = await auditText()
  assert.not.match(text, secret)
  assert.not.match(text, row.token_hash)
})

test('a token cannot mint another token (a leaked one could outlive its expiry); the person can', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const { secret } = await makeToken(alpha, 'Minting probe', '1')
  const before = await db().selectFrom('api_tokens').select('id').execute()
  const res = await bearer(secret, '/api/v1/api-tokens', { method: 'POST', body: JSON.stringify({ name: 'Forever' }) })
  assert.is(res.status, 403)
  assert.match(await res.text(), 'signed-in person')
  assert.is((await db().selectFrom('api_tokens').select('id').execute()).length, before.length)
})

test('an expired token is refused with 401', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const { secret, id } = await makeToken(alpha, 'Short lived', '1')
  assert.is((await bearer(secret)).status, 200)
  await db().updateTable('api_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', id).execute()
  assert.is((await bearer(secret)).status, 401)
  assert.match(await (await alpha.get('/users/tokens')).text(), 'expired')
})

test('disabling the user stops their tokens; enabling brings them back', async () => {
  const id = await seedUser(tree.alphaCustomer, 'scripter@example.com', ['customer_admin'], 'Scripter')
  const scripter = await signedIn(rt.app, 'scripter@example.com')
  const { secret } = await makeToken(scripter, 'Scripter CI')
  assert.is((await bearer(secret)).status, 200)
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  assert.is((await alpha.postForm(`/users/${id}/disable`, {})).status, 303)
  assert.is((await bearer(secret)).status, 401)
  assert.is((await alpha.postForm(`/users/${id}/enable`, {})).status, 303)
  assert.is((await bearer(secret)).status, 200)
})

test('bad token forms are 422 and make nothing; days must be 1 to 365', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const before = await tokenCount()
  for (const [name, expiresInDays, field] of [['', '', 'Enter a name'], ['ok', '0', 'Use 1 to 365 days'], ['ok', '366', 'Use 1 to 365 days'], ['ok', 'soon', 'Enter a number of days'], ['ok', '1.5', 'Enter whole days']]) {
    const res = await alpha.postForm('/users/tokens', { name: name!, expiresInDays: expiresInDays! })
    assert.is(res.status, 422, `${name}/${expiresInDays}`)
    assert.match(await res.text(), field!)
  }
  assert.is(await tokenCount(), before)
})

test('the JSON endpoints: list own, create (secret once), delete', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const made = await session(alpha, 'POST', '/api/v1/api-tokens', { name: 'From the API', expiresInDays: 7 })
  assert.is(made.status, 201)
  const body = (await made.json()) as { token: { id: number; name: string; hint: string; expiresAt: string }; secret: string }
  assert.equal(Object.keys(body.token).sort(), ['expiresAt', 'hint', 'id', 'name', 'orgId'])
  assert.is(body.token.hint, body.secret.slice(-4))
  assert.ok(Math.abs(new Date(body.token.expiresAt).getTime() - Date.now() - 7 * 86_400_000) < 60_000)

  // The new token lists the caller's own tokens, and only those.
  await insertApiToken(db(), { orgId: tree.alphaCustomer.id, userId: await userId(ADMIN.alphaCustomer), name: 'Not alpha\'s', expiresAt: null })
  const list = await bearer(body.secret, '/api/v1/api-tokens')
  assert.is(list.status, 200)
  const text = await list.text()
  assert.not.match(text, body.secret)
  assert.not.match(text, 'Not alpha')
  const tokens = (JSON.parse(text) as { tokens: ApiTokenJson[] }).tokens
  assert.ok(tokens.some((t) => t.id === body.token.id && t.name === 'From the API' && t.revokedAt === null))
  assert.ok(tokens.every((t) => !('token_hash' in t) && !('tokenHash' in t)))

  const bad = await session(alpha, 'POST', '/api/v1/api-tokens', { name: 'x', expiresInDays: 400 })
  assert.is(bad.status, 422)
  assert.ok(((await bad.json()) as { error: { fields: Record<string, string> } }).error.fields.expiresInDays)
  assert.is((await session(alpha, 'POST', '/api/v1/api-tokens', undefined)).status, 400)

  // A token may revoke itself: a bearer call without cookies needs no CSRF token.
  const del = await bearer(body.secret, `/api/v1/api-tokens/${body.token.id}`, { method: 'DELETE' })
  assert.is(del.status, 200)
  assert.ok(((await del.json()) as { token: ApiTokenJson }).token.revokedAt)
  assert.is((await bearer(body.secret)).status, 401)
  assert.equal((await tokenAudit(body.token.id)).map((a) => a.action), ['create', 'revoke'])
})

test('admins see and revoke tokens of users they manage; others get 404', async () => {
  const memberId = await seedUser(tree.alphaSubCustomer, 'member@example.com', ['customer_admin'], 'Member')
  const member = await signedIn(rt.app, 'member@example.com')
  const { secret, id } = await makeToken(member, 'Member token')

  // Beta, and a customer admin elsewhere in alpha's tree: 404 on the page and the API, no name.
  const beta = await signedIn(rt.app, ADMIN.beta)
  const other = await signedIn(rt.app, ADMIN.alphaCustomer)
  for (const agent of [beta, other]) {
    const page = await agent.postForm(`/users/tokens/${id}/revoke`, {})
    assert.is(page.status, 404)
    assert.not.match(await page.text(), 'Member token')
    const api = await session(agent, 'DELETE', `/api/v1/api-tokens/${id}`)
    assert.is(api.status, 404)
    assert.not.match(await api.text(), 'Member')
  }
  assert.is((await tokenRow(id)).revoked_at, null)

  // The alpha admin sees it on the member's page (name and hint, never the secret) and revokes it there.
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const detail = await (await alpha.get(`/users/${memberId}`)).text()
  assert.match(detail, 'Member token')
  assert.match(detail, `…${secret.slice(-4)}`)
  assert.not.match(detail, secret)
  assert.match(detail, `action="/users/tokens/${id}/revoke"`)
  const res = await alpha.postForm(`/users/tokens/${id}/revoke`, {})
  assert.is(res.status, 303)
  assert.is(res.headers.get('location'), `/users/${memberId}`)
  assert.is((await bearer(secret)).status, 401)
  const audit = await tokenAudit(id)
  assert.equal(audit.map((a) => a.action), ['create', 'revoke'])
  assert.is(audit[1]!.actor_email, ADMIN.alpha)
  assert.is(audit[1]!.org_id, tree.alphaSubCustomer.id)
})

test('a customer admin cannot revoke the token of a Reseller Admin placed in its organisation', async () => {
  const placedId = await seedUser(tree.alphaCustomer, 'placed-admin@example.com', ['reseller_admin'], 'Placed Admin')
  const { id } = await insertApiToken(db(), { orgId: tree.alphaCustomer.id, userId: placedId, name: 'Placed token', expiresAt: null })
  const customer = await signedIn(rt.app, ADMIN.alphaCustomer)
  const detail = await (await customer.get(`/users/${placedId}`)).text()
  assert.match(detail, 'Placed token')
  assert.not.match(detail, `action="/users/tokens/${id}/revoke"`)
  assert.is((await customer.postForm(`/users/tokens/${id}/revoke`, {})).status, 404)
  assert.is((await tokenRow(id)).revoked_at, null)
  assert.is((await tokenAudit(id)).length, 0)
})

test('guards: an auditor sees the page but cannot make or revoke tokens; bad ids are 404', async () => {
  await seedUser(tree.operator, 'token-auditor@example.com', ['auditor'], 'Token Auditor')
  const auditor = await signedIn(rt.app, 'token-auditor@example.com')
  const page = await auditor.get('/users/tokens')
  assert.is(page.status, 200)
  assert.not.match(await page.text(), 'action="/users/tokens"')
  const before = await tokenCount()
  assert.is((await auditor.postForm('/users/tokens', { name: 'nope', expiresInDays: '' })).status, 403)
  assert.is((await session(auditor, 'POST', '/api/v1/api-tokens', { name: 'nope' })).status, 403)
  assert.is(await tokenCount(), before)
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  for (const id of ['abc', '0', '99999999999']) {
    assert.is((await alpha.postForm(`/users/tokens/${id}/revoke`, {})).status, 404, id)
    assert.is((await session(alpha, 'DELETE', `/api/v1/api-tokens/${id}`)).status, 404, id)
  }
  assert.is((await new Agent(rt.app).get('/users/tokens')).status, 303)
})

test('a token is made for an organisation of the subtree and scoped to it; outside the subtree is 404', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const page = await (await alpha.get('/users/tokens')).text()
  assert.match(page, 'name="orgId"')
  assert.match(page, `<option value="${tree.alphaSubCustomer.id}"`)
  assert.not.match(page, tree.beta.name)
  const res = await alpha.postForm('/users/tokens', { name: 'Customer platform', expiresInDays: '', orgId: String(tree.alphaCustomer.id) })
  assert.is(res.status, 200)
  const secret = SECRET.exec(await res.text())![1]!
  const row = await db().selectFrom('api_tokens').selectAll().where('name', '=', 'Customer platform').executeTakeFirstOrThrow()
  assert.is(row.org_id, tree.alphaCustomer.id)
  assert.is(row.user_id, await userId(ADMIN.alpha))
  assert.is((await tokenAudit(row.id))[0]!.org_id, tree.alphaCustomer.id)
  // The token sees its organisation's subtree only, still with the Reseller Admin's roles.
  const users = ((await (await bearer(secret)).json()) as { users: { email: string }[] }).users.map((u) => u.email)
  assert.ok(users.includes(ADMIN.alphaCustomer))
  assert.not.ok(users.includes(ADMIN.alpha))
  assert.not.ok(users.includes(ADMIN.alphaSubCustomer))
  assert.is((await bearer(secret, `/api/v1/organisations/${tree.alphaSub.id}`)).status, 404)
  assert.is((await bearer(secret, `/api/v1/organisations/${tree.alphaCustomer.id}`)).status, 200)
  const listed = await (await alpha.get('/users/tokens')).text()
  assert.match(listed, tree.alphaCustomer.name)

  for (const orgId of [tree.beta.id, tree.operator.id, 99999999]) {
    const bad = await alpha.postForm('/users/tokens', { name: 'Outside', expiresInDays: '', orgId: String(orgId) })
    assert.is(bad.status, 404, String(orgId))
    assert.not.match(await bad.text(), tree.beta.name)
  }
  assert.is((await alpha.postForm('/users/tokens', { name: 'Junk org', expiresInDays: '', orgId: 'abc' })).status, 422)
  assert.is((await db().selectFrom('api_tokens').select('id').where('name', 'in', ['Outside', 'Junk org']).execute()).length, 0)
})

test('the JSON endpoint takes orgId; a token for alpha cannot see beta; a token whose organisation left the subtree is refused', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const made = await session(alpha, 'POST', '/api/v1/api-tokens', { name: 'Sub platform', orgId: tree.alphaSubCustomer.id })
  assert.is(made.status, 201)
  const body = (await made.json()) as { token: { id: number; orgId: number }; secret: string }
  assert.is(body.token.orgId, tree.alphaSubCustomer.id)
  const outside = await session(alpha, 'POST', '/api/v1/api-tokens', { name: 'Beta platform', orgId: tree.betaCustomer.id })
  assert.is(outside.status, 404)
  assert.not.match(await outside.text(), tree.betaCustomer.name)

  const own = await session(alpha, 'POST', '/api/v1/api-tokens', { name: 'Alpha wide' })
  const alphaSecret = ((await own.json()) as { secret: string }).secret
  assert.is((await bearer(alphaSecret, `/api/v1/organisations/${tree.beta.id}`)).status, 404)
  assert.is((await bearer(alphaSecret, `/api/v1/organisations/${tree.betaCustomer.id}`)).status, 404)
  assert.not.match(await (await bearer(alphaSecret, '/api/v1/organisations')).text(), tree.beta.name)

  assert.is((await bearer(body.secret)).status, 200)
  // The organisation is no longer inside the user's subtree (here: the row points elsewhere): refused.
  await db().updateTable('api_tokens').set({ org_id: tree.beta.id }).where('id', '=', body.token.id).execute()
  assert.is((await bearer(body.secret)).status, 401)
})

test.run()
