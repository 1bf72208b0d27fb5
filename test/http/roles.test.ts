import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { definePlugin } from '../../core/plugins/define.ts'
import { builtInPlugins } from '../../plugins/index.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { addUser, ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

// A plugin declaring its own subject, so the matrix must grow a row for it.
const gadgetsPlugin = definePlugin({
  id: 'gadgets',
  title: 'Gadgets',
  permissions: { subjects: ['Gadget'], actions: ['read', 'export', 'schedule'] },
})

const test = suite(`roles pages (${dbLabel})`)
let rt: TestRuntime
let tree: Tree

test.before(async () => {
  rt = await testRuntime({ installed: [...builtInPlugins, gadgetsPlugin] })
  tree = await seedTree(rt.database.db)
})
test.after(async () => { await rt?.dispose() })

// ---- helpers ------------------------------------------------------------------------------------

/** Posts a form with repeated fields (checkboxes), the way a browser does. */
async function postFields(agent: Agent, path: string, fields: readonly [string, string | number][]): Promise<Response> {
  const body = new URLSearchParams([['_csrf', await agent.csrf('/')], ...fields.map(([k, v]): [string, string] => [k, String(v)])])
  return agent.request(path, {
    method: 'POST', body: body.toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
  })
}

const perms = (...pairs: string[]) => pairs.map((p): [string, string] => ['permissions', p])

interface StoredRole { id: number; org_id: number | null; name: string; description: string; manages_all: boolean; permissions: string[]; managed: number[] }

async function storedRole(name: string): Promise<StoredRole | undefined> {
  const db = rt.database.db
  const role = await db.selectFrom('roles').select(['id', 'org_id', 'name', 'description', 'manages_all']).where('name', '=', name).executeTakeFirst()
  if (!role) return undefined
  const permissions = (await db.selectFrom('role_permissions').select(['subject', 'action']).where('role_id', '=', role.id).execute()).map((p) => `${p.subject}:${p.action}`).sort()
  const managed = (await db.selectFrom('role_manages').select('managed_role_id').where('role_id', '=', role.id).execute()).map((m) => m.managed_role_id).sort((a, b) => a - b)
  return { ...role, permissions, managed }
}

async function systemRoleId(key: string): Promise<number> {
  return (await rt.database.db.selectFrom('roles').select('id').where('system_key', '=', key).executeTakeFirstOrThrow()).id
}

