/**
 * The credential and the user's grants are read together, in one statement, on every request;
 * nothing about them is kept between requests. A role taken away, a permission removed from a
 * role, a session deleted elsewhere (signed out on another instance) or a custom role left behind
 * by a move applies to the very next request, for a browser session and an API token alike. Only
 * the CASL object is reused, keyed by what it is built from: two users with the same roles still
 * get their own ability (nobody edits their own account).
 */
import { subject } from '@casl/ability'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { abilityForUser, loadGrants } from '../../core/access/ability.ts'
import { insertApiToken } from '../../core/auth/tokens.ts'
import { signedIn, type Agent } from '../support/agent.ts'
import { addRole, addUser, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`session and grants on every request (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let roleId: number
let userId: number
let agent: Agent
const EMAIL = 'grants-reader@test.example'
const FRAGMENT = '/reports/organisations.accounts?period=custom&from=2026-01-01&to=2026-01-31'
const htmx = { 'hx-request': 'true' }

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  roleId = await addRole(rt.database.db, tree.alpha.id, 'Grants reader', [['Organisation', 'read']])
  userId = await addUser(rt.database.db, tree.alphaSubCustomer.id, EMAIL, { roleIds: [roleId] })
  agent = await signedIn(rt.app, EMAIL)
})
test.after(async () => { await rt?.dispose() })

const db = () => rt.database.db
const takeRole = () => db().deleteFrom('user_roles').where('user_id', '=', userId).where('role_id', '=', roleId).execute()
const giveRole = () => db().insertInto('user_roles').values({ user_id: userId, role_id: roleId }).execute()

test('a role taken away, or a permission removed from it, applies to the next fragment request', async () => {
  assert.is((await agent.get(FRAGMENT, htmx)).status, 200)
  await takeRole()
  assert.is((await agent.get(FRAGMENT, htmx)).status, 403)
  await giveRole()
  assert.is((await agent.get(FRAGMENT, htmx)).status, 200)
  await db().deleteFrom('role_permissions').where('role_id', '=', roleId).execute()
  assert.is((await agent.get(FRAGMENT, htmx)).status, 403)
  await db().insertInto('role_permissions').values({ role_id: roleId, subject: 'Organisation', action: 'read' }).execute()
  assert.is((await agent.get(FRAGMENT, htmx)).status, 200)
})

test('an API token loses a role on its next call too', async () => {
  const { token } = await insertApiToken(db(), { orgId: tree.alphaSubCustomer.id, userId, name: 'grants test', expiresAt: null })
  const call = () => rt.app.request('/api/v1/organisations', { headers: { authorization: `Bearer ${token}` } })
  assert.is((await call()).status, 200)
  await takeRole()
  assert.is((await call()).status, 403)
  await giveRole()
  assert.is((await call()).status, 200)
})

test('a custom role stops working once the user is moved out of its owner subtree', async () => {
  assert.is((await agent.get(FRAGMENT, htmx)).status, 200)
  await db().updateTable('users').set({ org_id: tree.betaCustomer.id }).where('id', '=', userId).execute()
  try {
    assert.is((await agent.get(FRAGMENT, htmx)).status, 403)
    assert.equal((await loadGrants(db(), userId)).roleIds, [])
  } finally {
    await db().updateTable('users').set({ org_id: tree.alphaSubCustomer.id }).where('id', '=', userId).execute()
  }
  assert.is((await agent.get(FRAGMENT, htmx)).status, 200)
  assert.equal((await loadGrants(db(), userId)).roleIds, [roleId])
})

test('a session deleted elsewhere ends at the next request, full page or fragment', async () => {
  const other = await signedIn(rt.app, EMAIL)
  assert.is((await other.get(FRAGMENT, htmx)).status, 200)
  await db().deleteFrom('sessions').where('user_id', '=', userId).execute()
  const page = await other.get('/')
  assert.is(page.status, 303)
  assert.match(page.headers.get('location') ?? '', /^\/login/)
  const swap = await other.get(FRAGMENT, { ...htmx, 'hx-current-url': 'http://portal.example/organisations?q=north' })
  assert.is(swap.status, 204)
  // After signing in, back to the page the swap came from, not to the fragment's URL.
  assert.is(swap.headers.get('hx-redirect'), `/login?next=${encodeURIComponent('/organisations?q=north')}`)
  const forged = await other.get(FRAGMENT, { ...htmx, 'hx-current-url': 'http://portal.example//evil.example/x' })
  assert.is(forged.headers.get('hx-redirect'), `/login?next=${encodeURIComponent('/')}`)
  agent = await signedIn(rt.app, EMAIL)
})

test('two users with the same grants each get an ability that keeps them off their own account', () => {
  const grants = { roleIds: [1], grants: [{ subject: 'User', action: 'update' }], managesAll: false, managedRoleIds: [] }
  const first = abilityForUser(101, grants)
  const second = abilityForUser(102, { ...grants })
  assert.ok(first.can('update', subject('User', { id: 102 })))
  assert.not.ok(first.can('update', subject('User', { id: 101 })))
  assert.ok(second.can('update', subject('User', { id: 101 })))
  assert.not.ok(second.can('update', subject('User', { id: 102 })))
  // The same user with fewer grants gets a different ability at once.
  assert.not.ok(abilityForUser(101, { ...grants, grants: [{ subject: 'User', action: 'read' }] }).can('update', 'User'))
  assert.ok(abilityForUser(101, grants).can('update', 'User'))
})

test.run()
