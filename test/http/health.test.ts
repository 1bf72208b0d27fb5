import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createApp } from '../../core/app.tsx'
import { migrationSets } from '../../core/runtime.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`health and dashboard (${dbLabel})`)

let rt: TestRuntime
let tree: Tree

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
})

test.after(async () => {
  await rt?.dispose()
})

/** The number on the dashboard card with this label. */
function card(html: string, label: string): number | undefined {
  const match = new RegExp(`<div class="value">(\\d+)</div><div class="label">${label}`).exec(html)
  return match ? Number(match[1]) : undefined
}

// ---- health ----------------------------------------------------------------------------------

test('/healthz answers ok without a session, and is not logged', async () => {
  const res = await new Agent(rt.app).get('/healthz')
  assert.is(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
  assert.equal(await res.json(), { status: 'ok' })
  assert.not.ok(rt.logs.some((l) => l.msg === 'request' && l.path === '/healthz'))
})

test('/readyz answers ready when the database is up and fully migrated', async () => {
  const res = await new Agent(rt.app).get('/readyz')
  assert.is(res.status, 200)
  assert.equal(await res.json(), { status: 'ready' })
})

test('/readyz answers 503 while a migration is pending, and does not apply it', async () => {
  const app = createApp({
    db: rt.database.db,
    plugins: rt.plugins,
    migrations: [...migrationSets(rt.plugins), { owner: 'ghost', migrations: { '0001_x': { up: async () => {} } } }],
    secret: 'test-secret-test-secret-test-secret-0123',
    log: rt.log,
    secureCookies: false,
  })
  for (let i = 0; i < 2; i++) {
    const res = await app.request('http://localhost/readyz')
    assert.is(res.status, 503)
    assert.equal(await res.json(), { status: 'not ready', reason: '1 migration(s) pending' })
  }
  assert.is((await rt.app.request('http://localhost/readyz')).status, 200)
})

// ---- dashboard -------------------------------------------------------------------------------

test('the dashboard counts what is in the reseller\'s subtree, and links to Organisations', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const res = await admin.get('/')
  assert.is(res.status, 200)
  const html = await res.text()
  assert.is(card(html, 'Resellers'), 2) // alpha itself and alphaSub
  assert.is(card(html, 'Customers'), 2)
  assert.is(card(html, 'Users'), 4)
  assert.ok(html.includes(`<a href="/organisations/${tree.alpha.id}">Alpha Reseller</a>`))
  assert.match(html, /<nav class="sidenav"[^>]*>[\s\S]*<a href="\/organisations"[^>]*>Organisations<\/a>[\s\S]*<\/nav>/)
  assert.not.ok(html.includes('Beta'))
})

test('the dashboard counts the whole tree for the operator, and one organisation for a customer', async () => {
  const operator = await (await (await signedIn(rt.app, ADMIN.operator)).get('/')).text()
  assert.is(card(operator, 'Resellers'), 3)
  assert.is(card(operator, 'Customers'), 3)
  assert.is(card(operator, 'Users'), 7)
  const customer = await (await (await signedIn(rt.app, ADMIN.betaCustomer)).get('/')).text()
  assert.is(card(customer, 'Resellers'), 0)
  assert.is(card(customer, 'Customers'), 1)
  assert.is(card(customer, 'Users'), 1)
  assert.not.ok(customer.includes('Beta Reseller'))
})

test('anonymous visitors to the dashboard are sent to sign in', async () => {
  const res = await new Agent(rt.app).get('/')
  assert.is(res.status, 303)
  assert.is(res.headers.get('location'), '/login?next=%2F')
})

// ---- unknown paths ---------------------------------------------------------------------------

test('an unknown path is a 404 page inside the app shell, with the request id', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const res = await admin.get('/no-such-page')
  assert.is(res.status, 404)
  const html = await res.text()
  assert.ok(html.includes('<html'))
  assert.ok(html.includes('<h1>Not found</h1>'))
  const requestId = res.headers.get('x-request-id')
  assert.ok(requestId)
  assert.ok(html.includes(`Reference: ${requestId}`))
})

test('an unknown path asked for as JSON gets a JSON error with the request id', async () => {
  const admin = await signedIn(rt.app, ADMIN.alpha)
  const res = await admin.get('/no-such-page', { accept: 'application/json' })
  assert.is(res.status, 404)
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
  const body = (await res.json()) as { error: { status: number; message: string; requestId: string } }
  assert.equal(Object.keys(body), ['error'])
  assert.is(body.error.status, 404)
  assert.type(body.error.message, 'string')
  assert.ok(body.error.message.length > 0)
  assert.is(body.error.requestId, res.headers.get('x-request-id'))
})

test('a JSON request without a session is a 401 in JSON, not a redirect', async () => {
  const res = await new Agent(rt.app).get('/organisations', { accept: 'application/json' })
  assert.is(res.status, 401)
  const body = (await res.json()) as { error: { status: number; requestId: string } }
  assert.is(body.error.status, 401)
  assert.is(body.error.requestId, res.headers.get('x-request-id'))
})

test.run()
