/**
 * The Users pages: the list (scope, filters, htmx, paging), creating users (typed and generated
 * passwords), editing names and roles within the caller's managed set, disabling, enabling and
 * password resets, and the audit rows every change leaves.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { hashPassword } from '../../core/auth/password.ts'
import type { OrganisationRow } from '../../core/db/schema.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { addRole, addUser, ADMIN, dbLabel, seedTree, systemRoleIds, TEST_PASSWORD, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`users pages (${dbLabel})`)
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

async function customRole(org: OrganisationRow, name: string): Promise<{ id: number; name: string }> {
  return { id: await addRole(rt.database.db, org.id, name), name }
}

const db = () => rt.database.db
const userByEmail = (email: string) => db().selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst()
const rolesOf = async (userId: number) => (await db().selectFrom('user_roles').select('role_id').where('user_id', '=', userId).execute()).map((r) => r.role_id).sort((a, b) => a - b)
const sessionsOf = async (userId: number) => Number((await db().selectFrom('sessions').select((eb) => eb.fn.countAll<string>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow()).n)
const userCount = async () => Number((await db().selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n)
const auditOf = (userId: number) => db().selectFrom('audit_log').selectAll().where('subject', '=', 'User').where('subject_id', '=', String(userId)).orderBy('id').execute()
/** Every audit row as text, to prove secrets never reach it. */
const auditText = async () => JSON.stringify(await db().selectFrom('audit_log').selectAll().execute())

/** A user made straight in the database (for fixtures the test is not about). */
async function seedUser(org: OrganisationRow, email: string, roleKeys: string[] = [], name = email): Promise<number> {
  return addUser(db(), org.id, email, { name, roleIds: roleKeys.map((k) => role[k]!) })
}

async function loginAs(email: string, password: string): Promise<{ agent: Agent; status: number }> {
  const agent = new Agent(rt.app)
  const res = await agent.login(email, password)
  return { agent, status: res.status }
}

function assertAbsent(html: string, ...needles: string[]): void {
  for (const needle of needles) assert.not.ok(html.includes(needle), `"${needle}" should not be in the body`)
}

const listed = (html: string) => [...html.matchAll(/<tr data-user-id="\d+"><td><a href="\/users\/\d+">([^<]*)<\/a>/g)].map((m) => m[1]!)

// ---- the list ---------------------------------------------------------------------------------

test('the list shows the users of every organisation in the subtree and nothing of a sibling', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const res = await alpha.get('/users')
  assert.is(res.status, 200)
  const html = await res.text()
  const names = listed(html)
  for (const org of ['Alpha Reseller', 'Alpha Customer', 'Alpha Sub Reseller', 'Alpha Sub Customer']) assert.ok(names.includes(`Admin of ${org}`), org)
  assertAbsent(html, 'Beta', ADMIN.beta, ADMIN.betaCustomer, ADMIN.operator, 'Test Operator')
  assert.match(html, 'Reseller Admin')
  assert.match(html, `href="/organisations/${tree.alphaCustomer.id}"`)
  assert.match(html, 'href="/users/new"')
})

test('filters: organisation, status and text, as a shareable URL and an htmx fragment', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const byOrg = listed(await (await alpha.get(`/users?org=${tree.alphaSub.id}`)).text())
  assert.equal(byOrg, ['Admin of Alpha Sub Reseller'])
  const byText = listed(await (await alpha.get('/users?q=SUB-CUSTOMER')).text())
  assert.equal(byText, ['Admin of Alpha Sub Customer'])
  // An organisation outside the subtree is no filter, and its name appears nowhere.
  const foreign = await (await alpha.get(`/users?org=${tree.beta.id}`)).text()
  assert.ok(listed(foreign).length >= 4)
  assertAbsent(foreign, 'Beta')

  const fragment = await alpha.get('/users?q=alpha-customer&status=active', { 'HX-Request': 'true' })
  assert.is(fragment.status, 200)
  const body = await fragment.text()
  assert.not.match(body, '<html')
  assert.match(body, 'id="user-table"')
  assert.equal(listed(body), ['Admin of Alpha Customer'])
  assert.match(fragment.headers.get('vary') ?? '', /HX-Request/i)
  assert.equal(listed(await (await alpha.get('/users?q=alpha-customer&status=disabled')).text()), [])
  // The filter form swaps the table and pushes the URL.
  const page = await (await alpha.get('/users')).text()
  assert.match(page, /hx-get="\/users"[^>]*hx-push-url="true"/)
})

