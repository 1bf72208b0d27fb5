/**
 * POST /api/v1/usage-events: accepted, duplicate and conflicting events, per-event errors by index,
 * every 4xx of the endpoint, concurrent identical batches, tenant scope through bearer tokens,
 * the audit row, the time window, and GET /api/v1/usage-events.
 */
import { createHash } from 'node:crypto'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { insertApiToken } from '../../core/auth/tokens.ts'
import { rollUpUsage } from '../../core/billing/rollups.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { addSubscription, seedCatalog, type Catalog } from '../support/billing.ts'
import { addRole, addUser, ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`usage events API (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let catalog: Catalog
const subs = {} as Record<'alphaCustomer' | 'alphaSubCustomer' | 'betaCustomer' | 'bundle' | 'cancelled', number>
const tokens = {} as Record<'operator' | 'alpha' | 'beta' | 'customer' | 'alphaForCustomer', string>

const db = () => rt.database.db
const now = () => new Date().toISOString()
let seq = 0
const key = (label = 'k') => `${label}-${++seq}-${Math.random().toString(36).slice(2, 8)}`

interface Report { accepted: number; duplicates: number; errors: { index: number; message: string }[] }

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(db())
  catalog = await seedCatalog(db(), tree.operator.id)
  subs.alphaCustomer = await addSubscription(db(), tree.alphaCustomer.id, catalog.plans.payg!)
  subs.alphaSubCustomer = await addSubscription(db(), tree.alphaSubCustomer.id, catalog.plans.payg!)
  subs.betaCustomer = await addSubscription(db(), tree.betaCustomer.id, catalog.plans.payg!)
  subs.bundle = await addSubscription(db(), tree.alphaCustomer.id, catalog.plans.bundle!)
  subs.cancelled = await addSubscription(db(), tree.alphaCustomer.id, catalog.plans.payg!, { name: 'Old contract' })
  await db().updateTable('subscriptions').set({ status: 'cancelled' }).where('id', '=', subs.cancelled).execute()
  const userOf = async (email: string) => (await db().selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id
  tokens.operator = (await insertApiToken(db(), { orgId: tree.operator.id, userId: await userOf(ADMIN.operator), name: 'op', expiresAt: null })).token
  tokens.alpha = (await insertApiToken(db(), { orgId: tree.alpha.id, userId: await userOf(ADMIN.alpha), name: 'alpha', expiresAt: null })).token
  tokens.beta = (await insertApiToken(db(), { orgId: tree.beta.id, userId: await userOf(ADMIN.beta), name: 'beta', expiresAt: null })).token
  tokens.customer = (await insertApiToken(db(), { orgId: tree.alphaCustomer.id, userId: await userOf(ADMIN.alphaCustomer), name: 'cust', expiresAt: null })).token
  // A reseller admin's token scoped to one customer: what the provider's platform would hold.
  tokens.alphaForCustomer = (await insertApiToken(db(), { orgId: tree.alphaCustomer.id, userId: await userOf(ADMIN.alpha), name: 'alpha for customer', expiresAt: null })).token
})
test.after(async () => { await rt?.dispose() })

async function post(token: string | undefined, body: unknown, raw?: string): Promise<Response> {
  return rt.app.request('/api/v1/usage-events', {
    method: 'POST', body: raw ?? JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  })
}

const event = (over: Record<string, unknown> = {}) => ({ idempotencyKey: key(), subscriptionId: subs.alphaCustomer, meter: 'vcpu-hours', quantity: '1.5', timestamp: now(), ...over })
const stored = async (k: string) => db().selectFrom('usage_events').selectAll().where('idempotency_key', '=', k).execute()
const count = async (table: 'usage_events' | 'usage_rollup_inbox') => Number((await db().selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n)

test('a valid batch is stored with its inbox rows, audited once, and rolled up', async () => {
  const events = [event({ quantity: '2.25' }), event({ quantity: 3, meter: 'egress-gb' }), event({ subscriptionId: subs.alphaSubCustomer, quantity: '0.000001', properties: { vm: 'web-1', zone: 'a' } })]
  const auditBefore = Number((await db().selectFrom('audit_log').select((eb) => eb.fn.countAll<string>().as('n')).where('subject', '=', 'UsageEvent').executeTakeFirstOrThrow()).n)
  const res = await post(tokens.alpha, { events })
  assert.is(res.status, 200)
  assert.equal(await res.json(), { accepted: 3, duplicates: 0, errors: [] })
  const [first] = await stored(events[0]!.idempotencyKey as string)
  assert.is(first!.quantity, '2.250000')
  assert.is(first!.org_id, tree.alphaCustomer.id)
  assert.is(first!.source, 'api')
  assert.is(first!.payload_hash.length, 64)
  const [third] = await stored(events[2]!.idempotencyKey as string)
  assert.is(third!.org_id, tree.alphaSubCustomer.id)
  assert.equal(third!.properties, { vm: 'web-1', zone: 'a' })
  const inbox = await db().selectFrom('usage_rollup_inbox').selectAll().where('event_id', '=', first!.id).execute()
  assert.is(inbox.length, 1)
  const audit = await db().selectFrom('audit_log').selectAll().where('subject', '=', 'UsageEvent').orderBy('id', 'desc').execute()
  assert.is(audit.length, auditBefore + 1)
  assert.is(audit[0]!.org_id, tree.alpha.id)
  assert.is(audit[0]!.actor_email, ADMIN.alpha)
  assert.equal((audit[0]!.after as { accepted: number }).accepted, 3)
  await rollUpUsage(db())
  assert.is(await count('usage_rollup_inbox'), 0)
  const day = now().slice(0, 10)
  const daily = await db().selectFrom('usage_daily').selectAll().where('subscription_id', '=', subs.alphaCustomer).where('day', '=', day)
    .where('meter_id', '=', catalog.meters['vcpu-hours']!).executeTakeFirstOrThrow()
  assert.is(daily.quantity, '2.250000')
})

test('a JSON number quantity keeps its exact decimal text; exponents and over-precise numbers are refused', async () => {
  const ok = event()
  const raw = JSON.stringify({ events: [{ ...ok, quantity: '__Q__' }] }).replace('"__Q__"', '0.1')
  assert.equal(await (await post(tokens.alpha, undefined, raw)).json(), { accepted: 1, duplicates: 0, errors: [] })
  assert.is((await stored(ok.idempotencyKey as string))[0]!.quantity, '0.100000')
  for (const [source, message] of [['1e3', 'no exponent'], ['0.1234567', 'too many digits'], ['-1', 'zero or more']]) {
    const bad = event()
    const text = JSON.stringify({ events: [{ ...bad, quantity: '__Q__' }] }).replace('"__Q__"', source!)
    const res = await post(tokens.alpha, undefined, text)
    assert.is(res.status, 422, source)
    assert.match(JSON.stringify(await res.json()), message!)
    assert.is((await stored(bad.idempotencyKey as string)).length, 0)
  }
})

test('a replay is a duplicate and stores nothing; the same key with another payload is a 409 alone and an indexed error in a batch', async () => {
  const e = event({ quantity: '4' })
  assert.equal(await (await post(tokens.alpha, { events: [e] })).json(), { accepted: 1, duplicates: 0, errors: [] })
  const before = await count('usage_events')
  // Same payload, with the quantity written another way and the timestamp in another zone: the same event.
  const local = new Date(Date.parse(e.timestamp as string) + 3600_000).toISOString().replace('Z', '+01:00')
  const replay = await post(tokens.alpha, { events: [{ ...e, quantity: 4.0, timestamp: local }] })
  assert.is(replay.status, 200)
  assert.equal(await replay.json(), { accepted: 0, duplicates: 1, errors: [] })
  assert.is(await count('usage_events'), before)

  const conflict = await post(tokens.alpha, { events: [{ ...e, quantity: '5' }] })
  assert.is(conflict.status, 409)
  assert.match(JSON.stringify(await conflict.json()), 'already used for a different event')

  const fresh = event()
  const batch = await post(tokens.alpha, { events: [fresh, { ...e, quantity: '5' }, e, { ...fresh }, { ...fresh, quantity: '9' }] })
  assert.is(batch.status, 200)
  const body = (await batch.json()) as Report
  assert.is(body.accepted, 1)
  assert.is(body.duplicates, 2)
  assert.equal(body.errors.map((x) => x.index), [1, 4])
  assert.ok(body.errors.every((x) => /already used/.test(x.message)))
  assert.is((await stored(e.idempotencyKey as string))[0]!.quantity, '4.000000')
  assert.is(await count('usage_events'), before + 1)
})

test('the stored payload hash is SHA-256 of the canonical event array, so replays of older events still match', async () => {
  // The hash is written by hand for speed; these are the bytes stored hashes were always made of.
  const at = new Date(Date.now() - 3600_000)
  const local = new Date(at.getTime() + 3600_000).toISOString().replace(/\.\d+Z$/, '+01:00')
  const e = event({ quantity: '0002.50', timestamp: local, properties: { zone: 'a"b', note: 'caf\u00e9 \u2713 \\ x', nested: { b: 1, a: [true, null] } } })
  assert.equal(await (await post(tokens.alpha, { events: [e] })).json(), { accepted: 1, duplicates: 0, errors: [] })
  const iso = new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString()
  const properties = '{"nested":{"a":[true,null],"b":1},"note":"caf\u00e9 \u2713 \\\\ x","zone":"a\\"b"}'
  const expected = createHash('sha256').update(JSON.stringify([subs.alphaCustomer, 'vcpu-hours', '2.5', iso, properties])).digest('hex')
  const [row] = await stored(e.idempotencyKey as string)
  assert.is(row!.payload_hash, expected)
  assert.is(row!.occurred_at.toISOString(), iso)
  // Without properties the last element is JSON null.
  const plain = event({ quantity: '7' })
  await post(tokens.alpha, { events: [plain] })
  const plainHash = createHash('sha256').update(JSON.stringify([subs.alphaCustomer, 'vcpu-hours', '7', plain.timestamp, null])).digest('hex')
  assert.is((await stored(plain.idempotencyKey as string))[0]!.payload_hash, plainHash)
})

test('timestamps as toISOString writes them: kept to the millisecond; rolled-over dates and hours are refused', async () => {
  const exact = event({ timestamp: new Date(Date.now() - 61_234).toISOString() })
  const cases: Array<[string, string]> = [
    ['2025-02-30T12:00:00.000Z', 'not a real date'],
    ['2025-04-31T12:00:00.000Z', 'not a real date'],
    ['2025-03-01T24:00:00.000Z', 'not a real date'],
    ['2025-03-01T12:60:00.000Z', 'not a real date'],
    ['2025-03-01T12:00:00.000z', 'older than'],
    [' 2025-03-01T12:00:00.000Z', 'older than'],
  ]
  const res = await post(tokens.alpha, { events: [exact, ...cases.map(([timestamp]) => event({ timestamp }))] })
  const body = (await res.json()) as Report
  assert.is(body.accepted, 1)
  cases.forEach(([timestamp, message], i) => assert.match(body.errors[i]!.message, message, `${timestamp}: ${body.errors[i]!.message}`))
  assert.is((await stored(exact.idempotencyKey as string))[0]!.occurred_at.toISOString(), exact.timestamp)
})

test('concurrent identical batches store each event once', async () => {
  const events = Array.from({ length: 50 }, (_, i) => event({ quantity: String(i) }))
  const before = await count('usage_events')
  const answers = await Promise.all([1, 2, 3, 4].map(() => post(tokens.alpha, { events })))
  const bodies = (await Promise.all(answers.map((r) => r.json()))) as Report[]
  assert.ok(answers.every((r) => r.status === 200), answers.map((r) => r.status).join())
  assert.is(bodies.reduce((n, b) => n + b.accepted, 0), 50)
  assert.is(bodies.reduce((n, b) => n + b.duplicates, 0), 150)
  assert.ok(bodies.every((b) => b.errors.length === 0))
  assert.is(await count('usage_events'), before + 50)
})

test('concurrent batches sharing keys in opposite orders neither deadlock nor store twice', async () => {
  const events = Array.from({ length: 300 }, (_, i) => event({ quantity: String(i), subscriptionId: i % 2 ? subs.alphaCustomer : subs.alphaSubCustomer }))
  const before = await count('usage_events')
  const batches = [events, [...events].reverse(), events.slice(100), [...events.slice(0, 200)].reverse()]
  const answers = await Promise.all(batches.map((b) => post(tokens.alpha, { events: b })))
  assert.equal(answers.map((r) => r.status), [200, 200, 200, 200])
  const bodies = (await Promise.all(answers.map((r) => r.json()))) as Report[]
  assert.is(bodies.reduce((n, b) => n + b.accepted, 0), 300)
  assert.is(bodies.reduce((n, b) => n + b.duplicates, 0), 300 + 200 + 200)
  assert.is(await count('usage_events'), before + 300)
})

test('each bad event gets an error with its index; the good ones are stored', async () => {
  const old = new Date(Date.now() - 40 * 86_400_000).toISOString()
  const future = new Date(Date.now() + 10 * 60_000).toISOString()
  const good = event()
  const cases: Array<[Record<string, unknown> | unknown, string]> = [
    [event({ idempotencyKey: '' }), 'idempotencyKey'],
    [event({ idempotencyKey: 'x'.repeat(201) }), 'idempotencyKey'],
    [event({ idempotencyKey: 42 }), 'idempotencyKey'],
    [event({ subscriptionId: 999999 }), 'does not exist, or you cannot see it'],
    [event({ subscriptionId: subs.betaCustomer }), 'does not exist, or you cannot see it'],
    [event({ subscriptionId: 'abc' }), 'subscriptionId'],
    [event({ subscriptionId: subs.cancelled }), 'cancelled'],
    [event({ meter: 'licence-seats' }), 'not priced on the plan'],
    [event({ meter: 'No Such Meter' }), 'meter must be a meter code'],
    [event({ quantity: '1e3' }), 'no exponent'],
    [event({ quantity: 'abc' }), 'plain decimal'],
    [event({ quantity: -1 }), 'zero or more'],
    [event({ quantity: '1.1234567' }), 'too many digits'],
    [event({ quantity: null }), 'quantity'],
    [event({ timestamp: 'yesterday' }), 'ISO 8601'],
    [event({ timestamp: '2025-03-01T12:00:00' }), 'time zone'],
    [event({ timestamp: '2025-02-30T12:00:00Z' }), 'not a real date'],
    [event({ timestamp: old }), 'older than 35 days'],
    [event({ timestamp: future }), 'more than 5 minutes in the future'],
    [event({ properties: [1, 2] }), 'properties must be a JSON object'],
    [event({ properties: { blob: 'x'.repeat(3000) } }), 'at most 2000'],
    ['not an object', 'each event must be a JSON object'],
  ]
  const res = await post(tokens.alpha, { events: [good, ...cases.map(([e]) => e)] })
  assert.is(res.status, 200)
  const body = (await res.json()) as Report
  assert.is(body.accepted, 1)
  assert.equal(body.errors.map((e) => e.index), cases.map((_, i) => i + 1))
  cases.forEach(([, message], i) => assert.match(body.errors[i]!.message, message, `case ${i + 1}: ${body.errors[i]!.message}`))
  assert.match(body.errors.find((e) => /older than/.test(e.message))!.message, 'CSV import')
  assert.is((await stored(good.idempotencyKey as string)).length, 1)
  const text = JSON.stringify(body)
  assert.not.match(text, tree.betaCustomer.name)
  assert.not.match(text, `"orgId":${tree.betaCustomer.id}`)
})

test('every event invalid is a 422 with the same report shape', async () => {
  const res = await post(tokens.alpha, { events: [event({ quantity: 'abc' }), event({ meter: 'licence-seats' })] })
  assert.is(res.status, 422)
  const body = (await res.json()) as Report
  assert.is(body.accepted, 0)
  assert.equal(body.errors.map((e) => e.index), [0, 1])
})

test('the 4xx answers of the endpoint', async () => {
  const cases: Array<[string | undefined, string | undefined, unknown, number, string | RegExp]> = [
    [tokens.alpha, 'not json', undefined, 400, 'not valid JSON'],
    [tokens.alpha, '[1,2]', undefined, 400, 'must be a JSON object'],
    [tokens.alpha, '"text"', undefined, 400, 'must be a JSON object'],
    [tokens.alpha, undefined, {}, 400, 'needs "events"'],
    [tokens.alpha, undefined, { events: {} }, 400, 'must be a list'],
    [tokens.alpha, undefined, { events: [] }, 400, 'is empty'],
    [tokens.alpha, undefined, { events: Array.from({ length: 5001 }, () => ({})) }, 413, 'at most 5000'],
    [tokens.customer, undefined, { events: [event()] }, 403, 'permission'],
    // No credential at all: the CSRF check answers first (a cookie-less, token-less POST proves nothing).
    [undefined, undefined, { events: [event()] }, 403, /refused|did not come from this portal/],
    ['not-a-token', undefined, { events: [event()] }, 401, 'not valid'],
    ['llt_' + 'x'.repeat(43), undefined, { events: [event()] }, 401, 'not valid'],
  ]
  for (const [token, raw, body, status, message] of cases) {
    const res = await post(token, body, raw)
    assert.is(res.status, status, `${raw ?? JSON.stringify(body).slice(0, 40)} -> ${status}`)
    const json = (await res.json()) as { error: { message: string } }
    assert.match(json.error.message, message)
  }
})

test('a custom role without UsageEvent create gets 403 with a session; with the permission, a session works (CSRF)', async () => {
  const viewer = await addRole(db(), tree.alpha.id, 'Usage reader', [['UsageEvent', 'read']])
  await addUser(db(), tree.alpha.id, 'usage-reader@test.example', { roleIds: [viewer] })
  const reader = await signedIn(rt.app, 'usage-reader@test.example')
  const send = async (agent: Agent) => agent.request('/api/v1/usage-events', {
    method: 'POST', body: JSON.stringify({ events: [event()] }),
    headers: { 'content-type': 'application/json', 'x-csrf-token': await agent.csrf('/'), 'sec-fetch-site': 'same-origin' },
  })
  assert.is((await send(reader)).status, 403)
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const res = await send(alpha)
  assert.is(res.status, 200)
  assert.is(((await res.json()) as Report).accepted, 1)
})

test('a reseller cannot write usage for another reseller\'s customer; a token scoped to a customer cannot reach its siblings', async () => {
  const beta = await post(tokens.beta, { events: [event({ subscriptionId: subs.alphaCustomer })] })
  assert.is(beta.status, 422)
  assert.match(JSON.stringify(await beta.json()), 'does not exist, or you cannot see it')
  const own = await post(tokens.beta, { events: [event({ subscriptionId: subs.betaCustomer })] })
  assert.is(((await own.json()) as Report).accepted, 1)
  const scoped = await post(tokens.alphaForCustomer, { events: [event({ subscriptionId: subs.alphaSubCustomer }), event()] })
  const body = (await scoped.json()) as Report
  assert.is(body.accepted, 1)
  assert.equal(body.errors.map((e) => e.index), [0])
  assert.match(body.errors[0]!.message, 'does not exist')
})

test('the same key in two organisations is two events', async () => {
  const k = key('shared')
  const res = await post(tokens.alpha, { events: [event({ idempotencyKey: k }), event({ idempotencyKey: k, subscriptionId: subs.alphaSubCustomer })] })
  assert.equal(await res.json(), { accepted: 2, duplicates: 0, errors: [] })
})

test('the time window follows the settings', async () => {
  const narrow = await testRuntime({ settings: { USAGE_MAX_AGE_DAYS: '2', USAGE_MAX_FUTURE_MINUTES: '0' } })
  try {
    const t = await seedTree(narrow.database.db)
    const c = await seedCatalog(narrow.database.db, t.operator.id)
    const sub = await addSubscription(narrow.database.db, t.alphaCustomer.id, c.plans.payg!)
    const user = (await narrow.database.db.selectFrom('users').select('id').where('email', '=', ADMIN.alpha).executeTakeFirstOrThrow()).id
    const { token } = await insertApiToken(narrow.database.db, { orgId: t.alpha.id, userId: user, name: 'n', expiresAt: null })
    const res = await narrow.app.request('/api/v1/usage-events', {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [
        event({ subscriptionId: sub, timestamp: new Date(Date.now() - 3 * 86_400_000).toISOString() }),
        event({ subscriptionId: sub, timestamp: new Date(Date.now() + 60_000).toISOString() }),
        event({ subscriptionId: sub, timestamp: new Date(Date.now() - 86_400_000).toISOString() }),
      ] }),
    })
    const body = (await res.json()) as Report
    assert.is(body.accepted, 1)
    assert.match(body.errors[0]!.message, 'older than 2 days')
    assert.match(body.errors[1]!.message, 'more than 0 minutes in the future')
  } finally {
    await narrow.dispose()
  }
})

test('GET /api/v1/usage-events lists the caller\'s subtree with filters and keyset paging', async () => {
  const events = Array.from({ length: 5 }, (_, i) => event({ subscriptionId: subs.bundle, meter: 'sms', quantity: String(i + 1) }))
  assert.is(((await (await post(tokens.alpha, { events })).json()) as Report).accepted, 5)
  const get = (token: string, q: string) => rt.app.request(`/api/v1/usage-events${q}`, { headers: { authorization: `Bearer ${token}` } })
  const first = (await (await get(tokens.alpha, `?subscription=${subs.bundle}&meter=sms&limit=3`)).json()) as { events: { quantity: string; subscriptionId: number }[]; next: string | null }
  assert.equal(first.events.map((e) => e.quantity), ['5.000000', '4.000000', '3.000000'])
  assert.ok(first.next)
  const second = (await (await get(tokens.alpha, `?subscription=${subs.bundle}&meter=sms&limit=3&before=${first.next}`)).json()) as typeof first
  assert.equal(second.events.map((e) => e.quantity), ['2.000000', '1.000000'])
  assert.is(second.next, null)
  const beta = (await (await get(tokens.beta, `?subscription=${subs.bundle}`)).json()) as typeof first
  assert.is(beta.events.length, 0)
  const betaAll = await (await get(tokens.beta, '')).text()
  assert.not.match(betaAll, `"orgId":${tree.alphaCustomer.id}`)
  assert.is((await get(tokens.alpha, '?from=yesterday')).status, 422)
  const customer = await get(tokens.customer, '?limit=500')
  assert.is(customer.status, 200)
})

test.run()
