/**
 * Rollups: sum adds, max keeps the peak, last keeps the latest event's value, per UTC day and per
 * month; late events update the right day and month; two rollups at once count each event once;
 * ingestion triggers the rollup job.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { insertApiToken } from '../../core/auth/tokens.ts'
import { rollUpUsage, rollupLag } from '../../core/billing/rollups.ts'
import { ingestUsage } from '../../core/billing/usage.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { addSubscription, seedCatalog, type Catalog } from '../support/billing.ts'
import { ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`usage rollups (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let catalog: Catalog
let sdb: ScopedDb
let seq = 0

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  catalog = await seedCatalog(rt.database.db, tree.operator.id)
  sdb = new ScopedDb(rt.database.db, { orgId: tree.operator.id, path: tree.operator.path })
})
test.after(async () => { await rt?.dispose() })

const db = () => rt.database.db

/** Stores events as an import would (no age limit, no job): [meter, quantity, timestamp]. */
async function store(subscriptionId: number, events: Array<[string, string, string]>): Promise<void> {
  const report = await ingestUsage(sdb, events.map(([meter, quantity, timestamp]) => ({ idempotencyKey: `e-${++seq}`, subscriptionId, meter, quantity, timestamp })), {
    source: 'import', window: { maxAgeDays: null, maxFutureMinutes: 5 }, triggerRollup: false, audit: false,
  })
  assert.is(report.accepted, events.length, JSON.stringify(report.errors))
}

async function daily(subscriptionId: number, meter: string, day: string) {
  return db().selectFrom('usage_daily').select(['quantity', 'event_count', 'last_at']).where('subscription_id', '=', subscriptionId)
    .where('meter_id', '=', catalog.meters[meter]!).where('day', '=', day).executeTakeFirst()
}
async function monthly(subscriptionId: number, meter: string, month: string) {
  return db().selectFrom('usage_monthly').select(['quantity', 'event_count', 'last_at']).where('subscription_id', '=', subscriptionId)
    .where('meter_id', '=', catalog.meters[meter]!).where('month', '=', month).executeTakeFirst()
}

test('sum adds, max keeps the peak, last keeps the latest value; days and months are UTC', async () => {
  const payg = await addSubscription(db(), tree.alphaCustomer.id, catalog.plans.payg!)
  const bundle = await addSubscription(db(), tree.alphaCustomer.id, catalog.plans.bundle!)
  await store(payg, [
    ['vcpu-hours', '1.5', '2025-03-01T10:00:00Z'], ['vcpu-hours', '2.25', '2025-03-01T23:30:00Z'],
    // 00:30 on 2 March in Paris is still 1 March UTC.
    ['vcpu-hours', '1', '2025-03-02T00:30:00+01:00'], ['vcpu-hours', '4', '2025-03-02T08:00:00Z'], ['vcpu-hours', '7', '2025-04-01T00:00:00Z'],
    ['storage-gb', '100', '2025-03-01T01:00:00Z'], ['storage-gb', '250', '2025-03-01T02:00:00Z'], ['storage-gb', '120', '2025-03-01T03:00:00Z'],
    ['storage-gb', '90', '2025-03-05T00:00:00Z'],
  ])
  await store(bundle, [
    ['licence-seats', '12', '2025-03-01T09:00:00Z'], ['licence-seats', '10', '2025-03-01T18:00:00Z'], ['licence-seats', '15', '2025-03-01T12:00:00Z'],
    ['licence-seats', '11', '2025-03-20T12:00:00Z'],
  ])
  const folded = await rollUpUsage(db(), { batchSize: 4 })
  assert.is(folded, 13)
  assert.is((await rollupLag(sdb)).waiting, 0)

  assert.equal(await daily(payg, 'vcpu-hours', '2025-03-01'), { quantity: '4.750000', event_count: '3', last_at: new Date('2025-03-01T23:30:00Z') })
  assert.is((await daily(payg, 'vcpu-hours', '2025-03-02'))!.quantity, '4.000000')
  assert.equal((await monthly(payg, 'vcpu-hours', '2025-03-01'))!.quantity, '8.750000')
  assert.equal((await monthly(payg, 'vcpu-hours', '2025-03-01'))!.event_count, '4')
  assert.is((await monthly(payg, 'vcpu-hours', '2025-04-01'))!.quantity, '7.000000')
  assert.is((await daily(payg, 'storage-gb', '2025-03-01'))!.quantity, '250.000000')
  assert.is((await monthly(payg, 'storage-gb', '2025-03-01'))!.quantity, '250.000000')
  assert.is((await daily(bundle, 'licence-seats', '2025-03-01'))!.quantity, '10.000000')
  assert.is((await monthly(bundle, 'licence-seats', '2025-03-01'))!.quantity, '11.000000')
})