test('long lists are paged by 50, the pager keeps the filter', async () => {
  const org = await db().insertInto('organisations').values({ parent_id: tree.alphaSubCustomer.parent_id, kind: 'customer', name: 'Paging Customer', path: 'tmp' })
    .returning('id').executeTakeFirstOrThrow()
  await db().updateTable('organisations').set({ path: `${tree.alphaSub.path}${org.id}/` }).where('id', '=', org.id).execute()
  const hash = await hashPassword(TEST_PASSWORD)
  await db().insertInto('users').values(Array.from({ length: 53 }, (_, i) => ({
    org_id: org.id, email: `bulk${String(i).padStart(2, '0')}@paging.example`, name: `Bulk ${String(i).padStart(2, '0')}`, password_hash: hash,
  }))).execute()
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const first = await (await alpha.get('/users?q=paging.example')).text()
  assert.is(listed(first).length, 50)
  assert.match(first, '1–50 of 53')
  assert.match(first, 'href="/users?q=paging.example&amp;page=2"')
  const second = await (await alpha.get('/users?q=paging.example&page=2')).text()
  assert.equal(listed(second), ['Bulk 50', 'Bulk 51', 'Bulk 52'])
  assert.match(second, '51–53 of 53')
  assert.match(second, 'href="/users?q=paging.example"')
})

test('an auditor reads the list but gets no create button and cannot create', async () => {
  await seedUser(tree.operator, 'auditor@users.example', ['auditor'], 'Ann Auditor')
  const auditor = await signedIn(rt.app, 'auditor@users.example')
  const html = await (await auditor.get('/users')).text()
  assert.ok(listed(html).includes('Admin of Beta Reseller'))
  assert.not.match(html, 'href="/users/new"')
  const before = await userCount()
  const res = await auditor.postForm('/users', { orgId: String(tree.operator.id), name: 'X', email: 'x@users.example', password: 'long enough password' })
  assert.is(res.status, 403)
  assert.is(await userCount(), before)
})

// ---- creating ---------------------------------------------------------------------------------

test('create with a typed password, then sign in as the new user', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const form = await (await alpha.get('/users/new')).text()
  assert.match(form, `value="${tree.alphaCustomer.id}"`)
  assert.match(form, `name="roleIds" value="${role.customer_admin}"`)
  assert.not.match(form, `name="roleIds" value="${role.super_admin}"`)
  assertAbsent(form, 'Beta', 'Operator Night Shift')
  const res = await alpha.postForm('/users', {
    orgId: String(tree.alphaCustomer.id), name: 'Carla Customer', email: '  Carla@Example.COM ', roleIds: String(role.customer_admin), password: 'carla password 123',
  })
  assert.is(res.status, 303)
  const user = (await userByEmail('carla@example.com'))!
  assert.is(res.headers.get('location'), `/users/${user.id}`)
  assert.is(user.org_id, tree.alphaCustomer.id)
  assert.equal(await rolesOf(user.id), [role.customer_admin])
  const { agent, status } = await loginAs('carla@example.com', 'carla password 123')
  assert.is(status, 303)
  assert.is((await agent.get('/users')).status, 200)
  const audit = await auditOf(user.id)
  assert.is(audit.length, 1)
  assert.is(audit[0]!.action, 'create')
  assert.is(audit[0]!.org_id, tree.alphaCustomer.id)
  assert.equal((audit[0]!.after as { roleIds: number[] }).roleIds, [role.customer_admin])
  assertAbsent(await auditText(), 'carla password 123', user.password_hash)
})

test('a generated password is shown once, works, and is in no log or audit row', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const res = await alpha.postForm('/users', { orgId: String(tree.alphaSub.id), name: 'Gene Rated', email: 'gene@example.com', roleIds: String(role.auditor), password: '' })
  assert.is(res.status, 200)
  assert.match(res.headers.get('cache-control') ?? '', 'no-store')
  const html = await res.text()
  const password = /<code class="secret" data-secret="password">([^<]+)<\/code>/.exec(html)?.[1]
  assert.ok(password && password.length >= 20, 'the password is on the page')
  assert.match(html, 'shown only this once')
  const user = (await userByEmail('gene@example.com'))!
  assert.is((await loginAs('gene@example.com', password!)).status, 303)
  // Shown once: the user's page and the list never show it again.
  assert.not.match(await (await alpha.get(`/users/${user.id}`)).text(), password!)
  assert.not.match(JSON.stringify(rt.logs), password!)
  assertAbsent(await auditText(), password!, user.password_hash)
})