async function roleCount(): Promise<number> {
  return Number((await rt.database.db.selectFrom('roles').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n)
}

async function auditRows(action: string, roleId: number) {
  return rt.database.db.selectFrom('audit_log').selectAll().where('subject', '=', 'Role').where('action', '=', action).where('subject_id', '=', String(roleId)).execute()
}

/** A new user in `org` holding `roleIds`, signed in. */
async function userWith(org: keyof Tree, email: string, roleIds: number[]): Promise<{ id: number; agent: Agent }> {
  const id = await addUser(rt.database.db, tree[org].id, email, { name: email.split('@')[0]!, roleIds })
  return { id, agent: await signedIn(rt.app, email) }
}

async function heldRoles(userId: number): Promise<number[]> {
  return (await rt.database.db.selectFrom('user_roles').select('role_id').where('user_id', '=', userId).execute()).map((r) => r.role_id).sort((a, b) => a - b)
}

const roleIdFrom = (location: string | null) => Number(/^\/roles\/(\d+)$/.exec(location ?? '')?.[1])

/** Creates a role through the form as `agent`; returns its id. */
async function createThroughForm(agent: Agent, name: string, fields: readonly [string, string | number][]): Promise<number> {
  const res = await postFields(agent, '/roles', [['name', name], ...fields])
  assert.is(res.status, 303, `creating ${name}: ${res.status} ${res.status === 303 ? '' : await res.text()}`)
  const id = roleIdFrom(res.headers.get('location'))
  assert.ok(id > 0)
  return id
}

// ---- the matrix ---------------------------------------------------------------------------------

test('the form has one matrix row per catalogue subject (a plugin\'s too), the All subjects row and the seven action columns', async () => {
  const operator = await signedIn(rt.app, ADMIN.operator)
  const res = await operator.get('/roles/new')
  assert.is(res.status, 200)
  const html = await res.text()
  const rows = [...html.matchAll(/<tr data-subject="([^"]+)">/g)].map((m) => m[1])
  assert.equal(rows, ['all', 'Organisation', 'User', 'Role', 'ApiToken', 'AuditLog', 'Catalog', 'Subscription', 'UsageEvent', 'Invoice', 'Credit', 'Discount', 'UsageReport', 'ClientUsageReport', 'ResourceReport', 'CostReport', 'Gadget'])
  const head = /<table class="data matrix"[^>]*><thead><tr>(.*?)<\/tr><\/thead>/s.exec(html)![1]!
  assert.equal([...head.matchAll(/<th class="cell">([^<]+)<\/th>/g)].map((m) => m[1]), ['Read', 'Create', 'Update', 'Delete', 'Export', 'Schedule', 'All'])
  const boxes = (subject: string) => [...html.matchAll(new RegExp(`name="permissions" value="${subject}:([a-z]+)"`, 'g'))].map((m) => m[1])
  assert.equal(boxes('Gadget'), ['read', 'export', 'schedule', 'manage'])
  assert.equal(boxes('AuditLog'), ['read', 'export', 'manage'])
  assert.equal(boxes('all'), ['read', 'create', 'update', 'delete', 'export', 'schedule', 'manage'])
  // The operator holds everything: nothing is disabled.
  assert.not.match(html, /value="[A-Za-z]+:[a-z]+"[^>]*disabled/)
  // Delegation choices: manage all, or a list of the roles the operator manages.
  assert.match(html, /name="manages" value="all"/)
  assert.match(html, new RegExp(`name="managedRoleIds" value="${await systemRoleId('auditor')}"`))
})

// ---- creating -----------------------------------------------------------------------------------

test('the operator creates a custom role through the form: stored with its permissions, delegation and an audit row', async () => {
  const operator = await signedIn(rt.app, ADMIN.operator)
  const auditor = await systemRoleId('auditor')
  const id = await createThroughForm(operator, 'Support Desk', [
    ['description', 'First-line support'], ...perms('Organisation:read', 'User:read', 'User:update', 'Gadget:export'),
    ['manages', 'list'], ['managedRoleIds', auditor],
  ])
  const role = await storedRole('Support Desk')
  assert.ok(role)
  assert.is(role!.id, id)
  assert.is(role!.org_id, tree.operator.id)
  assert.is(role!.description, 'First-line support')
  assert.is(role!.manages_all, false)
  assert.equal(role!.permissions, ['Gadget:export', 'Organisation:read', 'User:read', 'User:update'])
  assert.equal(role!.managed, [auditor])
  const audit = await auditRows('create', id)
  assert.is(audit.length, 1)
  assert.is(audit[0]!.org_id, tree.operator.id)
  assert.is(audit[0]!.actor_email, ADMIN.operator)
  assert.equal((audit[0]!.after as { permissions: string[] }).permissions, role!.permissions)
  assert.equal((audit[0]!.after as { managedRoleIds: number[] }).managedRoleIds, [auditor])

  // The page shows the matrix read-only and the delegation.
  const page = await (await operator.get(`/roles/${id}`)).text()
  assert.match(page, /data-permission="User:update"/)
  assert.match(page, /data-permission="Gadget:export"/)
  assert.not.match(page, /data-permission="User:delete"/)
  assert.match(page, /<a href="\/roles\/\d+">Auditor<\/a>/)
  assert.not.match(page, /name="permissions"/)

  // The list: system roles marked, the custom role with its owner, description and delegation.
  const list = await (await operator.get('/roles')).text()
  const row = new RegExp(`<tr data-role-id="${id}">(.*?)</tr>`, 's').exec(list)![1]!
  assert.match(row, 'Test Operator')
  assert.match(row, 'First-line support')
  assert.match(row, 'Auditor')
  const superRow = new RegExp(`<tr data-role-id="${await systemRoleId('super_admin')}">(.*?)</tr>`, 's').exec(list)![1]!
  assert.match(superRow, 'badge system')
  assert.match(superRow, 'All roles')
  assert.match(superRow, /<td class="num">1<\/td>/) // the operator's admin
})

test('a form that does not validate comes back with 422 and its values; a duplicate name is 409', async () => {
  const operator = await signedIn(rt.app, ADMIN.operator)
  const before = await roleCount()
  const empty = await postFields(operator, '/roles', [['name', '  '], ['description', 'kept'], ...perms('User:read')])
  assert.is(empty.status, 422)
  const html = await empty.text()
  assert.match(html, 'Enter a name')
  assert.match(html, /value="User:read" checked/)
  assert.match(html, '>kept</textarea>')
  const unknown = await postFields(operator, '/roles', [['name', 'Odd'], ...perms('Widget:read')])
  assert.is(unknown.status, 422)
  const clash = await postFields(operator, '/roles', [['name', 'support desk'], ...perms('User:read')])
  assert.is(clash.status, 409)
  assert.match(await clash.text(), 'already exists')
  assert.is(await roleCount(), before)
})

// ---- delegation and escalation -----------------------------------------------------------------

test('a delegated admin in alpha cannot grant what it lacks, list roles it does not manage, manage all, or place a role elsewhere', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const viewer = await createThroughForm(alpha, 'Alpha Viewer', [...perms('Organisation:read')])
  const delegateRole = await createThroughForm(alpha, 'Alpha Delegate', [...perms('Role:read', 'Role:create', 'Organisation:read', 'User:read'), ['manages', 'list'], ['managedRoleIds', viewer]])
  assert.is((await storedRole('Alpha Delegate'))!.org_id, tree.alpha.id)
  const { agent: delegate } = await userWith('alpha', 'delegate@test.example', [delegateRole])

  // The form offers only what the delegate holds.
  const form = await (await delegate.get('/roles/new')).text()
  assert.match(form, /value="User:delete"[^>]*disabled/)
  assert.match(form, /value="all:manage"[^>]*disabled/)
  assert.not.match(form, /value="Organisation:read"[^>]*disabled/)
  assert.match(form, /name="manages" value="all"[^>]*disabled/)
  assert.match(form, new RegExp(`name="managedRoleIds" value="${viewer}"`))
  assert.not.match(form, new RegExp(`name="managedRoleIds" value="${await systemRoleId('auditor')}"`))

  const before = await roleCount()
  const escalate = await postFields(delegate, '/roles', [['name', 'Sneaky'], ...perms('Organisation:read', 'User:delete')])
  assert.is(escalate.status, 403)
  assert.match(await escalate.text(), 'You cannot grant what you do not hold')
  const everything = await postFields(delegate, '/roles', [['name', 'Sneaky'], ...perms('all:manage')])
  assert.is(everything.status, 403)
  const foreignList = await postFields(delegate, '/roles', [['name', 'Sneaky'], ...perms('Organisation:read'), ['manages', 'list'], ['managedRoleIds', await systemRoleId('auditor')]])
  assert.is(foreignList.status, 403)
  const manageAll = await postFields(delegate, '/roles', [['name', 'Sneaky'], ...perms('Organisation:read'), ['manages', 'all']])
  assert.is(manageAll.status, 403)
  assert.match(await manageAll.text(), 'manages all roles')
  assert.is(await roleCount(), before)
  assert.is(await storedRole('Sneaky'), undefined)

  // Extra fields cannot move the role to another organisation: the caller's organisation owns it.
  const placed = await createThroughForm(delegate, 'Placed Role', [
    ...perms('Organisation:read'), ['managedRoleIds', viewer], ['org_id', tree.beta.id], ['orgId', tree.beta.id], ['ownerOrgId', tree.operator.id],
  ])
  const stored = await storedRole('Placed Role')
  assert.is(stored!.id, placed)
  assert.is(stored!.org_id, tree.alpha.id)
  assert.equal(stored!.managed, [viewer])

  // The delegate may not edit (no Role:update) even its own organisation's roles.
  assert.is((await postFields(delegate, `/roles/${viewer}`, [['name', 'Renamed'], ...perms('Organisation:read')])).status, 403)
  assert.is((await storedRole('Alpha Viewer'))!.name, 'Alpha Viewer')
})

