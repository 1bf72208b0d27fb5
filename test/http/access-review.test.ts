/**
 * Regressions from the security review of access control: what happens to custom roles and
 * audit history when an organisation moves to another reseller, which delegated roles a caller
 * may see, role ids in the audit log, NUL bytes in input, and CSRF on every unsafe route.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { AuditEntryJson } from '../../core/api/audit.ts'
import type { RoleJson } from '../../core/api/roles.ts'
import type { OrganisationRow } from '../../core/db/schema.ts'
import { insertOrganisation } from '../../core/tenancy/organisations.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { ADMIN, dbLabel, seedTree, testRuntime, TEST_PASSWORD, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`access review regressions (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let auditorRole: number

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  auditorRole = (await db().selectFrom('roles').select('id').where('system_key', '=', 'auditor').executeTakeFirstOrThrow()).id
})
test.after(async () => { await rt?.dispose() })

const db = () => rt.database.db

/** A JSON call with a session: the CSRF header and same-origin, as the app's own pages send. */
async function call(agent: Agent, method: string, path: string, body?: unknown, raw?: string): Promise<Response> {
  const headers: Record<string, string> = { 'x-csrf-token': await agent.csrf('/'), 'sec-fetch-site': 'same-origin' }
  if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json'
  return agent.request(path, { method, headers, ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}) })
}

async function json<T>(res: Response, status: number): Promise<T> {
  const text = await res.text()
  assert.is(res.status, status, text.slice(0, 300))
  return JSON.parse(text) as T
}

async function createRole(agent: Agent, body: Record<string, unknown>): Promise<number> {
  return (await json<{ role: RoleJson }>(await call(agent, 'POST', '/api/v1/roles', body), 201)).role.id
}

async function createUser(agent: Agent, org: OrganisationRow, email: string, roleIds: number[]): Promise<number> {
  const body = { name: email, email, orgId: org.id, roleIds, password: TEST_PASSWORD }
  return (await json<{ user: { id: number } }>(await call(agent, 'POST', '/api/v1/users', body), 201)).user.id
}

/** The operator moves `org` under `parent` through the organisation form. */
async function move(org: OrganisationRow, parent: OrganisationRow): Promise<void> {
  const op = await signedIn(rt.app, ADMIN.operator)
  const res = await op.postForm(`/organisations/${org.id}`, { name: org.name, parentId: String(parent.id), currency: org.currency, status: org.status, billingEmail: '' })
  assert.is(res.status, 303)
  const moved = await db().selectFrom('organisations').select('parent_id').where('id', '=', org.id).executeTakeFirstOrThrow()
  assert.is(moved.parent_id, parent.id)
}

const rolesOf = async (userId: number) => (await db().selectFrom('user_roles').select('role_id').where('user_id', '=', userId).execute()).map((r) => r.role_id)

// ---- a moved organisation --------------------------------------------------------------------

test('a custom role stops working once its holder\'s organisation moves out of the owner\'s subtree', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const shop = await insertOrganisation(db(), tree.alpha, { kind: 'customer', name: 'Moving Shop One' })
  const roleId = await createRole(alpha, { name: 'Alpha Org Reader', permissions: ['Organisation:read'] })
  await createUser(alpha, shop, 'mover-one@test.example', [roleId])
  const clerk = await signedIn(rt.app, 'mover-one@test.example')
  assert.is((await clerk.get('/api/v1/organisations')).status, 200)

  await move(shop, tree.beta)
  // Alpha's role says nothing in beta's subtree: the clerk holds no role in effect there.
  const after = await clerk.get('/api/v1/organisations')
  assert.is(after.status, 403)
  assert.not.match(await after.text(), /Moving Shop One|Alpha/)
})

test('deleting a role touches no holder outside the caller\'s subtree: not counted, not reassigned', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const shop = await insertOrganisation(db(), tree.alpha, { kind: 'customer', name: 'Moving Shop Two' })
  const roleId = await createRole(alpha, { name: 'Alpha Org Reader Two', permissions: ['Organisation:read'] })
  const clerkId = await createUser(alpha, shop, 'mover-two@test.example', [roleId])
  await move(shop, tree.beta)

  // Without a replacement: no "1 user holds this role" about a user alpha cannot see.
  const res = await call(alpha, 'DELETE', `/api/v1/roles/${roleId}?reassignTo=${auditorRole}`)
  const body = await json<{ deleted: boolean; reassigned: number }>(res, 200)
  assert.equal(body, { deleted: true, reassigned: 0 })
  // Beta's user was not given the Auditor role by alpha; the dead assignment went with the role.
  assert.equal(await rolesOf(clerkId), [])
  assert.is(await db().selectFrom('roles').select('id').where('id', '=', roleId).executeTakeFirst(), undefined)
  const audit = await db().selectFrom('audit_log').select(['summary', 'after']).where('subject', '=', 'Role').where('action', '=', 'delete')
    .where('subject_id', '=', String(roleId)).executeTakeFirstOrThrow()
  assert.not.match(audit.summary, /user/)
  assert.is(audit.after, null)
})