test('a duplicate email is a 409 on the field, whatever its case; nothing is created', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const before = await userCount()
  const res = await alpha.postForm('/users', { orgId: String(tree.alpha.id), name: 'Twin', email: 'ALPHA-CUSTOMER@test.example', password: 'twin password 123' })
  assert.is(res.status, 409)
  const html = await res.text()
  assert.match(html, 'This email is already in use')
  assert.match(html, 'value="Twin"')
  assert.not.match(html, 'twin password 123')
  assert.is(await userCount(), before)
})

test('bad input is a 422 with field messages; a short password is refused', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const before = await userCount()
  const short = await alpha.postForm('/users', { orgId: String(tree.alpha.id), name: 'Shorty', email: 'shorty@example.com', password: 'short' })
  assert.is(short.status, 422)
  assert.match(await short.text(), 'at least 12 characters')
  const bad = await alpha.postForm('/users', { orgId: 'x', name: ' ', email: 'not-an-email' })
  assert.is(bad.status, 422)
  const html = await bad.text()
  assert.match(html, 'Enter a name')
  assert.match(html, 'Enter a valid email address')
  assert.is(await userCount(), before)
})

test('an organisation outside the subtree is refused without naming it', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const before = await userCount()
  for (const orgId of [tree.beta.id, tree.operator.id, 99999999]) {
    const res = await alpha.postForm('/users', { orgId: String(orgId), name: 'Spy', email: `spy${orgId}@example.com`, password: 'spy password 1234' })
    assert.is(res.status, 422, `org ${orgId}`)
    assertAbsent(await res.text(), 'Beta', 'Test Operator')
  }
  assert.is(await userCount(), before)
})

test('roles on create: managed ones work, Super Administrator, foreign and unmanaged roles are refused', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const before = await userCount()
  const cases: [number, number][] = [[role.super_admin!, 403], [betaRole.id, 403], [operatorRole.id, 403], [2147483647, 403]]
  for (const [roleId, status] of cases) {
    const res = await alpha.postForm('/users', { orgId: String(tree.alphaCustomer.id), name: 'Climber', email: `climber${roleId}@example.com`, roleIds: String(roleId), password: 'climber password 1' })
    assert.is(res.status, status, `role ${roleId}`)
    assertAbsent(await res.text(), betaRole.name, operatorRole.name, 'Beta')
  }
  assert.is(await userCount(), before)
  // The operator may hand out Super Administrator, but only inside the operator itself.
  const operator = await signedIn(rt.app, ADMIN.operator)
  const outside = await operator.postForm('/users', { orgId: String(tree.alpha.id), name: 'Nope', email: 'nope@example.com', roleIds: String(role.super_admin), password: 'nope password 123' })
  assert.is(outside.status, 422)
  assert.is(await userCount(), before)
  // A crafted `role`/`org_id` next to the real fields changes nothing.
  const crafted = await alpha.postForm('/users', {
    orgId: String(tree.alphaCustomer.id), org_id: String(tree.beta.id), role: 'super_admin', name: 'Plain', email: 'plain@example.com', password: 'plain password 123',
  })
  assert.is(crafted.status, 303)
  const plain = (await userByEmail('plain@example.com'))!
  assert.is(plain.org_id, tree.alphaCustomer.id)
  assert.equal(await rolesOf(plain.id), [])
})

// ---- one user, editing ------------------------------------------------------------------------

test('the detail page shows the user, roles and actions; the edit form changes name and roles only', async () => {
  const id = await seedUser(tree.alphaCustomer, 'edit-me@example.com', ['auditor'], 'Edit Me')
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const detail = await (await alpha.get(`/users/${id}`)).text()
  assert.match(detail, 'edit-me@example.com')
  assert.match(detail, 'Auditor')
  assert.match(detail, `action="/users/${id}/disable"`)
  assert.match(detail, `action="/users/${id}/password"`)
  assert.match((await alpha.get(`/users/${id}/edit`)).status.toString(), '200')

  const res = await alpha.postForm(`/users/${id}`, {
    name: 'Edited Name', rolesShown: '1', roleIds: String(role.customer_admin), orgId: String(tree.beta.id), org_id: String(tree.alphaSub.id), email: 'hijack@example.com',
  })
  assert.is(res.status, 303)
  const user = (await userByEmail('edit-me@example.com'))!
  assert.is(user.name, 'Edited Name')
  assert.is(user.org_id, tree.alphaCustomer.id)
  assert.equal(await rolesOf(id), [role.customer_admin])
  const audit = await auditOf(id)
  assert.equal(audit.map((a) => a.action), ['update', 'assign'])
  assert.equal(audit[0]!.before, { name: 'Edit Me' })
  assert.equal(audit[1]!.after, { added: [role.customer_admin], removed: [role.auditor] })

  // All boxes unchecked: every managed role is removed.
  assert.is((await alpha.postForm(`/users/${id}`, { name: 'Edited Name', rolesShown: '1' })).status, 303)
  assert.equal(await rolesOf(id), [])
})