test('a role shared from above is shown as "shared with you", never with the owner\'s name, and cannot be changed', async () => {
  const operator = await signedIn(rt.app, ADMIN.operator)
  const reader = await createThroughForm(operator, 'Org Reader', [...perms('Organisation:read')])
  const ops = await createThroughForm(operator, 'Ops Delegate', [...perms('Role:read', 'Role:update', 'Organisation:read'), ['managedRoleIds', reader]])
  const { agent } = await userWith('alpha', 'ops@test.example', [ops])
  const list = await (await agent.get('/roles')).text()
  const row = new RegExp(`<tr data-role-id="${reader}">(.*?)</tr>`, 's').exec(list)![1]!
  assert.match(row, 'shared with you')
  assert.not.ok(list.includes('Test Operator'), 'the operator\'s name is not shown')
  assert.not.match(list, `data-role-id="${ops}"`) // its own role is not in its managed list
  const page = await agent.get(`/roles/${reader}`)
  assert.is(page.status, 200)
  const html = await page.text()
  assert.not.ok(html.includes('Test Operator'))
  assert.match(html, 'only it can change the role')
  const edit = await agent.get(`/roles/${reader}/edit`)
  assert.is(edit.status, 403)
  assert.is((await postFields(agent, `/roles/${reader}`, [['name', 'Hijacked'], ...perms('Organisation:read')])).status, 403)
  assert.is((await storedRole('Org Reader'))!.name, 'Org Reader')
})

