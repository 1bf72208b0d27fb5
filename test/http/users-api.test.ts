/**
 * The users JSON API (/api/v1/users): same rules as the pages, with a session (and its CSRF
 * header) or a bearer token; errors as `{ error: { status, message, fields? } }`.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { UserJson } from '../../core/api/users.ts'
import { insertApiToken } from '../../core/auth/tokens.ts'
import type { OrganisationRow } from '../../core/db/schema.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { addRole, addUser, ADMIN, dbLabel, seedTree, systemRoleIds, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`JSON API: users (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
const role: Record<string, number> = {}
let betaRole: { id: number; name: string }
let operatorRole: { id: number; name: string }

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  Object.assign(role, await systemRoleIds(rt.database.db))
  betaRole = await customRole(tree.beta, 'Beta Secret Billing')
  operatorRole = await customRole(tree.operator, 'Operator Night Shift')
})
test.after(async () => { await rt?.dispose() })

const db = () => rt.database.db

async function customRole(org: OrganisationRow, name: string): Promise<{ id: number; name: string }> {
  return { id: await addRole(db(), org.id, name), name }
}

async function seedUser(org: OrganisationRow, email: string, roleIds: number[] = [], name = email): Promise<number> {
  return addUser(db(), org.id, email, { name, roleIds })
}

const userByEmail = (email: string) => db().selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst()
const userCount = async () => Number((await db().selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n)
const rolesOf = async (userId: number) => (await db().selectFrom('user_roles').select('role_id').where('user_id', '=', userId).execute()).map((r) => r.role_id).sort((a, b) => a - b)
const auditOf = (userId: number) => db().selectFrom('audit_log').selectAll().where('subject', '=', 'User').where('subject_id', '=', String(userId)).orderBy('id').execute()

/** A JSON call with a session: the CSRF header and same-origin, as the app's own pages would send. */
async function call(agent: Agent, method: string, path: string, body?: unknown, raw?: string): Promise<Response> {
  const headers: Record<string, string> = { 'x-csrf-token': await agent.csrf('/'), 'sec-fetch-site': 'same-origin' }
  if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json'
  return agent.request(path, { method, headers, ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}) })
}

