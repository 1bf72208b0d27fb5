import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { OrganisationRow } from '../../core/db/schema.ts'
import { insertOrganisation } from '../../core/tenancy/organisations.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`organisations (${dbLabel})`)

let rt: TestRuntime
let tree: Tree

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
})

test.after(async () => {
  await rt?.dispose()
})

const ALL_NAMES = ['Test Operator', 'Alpha Reseller', 'Alpha Customer', 'Alpha Sub Reseller', 'Alpha Sub Customer', 'Beta Reseller', 'Beta Customer']

/** Names in the tree table, in the order shown. */
function tableNames(html: string): string[] {
  return [...html.matchAll(/<tr data-org-id="\d+"><td>(?:<span[^>]*>[^<]*<\/span>)?<a href="\/organisations\/\d+">([^<]*)<\/a>/g)].map((m) => m[1]!)
}

function assertAbsent(html: string, ...needles: string[]): void {
  for (const needle of needles) assert.not.ok(html.includes(needle), `"${needle}" should not be in the body`)
}

async function orgRow(id: number): Promise<OrganisationRow | undefined> {
  return rt.database.db.selectFrom('organisations').selectAll().where('id', '=', id).executeTakeFirst() as Promise<OrganisationRow | undefined>
}

async function orgCount(): Promise<number> {
  const row = await rt.database.db.selectFrom('organisations').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

async function byName(name: string): Promise<OrganisationRow[]> {
  return rt.database.db.selectFrom('organisations').selectAll().where('name', '=', name).execute() as Promise<OrganisationRow[]>
}

const newOrgId = (location: string | null) => Number(/^\/organisations\/(\d+)$/.exec(location ?? '')?.[1])

// ---- reading ---------------------------------------------------------------------------------

test('anonymous visitors are sent to sign in, coming back to the list afterwards', async () => {
  const res = await new Agent(rt.app).get('/organisations')
  assert.is(res.status, 303)
  assert.is(res.headers.get('location'), '/login?next=%2Forganisations')
})

test('the operator admin sees the whole tree, depth first', async () => {
  const admin = await signedIn(rt.app, ADMIN.operator)
  const res = await admin.get('/organisations')
  assert.is(res.status, 200)
  assert.equal(tableNames(await res.text()), ALL_NAMES)
})

test('a reseller admin sees its own subtree and nothing of its parent or siblings', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const res = await admin.get('/organisations')
  assert.is(res.status, 200)
  const html = await res.text()
  assert.equal(tableNames(html), ['Alpha Reseller', 'Alpha Customer', 'Alpha Sub Reseller', 'Alpha Sub Customer'])
  assertAbsent(html, 'Beta', 'Test Operator')
  assert.ok(html.includes('New reseller'))
})

test('a customer admin sees only its own organisation and cannot create', async () => {
  const admin = await signedIn(rt.app, ADMIN.alphaCustomer)
  const res = await admin.get('/organisations')
  assert.is(res.status, 200)
  const html = await res.text()
  assert.equal(tableNames(html), ['Alpha Customer'])
  assertAbsent(html, 'Alpha Reseller', 'Alpha Sub', 'Beta', 'Test Operator', 'New reseller', 'New customer')
  assert.is((await admin.get('/organisations/new')).status, 403)
})

test('an organisation outside the subtree is not found, without naming it', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const sibling = await admin.get(`/organisations/${tree.beta.id}`)
  assert.is(sibling.status, 404)
  assertAbsent(await sibling.text(), 'Beta')
  const parent = await admin.get(`/organisations/${tree.operator.id}`)
  assert.is(parent.status, 404)
  assertAbsent(await parent.text(), 'Test Operator')
  assert.is((await admin.get(`/organisations/${tree.betaCustomer.id}/edit`)).status, 404)
  const json = await admin.get(`/organisations/${tree.beta.id}`, { accept: 'application/json' })
  assert.is(json.status, 404)
  const body = (await json.json()) as { error: { status: number; message: string } }
  assert.is(body.error.status, 404)
  assertAbsent(body.error.message, 'Beta')
})