// ---- editing ------------------------------------------------------------------------------------

test('editing a role changes what its holders may do on their very next request', async () => {
  const operator = await signedIn(rt.app, ADMIN.operator)
  const id = await createThroughForm(operator, 'Tree Reader', [...perms('Organisation:read', 'User:read')])
  const { agent: holder } = await userWith('alphaCustomer', 'tree-reader@test.example', [id])
  assert.is((await holder.get('/organisations')).status, 200)

  const form = await operator.get(`/roles/${id}/edit`)
  assert.is(form.status, 200)
  assert.match(await form.text(), /value="Organisation:read" checked/)
  const removed = await postFields(operator, `/roles/${id}`, [['name', 'Tree Reader'], ['description', 'now without organisations'], ...perms('User:read')])
  assert.is(removed.status, 303)
  assert.is(removed.headers.get('location'), '/roles')
  assert.equal((await storedRole('Tree Reader'))!.permissions, ['User:read'])
  assert.is((await holder.get('/organisations')).status, 403)

  assert.is((await postFields(operator, `/roles/${id}`, [['name', 'Tree Reader'], ...perms('User:read', 'Organisation:read')])).status, 303)
  assert.is((await holder.get('/organisations')).status, 200)

  const audit = await auditRows('update', id)
  assert.is(audit.length, 2)
  const first = audit.find((a) => (a.after as { description: string }).description === 'now without organisations')!
  assert.equal((first.before as { permissions: string[] }).permissions, ['Organisation:read', 'User:read'])
  assert.equal((first.after as { permissions: string[] }).permissions, ['User:read'])
})

test('system roles cannot be edited or deleted: 403 with a clear message, nothing changes', async () => {
  const operator = await signedIn(rt.app, ADMIN.operator)
  const auditor = await systemRoleId('auditor')
  const edit = await operator.get(`/roles/${auditor}/edit`)
  assert.is(edit.status, 403)
  assert.match(await edit.text(), 'System roles are part of the product')
  const post = await postFields(operator, `/roles/${auditor}`, [['name', 'Auditor'], ...perms('all:manage'), ['manages', 'all']])
  assert.is(post.status, 403)
  const del = await postFields(operator, `/roles/${auditor}/delete`, [])
  assert.is(del.status, 403)
  const role = await storedRole('Auditor')
  assert.equal(role!.permissions, ['all:export', 'all:read'])
  assert.is(role!.manages_all, false)
  const page = await (await operator.get(`/roles/${auditor}`)).text()
  assert.not.match(page, `href="/roles/${auditor}/edit"`)
  assert.not.match(page, `/roles/${auditor}/delete`)
})

// ---- deleting -----------------------------------------------------------------------------------

test('deleting a role its users hold needs a replacement: 409 without, users moved with one, audit row', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const temp = await createThroughForm(alpha, 'Temporary', [...perms('User:read')])
  const replacement = (await storedRole('Alpha Viewer'))!.id
  const { id: holder } = await userWith('alphaSub', 'temp-holder@test.example', [temp])

  const refused = await postFields(alpha, `/roles/${temp}/delete`, [['reassignTo', '']])
  assert.is(refused.status, 409)
  assert.match(await refused.text(), '1 user holds this role')
  assert.ok(await storedRole('Temporary'))
  assert.equal(await heldRoles(holder), [temp])

  const wrong = await postFields(alpha, `/roles/${temp}/delete`, [['reassignTo', 'abc']])
  assert.is(wrong.status, 422)
  const self = await postFields(alpha, `/roles/${temp}/delete`, [['reassignTo', temp]])
  assert.is(self.status, 422)
  assert.ok(await storedRole('Temporary'))

  const done = await postFields(alpha, `/roles/${temp}/delete`, [['reassignTo', replacement]])
  assert.is(done.status, 303)
  assert.is(done.headers.get('location'), '/roles')
  assert.is(await storedRole('Temporary'), undefined)
  assert.equal(await heldRoles(holder), [replacement])
  const audit = await auditRows('delete', temp)
  assert.is(audit.length, 1)
  assert.is((audit[0]!.before as { name: string }).name, 'Temporary')
  assert.equal((audit[0]!.after as { reassignedTo: number; users: number[] }), { reassignedTo: replacement, users: [holder] })
  assert.match(await (await alpha.get('/roles')).text(), 'was deleted')
})