test('a reseller admin gives Customer Admin to its customer\'s user, but not Super Administrator or foreign roles', async () => {
  const id = await seedUser(tree.alphaCustomer, 'promote@example.com', [], 'Promote Me')
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  assert.is((await alpha.postForm(`/users/${id}`, { rolesShown: '1', roleIds: String(role.customer_admin) })).status, 303)
  assert.equal(await rolesOf(id), [role.customer_admin])
  for (const roleId of [role.super_admin!, betaRole.id, operatorRole.id]) {
    const res = await alpha.postForm(`/users/${id}`, { rolesShown: '1', roleIds: String(roleId) })
    assert.is(res.status, 403, `role ${roleId}`)
    const html = await res.text()
    assert.match(html, 'You can only give roles you manage')
    assertAbsent(html, betaRole.name, operatorRole.name)
    assert.equal(await rolesOf(id), [role.customer_admin])
  }
})

test('a customer admin cannot give Reseller Admin (outside its managed set)', async () => {
  const id = await seedUser(tree.alphaCustomer, 'cust-member@example.com', [], 'Cust Member')
  const customer = await signedIn(rt.app, ADMIN.alphaCustomer)
  const form = await (await customer.get(`/users/${id}/edit`)).text()
  assert.match(form, 'Customer Admin')
  assert.not.match(form, `name="roleIds" value="${role.reseller_admin}"`)
  const res = await customer.postForm(`/users/${id}`, { rolesShown: '1', roleIds: String(role.reseller_admin) })
  assert.is(res.status, 403)
  assert.equal(await rolesOf(id), [])
  assert.is((await customer.postForm(`/users/${id}`, { rolesShown: '1', roleIds: String(role.auditor) })).status, 303)
  assert.equal(await rolesOf(id), [role.auditor])
})

test('a customer admin cannot edit, disable or reset a Reseller Admin placed in its organisation', async () => {
  const id = await seedUser(tree.alphaCustomer, 'placed-reseller@example.com', ['reseller_admin'], 'Placed Reseller')
  const before = (await userByEmail('placed-reseller@example.com'))!
  const customer = await signedIn(rt.app, ADMIN.alphaCustomer)
  const detail = await (await customer.get(`/users/${id}`)).text()
  assert.match(detail, 'holds a role you do not manage')
  assert.not.match(detail, `action="/users/${id}/password"`)
  for (const [path, fields] of [
    [`/users/${id}/password`, { password: 'taken over password' }], [`/users/${id}/password`, {}], [`/users/${id}/disable`, {}], [`/users/${id}`, { name: 'Renamed' }],
  ] as const) {
    const res = await customer.postForm(path, fields)
    assert.is(res.status, 403, path)
  }
  assert.is((await customer.get(`/users/${id}/edit`)).status, 403)
  const after = (await userByEmail('placed-reseller@example.com'))!
  assert.equal(after, before)
  assert.is((await auditOf(id)).length, 0)
})

test('nobody disables, resets or edits their own account here', async () => {
  const customer = await signedIn(rt.app, ADMIN.alphaCustomer)
  const self = (await userByEmail(ADMIN.alphaCustomer))!
  const detail = await (await customer.get(`/users/${self.id}`)).text()
  assert.match(detail, 'Your own account is changed by another administrator.')
  for (const path of [`/users/${self.id}/disable`, `/users/${self.id}/password`, `/users/${self.id}`]) {
    const res = await customer.postForm(path, { name: 'Me Myself' })
    assert.is(res.status, 403, path)
    assert.match(await res.text(), 'Your own account is changed by another administrator.')
  }
  assert.equal(await userByEmail(ADMIN.alphaCustomer), self)
  assert.is((await customer.get('/')).status, 200)
})

// ---- disabling, enabling, resetting -----------------------------------------------------------