test('an organisation inside the subtree shows, with breadcrumbs cut at the caller', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const res = await admin.get(`/organisations/${tree.alphaSubCustomer.id}`)
  assert.is(res.status, 200)
  const html = await res.text()
  assert.ok(html.includes('<h1>Alpha Sub Customer'))
  assert.ok(html.includes(`<a href="/organisations/${tree.alphaSub.id}">Alpha Sub Reseller</a>`))
  assertAbsent(html, 'Test Operator', `href="/organisations/${tree.operator.id}"`)
})

test('a reseller\'s page lists what is directly below it, one child or several', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const one = await admin.get(`/organisations/${tree.alphaSub.id}`)
  assert.is(one.status, 200)
  const oneHtml = await one.text()
  assert.ok(oneHtml.includes('Directly below (1)'))
  assert.ok(oneHtml.includes(`<a href="/organisations/${tree.alphaSubCustomer.id}">Alpha Sub Customer</a>`))
  const two = await admin.get(`/organisations/${tree.alpha.id}`)
  assert.is(two.status, 200)
  const twoHtml = await two.text()
  assert.ok(twoHtml.includes('Directly below (2)'))
  assert.ok(twoHtml.includes('>Alpha Customer</a>') && twoHtml.includes('>Alpha Sub Reseller</a>'))
  assertAbsent(twoHtml, 'Alpha Sub Customer</a>', 'Beta')
})

test('ids that are not organisation ids are not found, never a server error', async () => {
  const admin = await signedIn(rt.app, ADMIN.operator)
  for (const id of ['abc', '0', '-1', '1.5', '99999999999', '1e3']) {
    const res = await admin.get(`/organisations/${id}`)
    assert.is(res.status, 404, `/organisations/${id}`)
  }
})

test('?q= filters by name, case-insensitively, and treats % and _ literally', async () => {
  const admin = await signedIn(rt.app, ADMIN.operator)
  assert.equal(tableNames(await (await admin.get('/organisations?q=sub')).text()), ['Alpha Sub Customer', 'Alpha Sub Reseller'])
  const none = await (await admin.get('/organisations?q=_')).text()
  assert.equal(tableNames(none), [])
  assert.ok(none.includes('No organisations match.'))
  assert.equal(tableNames(await (await admin.get('/organisations?q=%25')).text()), [])
})

test('?kind= filters by kind inside the caller\'s subtree', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const html = await (await admin.get('/organisations?kind=customer')).text()
  assert.equal(tableNames(html), ['Alpha Customer', 'Alpha Sub Customer'], 'a filtered list is flat, by name')
  assertAbsent(html, 'Beta Customer')
  const combined = await (await admin.get('/organisations?kind=reseller&q=sub')).text()
  assert.equal(tableNames(combined), ['Alpha Sub Reseller'])
})

test('one URL, two shapes: a page on navigation, a fragment for htmx, both Vary: HX-Request', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const full = await admin.get('/organisations?q=sub')
  const fullHtml = await full.text()
  assert.is(full.status, 200)
  assert.ok(fullHtml.includes('<html'))
  assert.match(full.headers.get('vary') ?? '', /HX-Request/i)
  const fragment = await admin.get('/organisations?q=sub', { 'HX-Request': 'true', 'HX-Request-Type': 'partial' })
  const fragmentHtml = await fragment.text()
  assert.is(fragment.status, 200)
  assert.not.ok(fragmentHtml.includes('<html'))
  assert.ok(fragmentHtml.includes('id="org-table"'))
  assert.equal(tableNames(fragmentHtml), ['Alpha Sub Customer', 'Alpha Sub Reseller'])
  assert.match(fragment.headers.get('vary') ?? '', /HX-Request/i)
})

// ---- creating --------------------------------------------------------------------------------