test('a role nobody holds is deleted outright; a replacement must apply to every holder (Super Administrator only in the operator)', async () => {
  const operator = await signedIn(rt.app, ADMIN.operator)
  const unused = await createThroughForm(operator, 'Unused', [...perms('User:read')])
  assert.is((await postFields(operator, `/roles/${unused}/delete`, [])).status, 303)
  assert.is(await storedRole('Unused'), undefined)

  const alphaRole = await createThroughForm(await signedIn(rt.app, ADMIN.alpha), 'Alpha Short Lived', [...perms('User:read')])
  const { id: holder } = await userWith('alpha', 'short-lived@test.example', [alphaRole])
  const res = await postFields(operator, `/roles/${alphaRole}/delete`, [['reassignTo', await systemRoleId('super_admin')]])
  assert.is(res.status, 422)
  assert.match(await res.text(), 'not available in their organisation')
  assert.ok(await storedRole('Alpha Short Lived'))
  assert.equal(await heldRoles(holder), [alphaRole])
  const auditor = await systemRoleId('auditor')
  assert.is((await postFields(operator, `/roles/${alphaRole}/delete`, [['reassignTo', auditor]])).status, 303)
  assert.is(await storedRole('Alpha Short Lived'), undefined)
  assert.equal(await heldRoles(holder), [auditor])
})

// ---- guards and isolation -----------------------------------------------------------------------

test('beta cannot see alpha\'s roles: absent from the list, 404 on the page, the edit form and writes', async () => {
  const beta = await signedIn(rt.app, ADMIN.beta)
  const alphaRole = (await storedRole('Alpha Viewer'))!
  const list = await (await beta.get('/roles')).text()
  for (const name of ['Alpha Viewer', 'Alpha Delegate', 'Placed Role', 'Support Desk', 'Alpha Reseller', 'Test Operator']) {
    assert.not.ok(list.includes(name), `${name} is not on beta's list`)
  }
  for (const path of [`/roles/${alphaRole.id}`, `/roles/${alphaRole.id}/edit`]) {
    const res = await beta.get(path)
    assert.is(res.status, 404, path)
    assert.not.ok((await res.text()).includes('Alpha'))
  }
  assert.is((await postFields(beta, `/roles/${alphaRole.id}`, [['name', 'Taken'], ...perms('User:read')])).status, 404)
  assert.is((await postFields(beta, `/roles/${alphaRole.id}/delete`, [])).status, 404)
  assert.is((await storedRole('Alpha Viewer'))!.name, 'Alpha Viewer')
})

test('malformed and unknown ids are 404, not 500', async () => {
  const operator = await signedIn(rt.app, ADMIN.operator)
  for (const id of ['abc', '0', '99999999999', '2147483648', '-1', '1e3']) {
    assert.is((await operator.get(`/roles/${id}`)).status, 404, id)
    assert.is((await operator.get(`/roles/${id}/edit`)).status, 404, id)
  }
  assert.is((await postFields(operator, '/roles/99999999999/delete', [])).status, 404)
})

test('guards: reading needs read Role, writing needs create/update/delete Role', async () => {
  const customer = await signedIn(rt.app, ADMIN.betaCustomer) // Customer Admin: reads everything, no Role writes
  const list = await customer.get('/roles')
  assert.is(list.status, 200)
  const html = await list.text()
  assert.match(html, 'Customer Admin')
  assert.not.match(html, 'href="/roles/new"')
  assert.is((await customer.get('/roles/new')).status, 403)
  const before = await roleCount()
  assert.is((await postFields(customer, '/roles', [['name', 'Customer made'], ...perms('User:read')])).status, 403)
  assert.is(await roleCount(), before)
  const auditor = await systemRoleId('auditor')
  assert.is((await postFields(customer, `/roles/${auditor}/delete`, [])).status, 403)

  const { agent: nobody } = await userWith('alphaCustomer', 'no-roles@test.example', [])
  assert.is((await nobody.get('/roles')).status, 403)
  assert.is((await nobody.get(`/roles/${auditor}`)).status, 403)
})

test('an htmx request gets the list as a fragment', async () => {
  const operator = await signedIn(rt.app, ADMIN.operator)
  const res = await operator.get('/roles', { 'HX-Request': 'true' })
  assert.is(res.status, 200)
  const html = await res.text()
  assert.not.match(html, '<html')
  assert.match(html, 'id="role-table"')
})

test.run()