/** A JSON call with a bearer token and no cookie. */
async function bearer(token: string, method: string, path: string, body?: unknown): Promise<Response> {
  return rt.app.request(path, {
    method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
}

const json = async <T>(res: Response) => (await res.json()) as T
type ErrorJson = { error: { status: number; message: string; fields?: Record<string, string> } }

test('GET /users lists the subtree with visible roles only, filters by org, status and text', async () => {
  // A user of alpha holding a role alpha cannot see (owned by the operator): listed, the role not named.
  await seedUser(tree.alphaSub, 'night@example.com', [role.auditor!, operatorRole.id], 'Night Worker')
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const res = await alpha.get('/api/v1/users')
  assert.is(res.status, 200)
  const text = await res.text()
  assert.not.match(text, operatorRole.name)
  assert.not.match(text, /Beta|beta@|op@test/)
  const { users } = JSON.parse(text) as { users: UserJson[] }
  assert.equal(users.map((u) => u.email).sort(), [ADMIN.alpha, ADMIN.alphaCustomer, ADMIN.alphaSub, ADMIN.alphaSubCustomer, 'night@example.com'].sort())
  const night = users.find((u) => u.email === 'night@example.com')!
  assert.equal(night.roles, [{ id: role.auditor!, name: 'Auditor' }])
  assert.equal(Object.keys(night).sort(), ['createdAt', 'email', 'id', 'lastLoginAt', 'name', 'orgId', 'roles', 'status'])
  assert.is(night.orgId, tree.alphaSub.id)
  assert.is(night.status, 'active')
  assert.is(night.lastLoginAt, null)
  assert.ok(!('password_hash' in night) && !('passwordHash' in night))
  // The operator sees the role, by name.
  const operator = await signedIn(rt.app, ADMIN.operator)
  const all = (await json<{ users: UserJson[] }>(await operator.get('/api/v1/users?q=night'))).users
  assert.equal(all[0]!.roles.map((r) => r.name).sort(), ['Auditor', operatorRole.name])

  const byOrg = (await json<{ users: UserJson[] }>(await alpha.get(`/api/v1/users?org=${tree.alphaSub.id}`))).users
  assert.equal(byOrg.map((u) => u.email).sort(), [ADMIN.alphaSub, 'night@example.com'])
  const byText = (await json<{ users: UserJson[] }>(await alpha.get('/api/v1/users?q=SUB-CUSTOMER&status=active'))).users
  assert.equal(byText.map((u) => u.email), [ADMIN.alphaSubCustomer])
  assert.equal((await json<{ users: UserJson[] }>(await alpha.get('/api/v1/users?status=disabled'))).users, [])
  // Outside the subtree: 404 without the name; nonsense: 422.
  const foreign = await alpha.get(`/api/v1/users?org=${tree.beta.id}`)
  assert.is(foreign.status, 404)
  assert.not.match(await foreign.text(), 'Beta')
  const bad = await alpha.get('/api/v1/users?status=gone')
  assert.is(bad.status, 422)
  assert.ok((await json<ErrorJson>(bad)).error.fields?.status)
})

test('GET /users/:id: 200 inside, 404 outside with no foreign name', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const own = (await userByEmail(ADMIN.alphaCustomer))!
  const res = await alpha.get(`/api/v1/users/${own.id}`)
  assert.is(res.status, 200)
  const { user } = await json<{ user: UserJson }>(res)
  assert.is(user.email, ADMIN.alphaCustomer)
  assert.equal(user.roles, [{ id: role.customer_admin!, name: 'Customer Admin' }])
  const beta = (await userByEmail(ADMIN.betaCustomer))!
  for (const id of [beta.id, 'abc', '99999999999', '0']) {
    const miss = await alpha.get(`/api/v1/users/${id}`)
    assert.is(miss.status, 404, String(id))
    const text = await miss.text()
    assert.not.match(text, /Beta|beta-customer/)
    assert.is((JSON.parse(text) as ErrorJson).error.status, 404)
  }
})

test('POST /users with a generated password: 201, the password once, and it signs in', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const res = await call(alpha, 'POST', '/api/v1/users', { email: 'Api.User@Example.com', name: 'Api User', orgId: tree.alphaCustomer.id, roleIds: [role.customer_admin] })
  assert.is(res.status, 201)
  const body = await json<{ user: UserJson; password: string }>(res)
  assert.is(body.user.email, 'api.user@example.com')
  assert.is(body.user.orgId, tree.alphaCustomer.id)
  assert.equal(body.user.roles, [{ id: role.customer_admin!, name: 'Customer Admin' }])
  assert.type(body.password, 'string')
  const login = new Agent(rt.app)
  assert.is((await login.login('api.user@example.com', body.password)).status, 303)
  // Not kept anywhere it could be read back.
  assert.not.match(JSON.stringify(await (await alpha.get(`/api/v1/users/${body.user.id}`)).json()), body.password)
  assert.not.match(JSON.stringify(await db().selectFrom('audit_log').selectAll().execute()), body.password)
  assert.not.match(JSON.stringify(rt.logs), body.password)
  const audit = await auditOf(body.user.id)
  assert.equal(audit.map((a) => a.action), ['create'])
})

test('POST /users with a typed password answers no password; a bearer token works the same', async () => {
  const alphaId = (await userByEmail(ADMIN.alpha))!.id
  const { token } = await insertApiToken(db(), { orgId: tree.alpha.id, userId: alphaId, name: 'script', expiresAt: null })
  const res = await bearer(token, 'POST', '/api/v1/users', { email: 'typed@example.com', name: 'Typed', orgId: tree.alphaSub.id, roleIds: [], password: 'typed password 123' })
  assert.is(res.status, 201)
  const body = await json<{ user: UserJson; password?: string }>(res)
  assert.ok(!('password' in body))
  assert.is((await new Agent(rt.app).login('typed@example.com', 'typed password 123')).status, 303)
  const audit = await auditOf(body.user.id)
  assert.is(audit[0]!.actor_email, ADMIN.alpha)
})