test('a reseller admin creates a customer below its sub-reseller', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const res = await admin.postForm('/organisations', { kind: 'customer', parentId: String(tree.alphaSub.id), name: 'Gamma Customer', currency: 'usd', billingEmail: 'billing@gamma.example' })
  assert.is(res.status, 303)
  const id = newOrgId(res.headers.get('location'))
  assert.ok(id > 0, `location ${res.headers.get('location')}`)
  const row = await orgRow(id)
  assert.ok(row)
  assert.is(row.name, 'Gamma Customer')
  assert.is(row.kind, 'customer')
  assert.is(row.parent_id, tree.alphaSub.id)
  assert.is(row.path, `${tree.alphaSub.path}${id}/`)
  assert.is(row.currency, 'USD')
  assert.is(row.billing_email, 'billing@gamma.example')
  assert.is(row.status, 'active')
  const shown = await admin.get(`/organisations/${id}`)
  assert.is(shown.status, 200)
  assert.ok((await shown.text()).includes('Gamma Customer was created.'))
})

test('creating under a parent outside the subtree is refused without naming it', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const before = await orgCount()
  const res = await admin.postForm('/organisations', { kind: 'customer', parentId: String(tree.beta.id), name: 'Sneaky Customer', currency: 'EUR' })
  assert.is(res.status, 422)
  const html = await res.text()
  assertAbsent(html, 'Beta', 'Test Operator')
  assert.ok(html.includes('Choose a parent organisation you manage'))
  assert.is(await orgCount(), before)
  assert.equal(await byName('Sneaky Customer'), [])
})

test('a parent id beyond the id range is an unknown parent, not a server error', async () => {
  const admin = await signedIn(rt.app, ADMIN.operator)
  const before = await orgCount()
  const res = await admin.postForm('/organisations', { kind: 'customer', parentId: '99999999999', name: 'Far Customer', currency: 'EUR' })
  assert.is(res.status, 422)
  assert.is(await orgCount(), before)
})

test('creating under a customer is refused', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const before = await orgCount()
  const res = await admin.postForm('/organisations', { kind: 'customer', parentId: String(tree.alphaCustomer.id), name: 'Nested Customer', currency: 'EUR' })
  assert.is(res.status, 422)
  assert.ok((await res.text()).includes('customers cannot have organisations under them'))
  assert.is(await orgCount(), before)
})

test('a missing name is a 422 with the field\'s message, and nothing is created', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const before = await orgCount()
  const res = await admin.postForm('/organisations', { kind: 'reseller', parentId: String(tree.alpha.id), name: '   ', currency: 'EUR' })
  assert.is(res.status, 422)
  const html = await res.text()
  assert.ok(html.includes('<small class="error" id="f-name-error">Enter a name</small>'))
  assert.is(await orgCount(), before)
})

test('a sibling with the same name (any case) is a 409', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const before = await orgCount()
  const res = await admin.postForm('/organisations', { kind: 'customer', parentId: String(tree.alpha.id), name: 'alpha customer', currency: 'EUR' })
  assert.is(res.status, 409)
  assert.ok((await res.text()).includes('already exists under Alpha Reseller'))
  assert.is(await orgCount(), before)
})

test('a customer admin cannot create anything: its role lacks create Organisation (403), nothing created', async () => {
  const admin = await signedIn(rt.app, ADMIN.alphaCustomer)
  const before = await orgCount()
  const own = await admin.postForm('/organisations', { kind: 'customer', parentId: String(tree.alphaCustomer.id), name: 'Customer Child', currency: 'EUR' })
  assert.is(own.status, 403)
  const parent = await admin.postForm('/organisations', { kind: 'customer', parentId: String(tree.alpha.id), name: 'Customer Sibling', currency: 'EUR' })
  assert.is(parent.status, 403)
  assertAbsent(await parent.text(), 'Alpha Reseller')
  assert.is(await orgCount(), before)
})

test('a form without its CSRF token is refused with 403 and nothing is created', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const before = await orgCount()
  const res = await admin.postForm('/organisations', { kind: 'customer', parentId: String(tree.alpha.id), name: 'Forged Customer', currency: 'EUR' }, { csrf: null })
  assert.is(res.status, 403)
  const other = await signedIn(rt.app, ADMIN.beta)
  const stolen = await admin.postForm('/organisations', { kind: 'customer', parentId: String(tree.alpha.id), name: 'Forged Customer', currency: 'EUR' }, { csrf: await other.csrf('/') })
  assert.is(stolen.status, 403)
  assert.is(await orgCount(), before)
  assert.equal(await byName('Forged Customer'), [])
})