test('late events update the right day and month, by each aggregation', async () => {
  const payg = await addSubscription(db(), tree.alphaSubCustomer.id, catalog.plans.payg!)
  const bundle = await addSubscription(db(), tree.alphaSubCustomer.id, catalog.plans.bundle!)
  await store(payg, [['vcpu-hours', '10', '2025-05-10T12:00:00Z'], ['storage-gb', '50', '2025-05-10T12:00:00Z']])
  await store(bundle, [['licence-seats', '20', '2025-05-10T12:00:00Z']])
  await rollUpUsage(db())
  // Late arrivals, after the day was rolled up.
  await store(payg, [['vcpu-hours', '2.5', '2025-05-10T01:00:00Z'], ['vcpu-hours', '1', '2025-05-02T01:00:00Z'], ['storage-gb', '40', '2025-05-10T13:00:00Z'], ['storage-gb', '70', '2025-05-10T00:00:00Z']])
  await store(bundle, [['licence-seats', '5', '2025-05-10T06:00:00Z'], ['licence-seats', '25', '2025-05-10T20:00:00Z']])
  await rollUpUsage(db())
  assert.equal(await daily(payg, 'vcpu-hours', '2025-05-10'), { quantity: '12.500000', event_count: '2', last_at: new Date('2025-05-10T12:00:00Z') })
  assert.is((await daily(payg, 'vcpu-hours', '2025-05-02'))!.quantity, '1.000000')
  assert.equal((await monthly(payg, 'vcpu-hours', '2025-05-01'))!.quantity, '13.500000')
  assert.equal((await monthly(payg, 'vcpu-hours', '2025-05-01'))!.event_count, '3')
  assert.is((await daily(payg, 'storage-gb', '2025-05-10'))!.quantity, '70.000000')
  assert.is((await monthly(payg, 'storage-gb', '2025-05-01'))!.quantity, '70.000000')
  // The 06:00 value arrived late but is older than the 12:00 one: it does not replace it; 20:00 does.
  assert.is((await daily(bundle, 'licence-seats', '2025-05-10'))!.quantity, '25.000000')
  assert.is((await monthly(bundle, 'licence-seats', '2025-05-01'))!.quantity, '25.000000')
  await store(bundle, [['licence-seats', '3', '2025-05-10T19:00:00Z']])
  await rollUpUsage(db())
  assert.is((await daily(bundle, 'licence-seats', '2025-05-10'))!.quantity, '25.000000')
  assert.is((await daily(bundle, 'licence-seats', '2025-05-10'))!.event_count, '4')
})

test('two rollups at once count each event exactly once', async () => {
  const subs = [await addSubscription(db(), tree.betaCustomer.id, catalog.plans.payg!), await addSubscription(db(), tree.alphaCustomer.id, catalog.plans.payg!)]
  const events: Array<[number, [string, string, string]]> = []
  for (let i = 0; i < 3000; i++) {
    const day = String(1 + (i % 5)).padStart(2, '0')
    events.push([subs[i % 2]!, ['egress-gb', `${(i % 7) + 1}.5`, `2025-06-${day}T${String(i % 24).padStart(2, '0')}:00:00Z`]])
  }
  for (const sub of subs) await store(sub, events.filter(([s]) => s === sub).map(([, e]) => e))
  const expected = events.reduce((n, [, [, q]]) => n + Number(q) * 10, 0) / 10
  const folded = await Promise.all([rollUpUsage(db(), { batchSize: 200 }), rollUpUsage(db(), { batchSize: 200 }), rollUpUsage(db(), { batchSize: 350 })])
  assert.is(folded.reduce((a, b) => a + b, 0), 3000)
  const totals = await db().selectFrom('usage_monthly').select((eb) => [eb.fn.sum<string>('quantity').as('q'), eb.fn.sum<string>('event_count').as('n')])
    .where('meter_id', '=', catalog.meters['egress-gb']!).where('month', '=', '2025-06-01').executeTakeFirstOrThrow()
  assert.is(Number(totals.n), 3000)
  assert.is(Number(totals.q), expected)
  const days = await db().selectFrom('usage_daily').select((eb) => [eb.fn.sum<string>('event_count').as('n')])
    .where('meter_id', '=', catalog.meters['egress-gb']!).where('day', '>=', '2025-06-01').where('day', '<', '2025-07-01').executeTakeFirstOrThrow()
  assert.is(Number(days.n), 3000)
})

test('the API triggers the rollup job: the inbox empties without anyone calling it', async () => {
  const sub = await addSubscription(db(), tree.alphaCustomer.id, catalog.plans.payg!)
  const user = (await db().selectFrom('users').select('id').where('email', '=', ADMIN.operator).executeTakeFirstOrThrow()).id
  const { token } = await insertApiToken(db(), { orgId: tree.operator.id, userId: user, name: 'job probe', expiresAt: null })
  const at = new Date().toISOString()
  const res = await rt.app.request('/api/v1/usage-events', {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events: [{ idempotencyKey: 'job-1', subscriptionId: sub, meter: 'sms', quantity: '3', timestamp: at }] }),
  })
  assert.is(res.status, 200)
  // Wait for the worker (it polls every 0.5 s in tests), at most 10 s.
  const deadline = Date.now() + 10_000
  let row
  while (Date.now() < deadline) {
    row = await daily(sub, 'sms', at.slice(0, 10))
    if (row) break
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.ok(row, 'rolled up by the job within 10 s')
  assert.is(row!.quantity, '3.000000')
})

test.run()