test('after a move, no summary names the organisation the row came from (page, JSON and CSV)', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const created = await alpha.postForm('/organisations', { name: 'Gamma Shop', kind: 'customer', parentId: String(tree.alpha.id), currency: 'EUR', status: 'active', billingEmail: '' })
  assert.is(created.status, 303)
  const gamma = await db().selectFrom('organisations').selectAll().where('name', '=', 'Gamma Shop').executeTakeFirstOrThrow() as OrganisationRow
  await move(gamma, tree.beta)

  const beta = await signedIn(rt.app, ADMIN.beta)
  const { entries } = await json<{ entries: AuditEntryJson[] }>(await beta.get('/api/v1/audit-log?subject=Organisation'), 200)
  const creation = entries.find((e) => e.orgId === gamma.id && e.action === 'create')
  assert.ok(creation, 'beta sees the creation of its new customer')
  assert.is(creation.summary, 'Customer "Gamma Shop" created under another organisation')
  for (const path of ['/api/v1/audit-log', '/audit', '/audit/export.csv']) {
    const res = await beta.get(path)
    assert.is(res.status, 200, path)
    assert.not.match(await res.text(), /Alpha Reseller/, path)
  }
  // A reader below still sees its own provider masked as before, and names in scope stay.
  const alphaView = await json<{ entries: AuditEntryJson[] }>(await alpha.get('/api/v1/audit-log?subject=Organisation'), 200)
  assert.not.ok(alphaView.entries.some((e) => e.orgId === gamma.id), 'the moved customer left alpha\'s log')
})

// ---- delegated roles and role ids --------------------------------------------------------------

test('a role listed as managed is not shown where it could never be given (a sibling\'s role)', async () => {
  const op = await signedIn(rt.app, ADMIN.operator)
  const clerkRole = (await db().insertInto('roles').values({ org_id: tree.alphaCustomer.id, name: 'Alpha Customer Clerk' }).returning('id').executeTakeFirstOrThrow()).id
  await db().insertInto('role_permissions').values({ role_id: clerkRole, subject: 'Organisation', action: 'read' }).execute()
  const helpdesk = await createRole(op, { name: 'Helpdesk', permissions: ['Organisation:read', 'Role:read', 'User:read'], managedRoleIds: [clerkRole] })
  await createUser(op, tree.betaCustomer, 'helpdesk@test.example', [helpdesk])

  const agent = await signedIn(rt.app, 'helpdesk@test.example')
  const res = await agent.get('/api/v1/roles')
  const text = await res.text()
  assert.is(res.status, 200)
  assert.not.match(text, /Alpha Customer Clerk/)
  const roles = (JSON.parse(text) as { roles: RoleJson[] }).roles
  assert.not.ok(roles.some((r) => r.id === clerkRole))
  assert.not.match(await (await agent.get('/roles')).text(), /Alpha Customer Clerk/)
  assert.is((await agent.get(`/roles/${clerkRole}`)).status, 404)
  assert.is((await agent.get(`/api/v1/roles/${clerkRole}`)).status, 404)
  // Where it can be given (in its owner's organisation) it still shows.
  await createUser(op, tree.alphaCustomer, 'helpdesk-alpha@test.example', [helpdesk])
  const inside = await signedIn(rt.app, 'helpdesk-alpha@test.example')
  assert.match(await (await inside.get('/api/v1/roles')).text(), /Alpha Customer Clerk/)
})