// ---- editing and moving ----------------------------------------------------------------------

test('a rename changes the name and leaves fields that were not sent alone', async () => {
  const org = await insertOrganisation(rt.database.db, tree.alpha, { kind: 'customer', name: 'Delta Customer', status: 'suspended', currency: 'GBP', billing_email: 'ap@delta.example' })
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const res = await admin.postForm(`/organisations/${org.id}`, { name: 'Delta Customer Ltd' })
  assert.is(res.status, 303)
  assert.is(res.headers.get('location'), `/organisations/${org.id}`)
  const row = (await orgRow(org.id))!
  assert.is(row.name, 'Delta Customer Ltd')
  assert.is(row.status, 'suspended')
  assert.is(row.currency, 'GBP')
  assert.is(row.billing_email, 'ap@delta.example')
  assert.is(row.path, org.path)
})

test('the edit form saves every field it sends', async () => {
  const org = await insertOrganisation(rt.database.db, tree.alpha, { kind: 'customer', name: 'Epsilon Customer' })
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const res = await admin.postForm(`/organisations/${org.id}`, {
    name: 'Epsilon Customer', parentId: String(tree.alpha.id), billingEmail: 'ap@epsilon.example', currency: 'chf', status: 'suspended',
  })
  assert.is(res.status, 303)
  const row = (await orgRow(org.id))!
  assert.is(row.billing_email, 'ap@epsilon.example')
  assert.is(row.currency, 'CHF')
  assert.is(row.status, 'suspended')
  assert.is(row.parent_id, tree.alpha.id)
  assert.is(row.path, org.path)
})

test('renaming onto a sibling\'s name is a 409 and changes nothing', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const res = await admin.postForm(`/organisations/${tree.alphaCustomer.id}`, { name: 'ALPHA SUB RESELLER' })
  assert.is(res.status, 409)
  assert.is((await orgRow(tree.alphaCustomer.id))!.name, 'Alpha Customer')
})

test('moving a customer up to its grandparent rewrites its path', async () => {
  const org = await insertOrganisation(rt.database.db, tree.alphaSub, { kind: 'customer', name: 'Zeta Customer' })
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const res = await admin.postForm(`/organisations/${org.id}`, { parentId: String(tree.alpha.id) })
  assert.is(res.status, 303)
  const row = (await orgRow(org.id))!
  assert.is(row.parent_id, tree.alpha.id)
  assert.is(row.path, `${tree.alpha.path}${org.id}/`)
  assert.is(row.name, 'Zeta Customer')
})

test('moving alphaSubCustomer under alpha, as alpha\'s admin', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const res = await admin.postForm(`/organisations/${tree.alphaSubCustomer.id}`, { name: 'Alpha Sub Customer', parentId: String(tree.alpha.id), currency: 'EUR', status: 'active' })
  assert.is(res.status, 303)
  const row = (await orgRow(tree.alphaSubCustomer.id))!
  assert.is(row.parent_id, tree.alpha.id)
  assert.is(row.path, `${tree.alpha.path}${tree.alphaSubCustomer.id}/`)
})

test('a reseller admin cannot move its organisations out of its subtree', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const res = await admin.postForm(`/organisations/${tree.alphaSub.id}`, { parentId: String(tree.beta.id) })
  assert.is(res.status, 422)
  assertAbsent(await res.text(), 'Beta')
  const row = (await orgRow(tree.alphaSub.id))!
  assert.is(row.path, tree.alphaSub.path)
  assert.is(row.parent_id, tree.alpha.id)
})