test('disabling signs the user out at once and blocks sign-in; enabling restores it', async () => {
  const id = await seedUser(tree.alphaSubCustomer, 'dana@example.com', ['customer_admin'], 'Dana')
  const dana = await signedIn(rt.app, 'dana@example.com')
  assert.is((await dana.get('/users')).status, 200)
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const res = await alpha.postForm(`/users/${id}/disable`, {})
  assert.is(res.status, 303)
  assert.is((await userByEmail('dana@example.com'))!.status, 'disabled')
  assert.is(await sessionsOf(id), 0)
  const next = await dana.get('/users')
  assert.is(next.status, 303)
  assert.match(next.headers.get('location') ?? '', /^\/login/)
  assert.is((await loginAs('dana@example.com', TEST_PASSWORD)).status, 401)
  assert.match(await (await alpha.get(`/users/${id}`)).text(), `action="/users/${id}/enable"`)
  assert.equal(listed(await (await alpha.get('/users?status=disabled&q=dana')).text()), ['Dana'])

  assert.is((await alpha.postForm(`/users/${id}/enable`, {})).status, 303)
  assert.is((await userByEmail('dana@example.com'))!.status, 'active')
  assert.is((await loginAs('dana@example.com', TEST_PASSWORD)).status, 303)
  const audit = await auditOf(id)
  assert.equal(audit.map((a) => a.action), ['disable', 'enable'])
  assert.is(audit[0]!.org_id, tree.alphaSubCustomer.id)
  assert.equal(audit[0]!.after, { status: 'disabled' })
})

test('a password reset (typed, then generated) ends the user\'s sessions; the old password stops working', async () => {
  const id = await seedUser(tree.alphaCustomer, 'reset-me@example.com', ['auditor'], 'Reset Me')
  const victim = await signedIn(rt.app, 'reset-me@example.com')
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const short = await alpha.postForm(`/users/${id}/password`, { password: 'tiny' })
  assert.is(short.status, 422)
  assert.match(await short.text(), 'at least 12 characters')

  assert.is((await alpha.postForm(`/users/${id}/password`, { password: 'brand new password' })).status, 303)
  assert.is(await sessionsOf(id), 0)
  assert.is((await victim.get('/')).status, 303)
  assert.is((await loginAs('reset-me@example.com', TEST_PASSWORD)).status, 401)
  assert.is((await loginAs('reset-me@example.com', 'brand new password')).status, 303)

  const generated = await alpha.postForm(`/users/${id}/password`, { password: '' })
  assert.is(generated.status, 200)
  const password = /data-secret="password">([^<]+)</.exec(await generated.text())?.[1]
  assert.ok(password)
  assert.is(await sessionsOf(id), 0)
  assert.is((await loginAs('reset-me@example.com', 'brand new password')).status, 401)
  assert.is((await loginAs('reset-me@example.com', password!)).status, 303)
  const audit = await auditOf(id)
  assert.equal(audit.map((a) => a.action), ['reset-password', 'reset-password'])
  const user = (await userByEmail('reset-me@example.com'))!
  assertAbsent(await auditText(), 'brand new password', password!, user.password_hash)
  assert.not.match(JSON.stringify(rt.logs), password!)
})

// ---- scope ------------------------------------------------------------------------------------

test('a sibling reseller can neither see nor touch alpha\'s users: 404 with no name', async () => {
  const id = await seedUser(tree.alphaCustomer, 'alpha-only@example.com', [], 'Alpha Only Person')
  const beta = await signedIn(rt.app, ADMIN.beta)
  const list = await (await beta.get('/users?q=alpha')).text()
  assert.equal(listed(list), [])
  assertAbsent(list, 'Alpha Only Person', 'alpha-only@example.com')
  for (const res of [
    await beta.get(`/users/${id}`), await beta.get(`/users/${id}/edit`), await beta.postForm(`/users/${id}/disable`, {}),
    await beta.postForm(`/users/${id}/password`, { password: 'beta takes over!' }), await beta.postForm(`/users/${id}`, { name: 'Pwned' }),
  ]) {
    assert.is(res.status, 404)
    assertAbsent(await res.text(), 'Alpha Only Person', 'alpha-only@example.com', 'Alpha Customer')
  }
  const user = (await userByEmail('alpha-only@example.com'))!
  assert.is(user.name, 'Alpha Only Person')
  assert.is(user.status, 'active')
  assert.is((await auditOf(id)).length, 0)
})

test('ids that are not ours or not numbers are 404', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  for (const path of ['/users/abc', '/users/99999999999', '/users/0', '/users/-1', '/users/1e3']) {
    assert.is((await alpha.get(path)).status, 404, path)
  }
  assert.is((await alpha.postForm('/users/abc/disable', {})).status, 404)
})

test.run()