test('POST /users errors: duplicate 409, bad fields 422, malformed JSON 400, no CSRF 403; nothing created', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const before = await userCount()
  const dup = await call(alpha, 'POST', '/api/v1/users', { email: ADMIN.alphaSub.toUpperCase(), name: 'Dup', orgId: tree.alpha.id })
  assert.is(dup.status, 409)
  const dupBody = await json<ErrorJson>(dup)
  assert.is(dupBody.error.status, 409)
  assert.ok(dupBody.error.fields?.email)

  const bad = await call(alpha, 'POST', '/api/v1/users', { email: 'nope', name: '', orgId: 'x', roleIds: 'all', password: 'short' })
  assert.is(bad.status, 422)
  const fields = (await json<ErrorJson>(bad)).error.fields!
  for (const key of ['email', 'name', 'orgId', 'roleIds']) assert.ok(fields[key], key)
  const short = await call(alpha, 'POST', '/api/v1/users', { email: 'short@example.com', name: 'Short', orgId: tree.alpha.id, password: 'short' })
  assert.is(short.status, 422)
  assert.ok((await json<ErrorJson>(short)).error.fields?.password)

  for (const raw of ['{"email":', '[1,2]', 'null', '']) {
    const res = await call(alpha, 'POST', '/api/v1/users', undefined, raw)
    assert.is(res.status, 400, JSON.stringify(raw))
    assert.is((await json<ErrorJson>(res)).error.status, 400)
  }
  const noCsrf = await alpha.request('/api/v1/users', {
    method: 'POST', body: JSON.stringify({ email: 'csrf@example.com', name: 'C', orgId: tree.alpha.id }), headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
  })
  assert.is(noCsrf.status, 403)
  const foreign = await call(alpha, 'POST', '/api/v1/users', { email: 'spy@example.com', name: 'Spy', orgId: tree.beta.id })
  assert.is(foreign.status, 422)
  assert.not.match(await foreign.text(), 'Beta')
  assert.is(await userCount(), before)
})

test('roles over the API: managed roles work; Super Administrator, foreign and unmanaged roles are refused without names', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const before = await userCount()
  for (const roleId of [role.super_admin!, betaRole.id, operatorRole.id]) {
    const res = await call(alpha, 'POST', '/api/v1/users', { email: `r${roleId}@example.com`, name: 'R', orgId: tree.alphaCustomer.id, roleIds: [roleId] })
    assert.is(res.status, 403, `role ${roleId}`)
    const text = await res.text()
    assert.not.match(text, betaRole.name)
    assert.not.match(text, operatorRole.name)
  }
  assert.is(await userCount(), before)

  const id = await seedUser(tree.alphaCustomer, 'patch-me@example.com', [], 'Patch Me')
  const ok = await call(alpha, 'PATCH', `/api/v1/users/${id}`, { name: 'Patched', roleIds: [role.customer_admin], orgId: tree.beta.id, org_id: tree.alphaSub.id, email: 'x@example.com', status: 'disabled' })
  assert.is(ok.status, 200)
  const { user } = await json<{ user: UserJson }>(ok)
  assert.is(user.name, 'Patched')
  assert.is(user.email, 'patch-me@example.com')
  assert.is(user.orgId, tree.alphaCustomer.id)
  assert.is(user.status, 'active')
  assert.equal(await rolesOf(id), [role.customer_admin!])
  for (const roleIds of [[role.super_admin], [betaRole.id], [operatorRole.id]]) {
    const res = await call(alpha, 'PATCH', `/api/v1/users/${id}`, { roleIds })
    assert.is(res.status, 403)
    assert.not.match(await res.text(), /Beta Secret|Night Shift/)
  }
  assert.equal(await rolesOf(id), [role.customer_admin!])
  // A customer admin manages Customer Admin and Auditor only.
  const customer = await signedIn(rt.app, ADMIN.alphaCustomer)
  assert.is((await call(customer, 'PATCH', `/api/v1/users/${id}`, { roleIds: [role.reseller_admin] })).status, 403)
  assert.is((await call(customer, 'PATCH', `/api/v1/users/${id}`, { roleIds: [role.auditor] })).status, 200)
  assert.equal(await rolesOf(id), [role.auditor!])
  assert.equal((await auditOf(id)).map((a) => a.action), ['update', 'assign', 'assign'])
})