test('nothing moves under itself, one of its own, or a customer', async () => {
  const admin = await signedIn(rt.app, ADMIN.operator)
  const underChild = await admin.postForm(`/organisations/${tree.alpha.id}`, { parentId: String(tree.alphaSub.id) })
  assert.is(underChild.status, 422)
  assert.ok((await underChild.text()).includes('cannot be moved under itself or one of its own'))
  const underSelf = await admin.postForm(`/organisations/${tree.alphaSub.id}`, { parentId: String(tree.alphaSub.id) })
  assert.is(underSelf.status, 422)
  const underCustomer = await admin.postForm(`/organisations/${tree.alphaSub.id}`, { parentId: String(tree.betaCustomer.id) })
  assert.is(underCustomer.status, 422)
  assert.is((await orgRow(tree.alpha.id))!.path, tree.alpha.path)
  assert.is((await orgRow(tree.alphaSub.id))!.path, tree.alphaSub.path)
})

test('a reseller admin cannot edit an organisation outside its subtree', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const res = await admin.postForm(`/organisations/${tree.beta.id}`, { name: 'Taken Over' })
  assert.is(res.status, 404)
  assertAbsent(await res.text(), 'Beta')
  const row = (await orgRow(tree.beta.id))!
  assert.is(row.name, 'Beta Reseller')
  assert.equal(await byName('Taken Over'), [])
})

test('a reseller admin\'s own organisation does not move, whatever the form says', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const res = await admin.postForm(`/organisations/${tree.alpha.id}`, { name: 'Alpha Reseller', parentId: String(tree.alphaSub.id) })
  assert.is(res.status, 303)
  const row = (await orgRow(tree.alpha.id))!
  assert.is(row.parent_id, tree.operator.id)
  assert.is(row.path, tree.alpha.path)
})

test('moving a reseller re-roots its whole subtree (operator moves alphaSub under beta)', async () => {
  const db = rt.database.db
  // A deeper subtree, so re-rooting is checked below the first level too.
  const deep = await insertOrganisation(db, tree.alphaSub, { kind: 'reseller', name: 'Deep Reseller' })
  await insertOrganisation(db, deep, { kind: 'customer', name: 'Deep Customer' })
  const oldPrefix = tree.alphaSub.path
  const before = (await db.selectFrom('organisations').select(['id', 'path']).where('path', 'like', `${oldPrefix}%`).execute())
  assert.ok(before.length >= 3, `subtree of ${before.length}`)
  const untouched = await db.selectFrom('organisations').select(['id', 'path']).where('path', 'not like', `${oldPrefix}%`).orderBy('id').execute()

  const admin = await signedIn(rt.app, ADMIN.operator)
  const res = await admin.postForm(`/organisations/${tree.alphaSub.id}`, { parentId: String(tree.beta.id) })
  assert.is(res.status, 303)

  const newPrefix = `${tree.beta.path}${tree.alphaSub.id}/`
  for (const { id, path } of before) {
    assert.is((await orgRow(id))!.path, newPrefix + path.slice(oldPrefix.length), `org ${id}`)
  }
  assert.is((await orgRow(tree.alphaSub.id))!.parent_id, tree.beta.id)
  assert.is((await orgRow(deep.id))!.parent_id, tree.alphaSub.id)
  const stale = await db.selectFrom('organisations').select('id').where('path', 'like', `${oldPrefix}%`).execute()
  assert.equal(stale, [])
  assert.equal(await db.selectFrom('organisations').select(['id', 'path']).where('path', 'not like', `${newPrefix}%`).orderBy('id').execute(), untouched)

  // Visibility follows the move: alpha lost the subtree, beta gained it.
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  assert.is((await alpha.get(`/organisations/${deep.id}`)).status, 404)
  assertAbsent(await (await alpha.get('/organisations')).text(), 'Deep Reseller', 'Alpha Sub Reseller')
  const beta = await signedIn(rt.app, ADMIN.beta)
  assert.is((await beta.get(`/organisations/${deep.id}`)).status, 200)
  const betaNames = tableNames(await (await beta.get('/organisations')).text())
  assert.ok(betaNames.includes('Deep Customer') && betaNames.includes('Alpha Sub Reseller'), betaNames.join(', '))
})

test.run()