test('the audit log shows null, not the id, for a role the reader cannot see', async () => {
  const op = await signedIn(rt.app, ADMIN.operator)
  const nightShift = await createRole(op, { name: 'Operator Night Shift', permissions: ['Organisation:read'] })
  const userId = await createUser(op, tree.alphaSubCustomer, 'night@test.example', [nightShift, auditorRole])
  // A role owned below, changed by the operator to manage the operator's own role.
  const local = (await db().insertInto('roles').values({ org_id: tree.alphaSubCustomer.id, name: 'Sub Customer Local' }).returning('id').executeTakeFirstOrThrow()).id
  await db().insertInto('role_permissions').values({ role_id: local, subject: 'Organisation', action: 'read' }).execute()
  assert.is((await call(op, 'PUT', `/api/v1/roles/${local}`, { name: 'Sub Customer Local', permissions: ['Organisation:read'], managedRoleIds: [nightShift] })).status, 200)

  const reader = await signedIn(rt.app, ADMIN.alphaSubCustomer)
  const { entries } = await json<{ entries: AuditEntryJson[] }>(await reader.get('/api/v1/audit-log'), 200)
  const created = entries.find((e) => e.subject === 'User' && e.subjectId === String(userId) && e.action === 'create')
  assert.ok(created)
  assert.equal((created.after as { roleIds: unknown[] }).roleIds, [auditorRole, null])
  const changed = entries.find((e) => e.subject === 'Role' && e.subjectId === String(local) && e.action === 'update')
  assert.ok(changed)
  assert.equal((changed.after as { managedRoleIds: unknown[] }).managedRoleIds, [null])
  const csv = await (await reader.get('/audit/export.csv?subject=User')).text()
  assert.match(csv, new RegExp(`"roleIds"":\\[${auditorRole},null\\]`))
  // The operator, who sees the role, sees its id.
  const opView = await json<{ entries: AuditEntryJson[] }>(await op.get('/api/v1/audit-log?subject=User'), 200)
  const opCreated = opView.entries.find((e) => e.subjectId === String(userId) && e.action === 'create')
  assert.equal((opCreated?.after as { roleIds: unknown[] }).roleIds, [auditorRole, nightShift].sort((a, b) => a - b))
})

// ---- bad input ---------------------------------------------------------------------------------

test('a NUL byte in any field or filter is a 400, never a 500, and stores nothing', async () => {
  const op = await signedIn(rt.app, ADMIN.operator)
  const before = await Promise.all(['roles', 'users', 'api_tokens'].map(async (t) => Number((await db().selectFrom(t as 'roles').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n)))
  const cases: [string, string, unknown?][] = [
    ['POST', '/api/v1/roles', { name: 'Nul\u0000Role' }],
    ['POST', '/api/v1/users', { name: 'Nul\u0000Name', email: 'nul@test.example', orgId: tree.alpha.id, password: TEST_PASSWORD }],
    ['POST', '/api/v1/api-tokens', { name: 'Nul\u0000Token' }],
    ['GET', '/api/v1/users?q=a%00b'],
    ['GET', '/api/v1/audit-log?actor=a%00b'],
  ]
  for (const [method, path, body] of cases) {
    const res = await call(op, method, path, body)
    assert.is(res.status, 400, `${method} ${path}`)
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /NUL/)
  }
  for (const path of ['/users?q=a%00b', '/audit?actor=a%00b', '/audit/export.csv?actor=a%00b']) assert.is((await op.get(path)).status, 400, path)
  assert.is((await op.postForm('/roles', { name: 'Nul\u0000Form' })).status, 400)
  assert.is((await op.postForm('/users/tokens', { name: 'Nul\u0000Form' })).status, 400)
  const after = await Promise.all(['roles', 'users', 'api_tokens'].map(async (t) => Number((await db().selectFrom(t as 'roles').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n)))
  assert.equal(after, before)
  assert.not.ok(rt.logs.some((l) => l.msg === 'unhandled error' && JSON.stringify(l).includes('0x00')))
})

// ---- CSRF --------------------------------------------------------------------------------------

test('every unsafe route of the app refuses a session request without the CSRF token, or from another site', async () => {
  const op = await signedIn(rt.app, ADMIN.operator)
  const token = await op.csrf('/')
  const unsafe = [...new Set(rt.app.routes.filter((r) => !['GET', 'HEAD', 'OPTIONS', 'ALL'].includes(r.method)).map((r) => `${r.method} ${r.path}`))]
  assert.ok(unsafe.length >= 20, `found ${unsafe.length} unsafe routes`)
  const roles = await db().selectFrom('roles').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  for (const route of unsafe) {
    const [method, pattern] = route.split(' ') as [string, string]
    const path = pattern.replace(/:id/g, String(tree.alphaCustomer.id))
    const attempts: Record<string, string>[] = [
      { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
      { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site', 'x-csrf-token': token },
    ]
    for (const headers of attempts) {
      const body = headers['content-type'] === 'application/json' ? '{"name":"csrf probe"}' : 'name=csrf+probe'
      assert.is((await op.request(path, { method, headers, body })).status, 403, `${route} ${JSON.stringify(headers)}`)
    }
  }
  assert.equal(await db().selectFrom('roles').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(), roles)
  assert.is(await db().selectFrom('users').select('id').where('name', '=', 'csrf probe').executeTakeFirst(), undefined)
})

test.run()
