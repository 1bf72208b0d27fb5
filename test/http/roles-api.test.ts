import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ACTIONS } from '../../core/access/catalogue.ts'
import type { RoleJson } from '../../core/api/roles.ts'
import { hashPassword } from '../../core/auth/password.ts'
import { insertApiToken } from '../../core/auth/tokens.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { ADMIN, dbLabel, seedTree, testRuntime, TEST_PASSWORD, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`JSON API: roles (${dbLabel})`)
let rt: TestRuntime
let tree: Tree

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
})
test.after(async () => { await rt?.dispose() })

// ---- callers ------------------------------------------------------------------------------------

type Call = (method: string, path: string, body?: unknown, raw?: string) => Promise<Response>

/** A signed-in browser session calling the API with the CSRF header, as htmx or fetch would. */
async function sessionCaller(email: string): Promise<Call> {
  const agent = await signedIn(rt.app, email)
  const csrf = await agent.csrf('/')
  return (method, path, body, raw) => agent.request(path, {
    method,
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf, 'sec-fetch-site': 'same-origin', accept: 'application/json' },
    ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
}

/** A script with an API token: no cookie, no CSRF token. */
function bearerCaller(token: string): Call {
  return async (method, path, body, raw) => rt.app.request(path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
}

async function userId(email: string): Promise<number> {
  return (await rt.database.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id
}

async function tokenFor(email: string, org: keyof Tree): Promise<string> {
  return (await insertApiToken(rt.database.db, { orgId: tree[org].id, userId: await userId(email), name: `Token of ${email}`, expiresAt: null })).token
}

async function systemRoleId(key: string): Promise<number> {
  return (await rt.database.db.selectFrom('roles').select('id').where('system_key', '=', key).executeTakeFirstOrThrow()).id
}

async function listRoles(call: Call): Promise<RoleJson[]> {
  const res = await call('GET', '/api/v1/roles')
  assert.is(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /application\/json/)
  return ((await res.json()) as { roles: RoleJson[] }).roles
}

async function storedRole(id: number) {
  return rt.database.db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst()
}

async function storedPermissions(id: number): Promise<string[]> {
  return (await rt.database.db.selectFrom('role_permissions').select(['subject', 'action']).where('role_id', '=', id).execute()).map((p) => `${p.subject}:${p.action}`).sort()
}

async function roleCount(): Promise<number> {
  return Number((await rt.database.db.selectFrom('roles').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n)
}

async function auditCount(action: string, roleId: number): Promise<number> {
  const rows = await rt.database.db.selectFrom('audit_log').select('id').where('subject', '=', 'Role').where('action', '=', action).where('subject_id', '=', String(roleId)).execute()
  return rows.length
}

const errorOf = async (res: Response) => ((await res.json()) as { error: { status: number; message: string; fields?: Record<string, string> } }).error

// ---- tests --------------------------------------------------------------------------------------

test('the permission catalogue: the actions and every subject with its actions', async () => {
  const call = await sessionCaller(ADMIN.alphaCustomer)
  const res = await call('GET', '/api/v1/permissions')
  assert.is(res.status, 200)
  const body = (await res.json()) as { actions: string[]; subjects: { subject: string; label: string; actions: string[] }[] }
  assert.equal(body.actions, [...ACTIONS])
  assert.equal(body.subjects.map((s) => s.subject).slice(0, 5), ['Organisation', 'User', 'Role', 'ApiToken', 'AuditLog'])
  assert.equal(body.subjects.find((s) => s.subject === 'AuditLog'), { subject: 'AuditLog', label: 'Audit log', actions: ['read', 'export'] })
})

test('the list as a Customer Admin: system roles, flags, permissions and what it manages', async () => {
  const roles = await listRoles(await sessionCaller(ADMIN.alphaCustomer))
  const byKey = new Map(roles.map((r) => [r.systemKey, r]))
  const customerAdmin = byKey.get('customer_admin')!
  assert.is(customerAdmin.system, true)
  assert.is(customerAdmin.ownerOrgId, null)
  assert.is(customerAdmin.managesAll, false)
  assert.equal(customerAdmin.permissions, ['ApiToken:manage', 'User:manage', 'all:export', 'all:read'])
  assert.equal(customerAdmin.managedRoleIds, [await systemRoleId('customer_admin'), await systemRoleId('auditor')].sort((a, b) => a - b))
  assert.is(customerAdmin.userCount, 1) // only the admin of its own customer, not alpha's other customers
  assert.is(customerAdmin.manageable, true)
  assert.is(byKey.get('auditor')!.manageable, true)
  assert.is(byKey.get('reseller_admin')!.manageable, false)
  assert.is(byKey.get('super_admin')!.manageable, false)
})

test('create, read, update and delete with a session (CSRF header), each audited', async () => {
  const call = await sessionCaller(ADMIN.alpha)
  const auditor = await systemRoleId('auditor')
  const created = await call('POST', '/api/v1/roles', {
    name: 'Billing Clerk', description: 'Reads customers', permissions: ['Organisation:read', 'User:read'], manages: 'list', managedRoleIds: [auditor],
  })
  assert.is(created.status, 201)
  const role = ((await created.json()) as { role: RoleJson }).role
  assert.is(role.name, 'Billing Clerk')
  assert.is(role.ownerOrgId, tree.alpha.id)
  assert.is(role.system, false)
  assert.equal(role.permissions, ['Organisation:read', 'User:read'])
  assert.equal(role.managedRoleIds, [auditor])
  assert.is(role.manageable, true)
  assert.is((await storedRole(role.id))!.org_id, tree.alpha.id)
  assert.is(await auditCount('create', role.id), 1)

  const one = await call('GET', `/api/v1/roles/${role.id}`)
  assert.is(one.status, 200)
  assert.equal(((await one.json()) as { role: RoleJson }).role, role)

  const updated = await call('PUT', `/api/v1/roles/${role.id}`, { name: 'Billing Clerk', permissions: ['Organisation:read'], manages: 'list', managedRoleIds: [] })
  assert.is(updated.status, 200)
  const after = ((await updated.json()) as { role: RoleJson }).role
  assert.equal(after.permissions, ['Organisation:read'])
  assert.equal(after.managedRoleIds, [])
  assert.is(after.description, '')
  assert.equal(await storedPermissions(role.id), ['Organisation:read'])
  assert.is(await auditCount('update', role.id), 1)

  const deleted = await call('DELETE', `/api/v1/roles/${role.id}`)
  assert.is(deleted.status, 200)
  assert.equal(await deleted.json(), { deleted: true, reassigned: 0 })
  assert.is(await storedRole(role.id), undefined)
  assert.is(await auditCount('delete', role.id), 1)
})

test('a session call without the CSRF header is refused', async () => {
  const agent: Agent = await signedIn(rt.app, ADMIN.alpha)
  const before = await roleCount()
  const res = await agent.request('/api/v1/roles', { method: 'POST', headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' }, body: JSON.stringify({ name: 'No token' }) })
  assert.is(res.status, 403)
  assert.is(await roleCount(), before)
})

test('the same with a bearer token: create, update, delete with reassignment; a bad token is 401', async () => {
  const call = bearerCaller(await tokenFor(ADMIN.alpha, 'alpha'))
  const a = ((await (await call('POST', '/api/v1/roles', { name: 'Token Role A', permissions: ['User:read'] })).json()) as { role: RoleJson }).role
  const b = ((await (await call('POST', '/api/v1/roles', { name: 'Token Role B', permissions: ['User:read', 'Organisation:read'] })).json()) as { role: RoleJson }).role
  assert.is(a.ownerOrgId, tree.alpha.id)
  const names = (await listRoles(call)).map((r) => r.name)
  assert.ok(names.includes('Token Role A') && names.includes('Token Role B'))

  const renamed = await call('PUT', `/api/v1/roles/${a.id}`, { name: 'Token Role A2', permissions: ['User:read'] })
  assert.is(renamed.status, 200)
  assert.is((await storedRole(a.id))!.name, 'Token Role A2')

  const holder = await userId(ADMIN.alphaSub)
  await rt.database.db.insertInto('user_roles').values({ user_id: holder, role_id: a.id }).execute()
  const held = await call('DELETE', `/api/v1/roles/${a.id}`)
  assert.is(held.status, 409)
  assert.match((await errorOf(held)).message, '1 user holds this role')
  assert.ok(await storedRole(a.id))
  const badTarget = await call('DELETE', `/api/v1/roles/${a.id}?reassignTo=abc`)
  assert.is(badTarget.status, 422)
  const moved = await call('DELETE', `/api/v1/roles/${a.id}?reassignTo=${b.id}`)
  assert.is(moved.status, 200)
  assert.equal(await moved.json(), { deleted: true, reassigned: 1 })
  const roles = (await rt.database.db.selectFrom('user_roles').select('role_id').where('user_id', '=', holder).execute()).map((r) => r.role_id)
  assert.ok(roles.includes(b.id) && !roles.includes(a.id))
  assert.is(await auditCount('delete', a.id), 1)

  const bad = await rt.app.request('/api/v1/roles', { headers: { authorization: 'Bearer llt_not-a-real-token-not-a-real-token-not-a-re' } })
  assert.is(bad.status, 401)
  assert.is((await errorOf(bad)).status, 401)
})

test('malformed JSON is 400, invalid fields 422 with per-field messages, a name clash 409', async () => {
  const call = await sessionCaller(ADMIN.alpha)
  const before = await roleCount()
  const malformed = await call('POST', '/api/v1/roles', undefined, '{"name": ')
  assert.is(malformed.status, 400)
  assert.match((await errorOf(malformed)).message, 'not valid JSON')
  const invalid = await call('POST', '/api/v1/roles', { name: '', permissions: ['not a pair'], manages: 'some' })
  assert.is(invalid.status, 422)
  const fields = (await errorOf(invalid)).fields!
  assert.ok(fields.name && fields.permissions && fields.manages, JSON.stringify(fields))
  const notObject = await call('POST', '/api/v1/roles', [1, 2])
  assert.is(notObject.status, 400)
  assert.match((await errorOf(notObject)).message, 'must be a JSON object')
  const unknown = await call('POST', '/api/v1/roles', { name: 'Unknown', permissions: ['Widget:read'] })
  assert.is(unknown.status, 422)
  assert.is(await roleCount(), before)
  assert.is((await call('POST', '/api/v1/roles', { name: 'Clash', permissions: [] })).status, 201)
  const clash = await call('POST', '/api/v1/roles', { name: 'CLASH', permissions: [] })
  assert.is(clash.status, 409)
  assert.ok((await errorOf(clash)).fields!.name)
})

test('escalation through the API: 403 and nothing stored; extra keys cannot move a role elsewhere', async () => {
  const db = rt.database.db
  const viewer = await db.insertInto('roles').values({ org_id: tree.alpha.id, name: 'API Viewer' }).returning('id').executeTakeFirstOrThrow()
  await db.insertInto('role_permissions').values({ role_id: viewer.id, subject: 'Organisation', action: 'read' }).execute()
  const limited = await db.insertInto('roles').values({ org_id: tree.alpha.id, name: 'API Limited Admin' }).returning('id').executeTakeFirstOrThrow()
  await db.insertInto('role_permissions').values(['read', 'create', 'update', 'delete'].map((action) => ({ role_id: limited.id, subject: 'Role', action }))
    .concat([{ role_id: limited.id, subject: 'Organisation', action: 'read' }])).execute()
  await db.insertInto('role_manages').values({ role_id: limited.id, managed_role_id: viewer.id }).execute()
  const user = await db.insertInto('users').values({ org_id: tree.alpha.id, email: 'limited@test.example', name: 'Limited', password_hash: await hashPassword(TEST_PASSWORD) }).returning('id').executeTakeFirstOrThrow()
  await db.insertInto('user_roles').values({ user_id: user.id, role_id: limited.id }).execute()
  const call = bearerCaller((await insertApiToken(db, { orgId: tree.alpha.id, userId: user.id, name: 'limited', expiresAt: null })).token)

  const before = await roleCount()
  for (const body of [
    { name: 'Escalated', permissions: ['Organisation:read', 'User:read'] },
    { name: 'Escalated', permissions: ['all:manage'] },
    { name: 'Escalated', permissions: ['Organisation:read'], managedRoleIds: [await systemRoleId('auditor')] },
    { name: 'Escalated', permissions: ['Organisation:read'], manages: 'all' },
  ]) {
    const res = await call('POST', '/api/v1/roles', body)
    assert.is(res.status, 403, JSON.stringify(body))
    assert.is((await errorOf(res)).status, 403)
  }
  assert.is(await roleCount(), before)

  // Reseller Admin is visible but not managed by this user: it cannot be edited or deleted.
  const reseller = await systemRoleId('reseller_admin')
  assert.is((await call('PUT', `/api/v1/roles/${reseller}`, { name: 'Reseller Admin', permissions: [] })).status, 403)
  assert.is((await call('DELETE', `/api/v1/roles/${reseller}`)).status, 403)
  assert.equal(await storedPermissions(reseller), ['all:manage'])

  const placed = await call('POST', '/api/v1/roles', { name: 'API Placed', permissions: ['Organisation:read'], managedRoleIds: [viewer.id], orgId: tree.beta.id, org_id: tree.beta.id, ownerOrgId: tree.operator.id })
  assert.is(placed.status, 201)
  const role = ((await placed.json()) as { role: RoleJson }).role
  assert.is((await storedRole(role.id))!.org_id, tree.alpha.id)
  assert.equal(role.managedRoleIds, [viewer.id])
  // Editing a role it manages: it may not add a permission it lacks either.
  assert.is((await call('PUT', `/api/v1/roles/${role.id}`, { name: 'API Placed', permissions: ['Organisation:read', 'AuditLog:read'] })).status, 403)
  assert.equal(await storedPermissions(role.id), ['Organisation:read'])
})

test('isolation: beta cannot see alpha\'s custom role in the list or by id; malformed ids are 404', async () => {
  const alphaRole = await rt.database.db.selectFrom('roles').select(['id', 'name']).where('name', '=', 'API Viewer').executeTakeFirstOrThrow()
  for (const call of [await sessionCaller(ADMIN.beta), bearerCaller(await tokenFor(ADMIN.beta, 'beta'))]) {
    const res = await call('GET', '/api/v1/roles')
    const text = await res.text()
    assert.is(res.status, 200)
    for (const name of ['API Viewer', 'Billing Clerk', 'Token Role B', 'Clash', 'Alpha']) assert.not.ok(text.includes(name), name)
    for (const id of [String(alphaRole.id), 'abc', '0', '99999999999', '2147483648']) {
      const one = await call('GET', `/api/v1/roles/${id}`)
      assert.is(one.status, 404, id)
      assert.not.ok((await one.text()).includes('API Viewer'))
    }
    assert.is((await call('PUT', `/api/v1/roles/${alphaRole.id}`, { name: 'Taken', permissions: [] })).status, 404)
    assert.is((await call('DELETE', `/api/v1/roles/${alphaRole.id}`)).status, 404)
  }
  assert.ok(await storedRole(alphaRole.id))
})

test('a role shared from above has no owner id; guards answer 403 JSON', async () => {
  const db = rt.database.db
  const shared = await db.insertInto('roles').values({ org_id: tree.operator.id, name: 'Operator Shared' }).returning('id').executeTakeFirstOrThrow()
  await db.insertInto('role_permissions').values({ role_id: shared.id, subject: 'User', action: 'read' }).execute()
  const lister = await db.insertInto('roles').values({ org_id: tree.operator.id, name: 'Operator Lister' }).returning('id').executeTakeFirstOrThrow()
  await db.insertInto('role_permissions').values([{ role_id: lister.id, subject: 'Role', action: 'read' }, { role_id: lister.id, subject: 'User', action: 'read' }]).execute()
  await db.insertInto('role_manages').values({ role_id: lister.id, managed_role_id: shared.id }).execute()
  const user = await db.insertInto('users').values({ org_id: tree.beta.id, email: 'lister@test.example', name: 'Lister', password_hash: 'x' }).returning('id').executeTakeFirstOrThrow()
  await db.insertInto('user_roles').values({ user_id: user.id, role_id: lister.id }).execute()
  const call = bearerCaller((await insertApiToken(db, { orgId: tree.beta.id, userId: user.id, name: 'lister', expiresAt: null })).token)

  const roles = await listRoles(call)
  const seen = roles.find((r) => r.id === shared.id)!
  assert.is(seen.ownerOrgId, null)
  assert.is(seen.system, false)
  assert.is(seen.manageable, true)
  assert.not.ok(roles.some((r) => r.id === lister.id))
  const post = await call('POST', '/api/v1/roles', { name: 'Nope', permissions: [] })
  assert.is(post.status, 403)
  assert.is((await errorOf(post)).status, 403)

  const nobody = await db.insertInto('users').values({ org_id: tree.beta.id, email: 'nobody@test.example', name: 'Nobody', password_hash: 'x' }).returning('id').executeTakeFirstOrThrow()
  const none = bearerCaller((await insertApiToken(db, { orgId: tree.beta.id, userId: nobody.id, name: 'nobody', expiresAt: null })).token)
  assert.is((await none('GET', '/api/v1/roles')).status, 403)
  assert.is((await none('GET', '/api/v1/permissions')).status, 403)
})

test.run()