test('disable, enable and password over the API; self and unmanaged targets are 403, foreign ones 404', async () => {
  const id = await seedUser(tree.alphaCustomer, 'api-target@example.com', [role.auditor!], 'Api Target')
  const target = await signedIn(rt.app, 'api-target@example.com')
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const off = await call(alpha, 'POST', `/api/v1/users/${id}/disable`)
  assert.is(off.status, 200)
  assert.is((await json<{ user: UserJson }>(off)).user.status, 'disabled')
  assert.is((await target.get('/api/v1/users')).status, 401)
  assert.is((await call(alpha, 'POST', `/api/v1/users/${id}/enable`)).status, 200)
  assert.is((await new Agent(rt.app).login('api-target@example.com')).status, 303)

  const generated = await call(alpha, 'POST', `/api/v1/users/${id}/password`)
  assert.is(generated.status, 200)
  const { password } = await json<{ password: string }>(generated)
  assert.is((await new Agent(rt.app).login('api-target@example.com', password)).status, 303)
  const typed = await call(alpha, 'POST', `/api/v1/users/${id}/password`, { password: 'typed over the api' })
  assert.is(typed.status, 200)
  assert.equal(await json(typed), {})
  assert.is((await new Agent(rt.app).login('api-target@example.com', 'typed over the api')).status, 303)
  assert.is((await call(alpha, 'POST', `/api/v1/users/${id}/password`, { password: 'short' })).status, 422)
  assert.equal((await auditOf(id)).map((a) => a.action), ['disable', 'enable', 'reset-password', 'reset-password'])

  const self = (await userByEmail(ADMIN.alpha))!
  const selfRes = await call(alpha, 'POST', `/api/v1/users/${self.id}/disable`)
  assert.is(selfRes.status, 403)
  assert.match((await json<ErrorJson>(selfRes)).error.message, 'Your own account')
  assert.is((await userByEmail(ADMIN.alpha))!.status, 'active')

  const placed = await seedUser(tree.alphaCustomer, 'placed@example.com', [role.reseller_admin!], 'Placed')
  const customer = await signedIn(rt.app, ADMIN.alphaCustomer)
  for (const [method, path] of [['POST', `/api/v1/users/${placed}/password`], ['POST', `/api/v1/users/${placed}/disable`], ['PATCH', `/api/v1/users/${placed}`]] as const) {
    assert.is((await call(customer, method, path, method === 'PATCH' ? { name: 'x' } : undefined)).status, 403, path)
  }
  assert.is((await userByEmail('placed@example.com'))!.status, 'active')
  assert.is((await auditOf(placed)).length, 0)

  const beta = await signedIn(rt.app, ADMIN.beta)
  for (const [method, path] of [['POST', `/api/v1/users/${id}/disable`], ['POST', `/api/v1/users/${id}/password`], ['PATCH', `/api/v1/users/${id}`]] as const) {
    const res = await call(beta, method, path, method === 'PATCH' ? { name: 'x' } : undefined)
    assert.is(res.status, 404, path)
    assert.not.match(await res.text(), /Api Target|api-target|Alpha/)
  }
  assert.is((await userByEmail('api-target@example.com'))!.name, 'Api Target')
})

test('without credentials the API answers 401 JSON; an auditor reads but cannot write', async () => {
  const anon = await rt.app.request('/api/v1/users')
  assert.is(anon.status, 401)
  assert.is((await json<ErrorJson>(anon)).error.status, 401)
  await seedUser(tree.operator, 'api-auditor@example.com', [role.auditor!], 'Api Auditor')
  const auditor = await signedIn(rt.app, 'api-auditor@example.com')
  assert.is((await auditor.get('/api/v1/users')).status, 200)
  const before = await userCount()
  assert.is((await call(auditor, 'POST', '/api/v1/users', { email: 'a@example.com', name: 'A', orgId: tree.operator.id })).status, 403)
  assert.is(await userCount(), before)
})

test.run()
