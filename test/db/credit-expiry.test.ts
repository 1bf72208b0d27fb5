/**
 * Credit expiry: -min(top-up, balance) once per top-up, nothing when nothing is left, idempotent
 * when run twice or concurrently, and one audit row per expired top-up.
 */
import { suite } from 'uvu'
import { ReportRegistry } from '../../core/reports/registry.ts'
import * as assert from 'uvu/assert'
import { creditExpiryJob, expireCredits } from '../../core/billing/credit-jobs.ts'
import { creditBalance } from '../../core/billing/credits.ts'
import type { CreditKind } from '../../core/db/schema.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { dbLabel, seedTree, testRuntime, testSettings, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`credit expiry (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let system: ScopedDb

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  system = new ScopedDb(rt.database.db, { orgId: tree.operator.id, path: tree.operator.path }, rt.boss)
})
test.after(async () => { await rt?.dispose() })

async function entry(orgId: number, kind: CreditKind, amount: string, expiresOn: string | null = null): Promise<string> {
  return (await rt.database.db.insertInto('credit_entries').values({
    org_id: orgId, kind, amount_minor: amount, currency: 'EUR', expires_on: expiresOn, granted_by_org_id: tree.operator.id,
  }).returning('id').executeTakeFirstOrThrow()).id
}
const expiries = (orgId: number) => rt.database.db.selectFrom('credit_entries').select(['amount_minor', 'description'])
  .where('org_id', '=', orgId).where('kind', '=', 'expiry').orderBy('id').execute()

test('an expired top-up takes back min(its amount, the balance), once', async () => {
  const org = tree.alphaCustomer.id
  const topup = await entry(org, 'topup', '10000', '2030-01-10')
  await entry(org, 'usage', '-3000')
  // Not yet due: expires_on is the last day the credit can be used.
  assert.equal(await expireCredits(system, '2030-01-10'), { expired: 0, entries: 0 })
  assert.equal(await expireCredits(system, '2030-01-11'), { expired: 1, entries: 1 })
  assert.equal((await expiries(org)).map((e) => e.amount_minor), ['-7000'])
  assert.equal(await expireCredits(system, '2030-01-12'), { expired: 0, entries: 0 })
  assert.is(await creditBalance(rt.database.db, org, 'EUR'), 0n)
  const marked = await rt.database.db.selectFrom('credit_entries').select('expired_at').where('id', '=', topup).executeTakeFirstOrThrow()
  assert.ok(marked.expired_at instanceof Date)
  const audit = await rt.database.db.selectFrom('audit_log').selectAll().where('subject', '=', 'Credit').where('action', '=', 'expire').where('org_id', '=', org).execute()
  assert.is(audit.length, 1)
  assert.is(audit[0]!.subject_id, topup)
})

test('a top-up smaller than the balance expires in full; later top-ups keep theirs', async () => {
  const org = tree.alphaSubCustomer.id
  await entry(org, 'topup', '500', '2030-02-01')
  await entry(org, 'topup', '2000', '2031-01-01')
  await entry(org, 'accrual', '300')
  assert.equal(await expireCredits(system, '2030-03-01'), { expired: 1, entries: 1 })
  assert.equal((await expiries(org)).map((e) => e.amount_minor), ['-500'])
  assert.is(await creditBalance(rt.database.db, org, 'EUR'), 2300n)
})

test('nothing left: the top-up is marked but no row is written', async () => {
  const org = tree.betaCustomer.id
  await entry(org, 'topup', '800', '2030-01-01')
  await entry(org, 'usage', '-800')
  assert.equal(await expireCredits(system, '2030-06-01'), { expired: 1, entries: 0 })
  assert.equal(await expiries(org), [])
  assert.is(await creditBalance(rt.database.db, org, 'EUR'), 0n)
})

test('two concurrent runs write each expiry once', async () => {
  const org = tree.alphaSub.id
  for (let i = 0; i < 5; i++) await entry(org, 'topup', '1000', '2030-05-01')
  await entry(org, 'usage', '-2500')
  const [a, b] = await Promise.all([expireCredits(system, '2030-05-02'), expireCredits(system, '2030-05-02')])
  assert.is(a.expired + b.expired, 5)
  // Balance 2,500 against five top-ups of 1,000: 1,000 + 1,000 + 500, then nothing.
  assert.equal((await expiries(org)).map((e) => e.amount_minor), ['-1000', '-1000', '-500'])
  assert.is(await creditBalance(rt.database.db, org, 'EUR'), 0n)
})

test('the job runs the expiry for today', async () => {
  const org = tree.beta.id
  await entry(org, 'topup', '100', '2001-01-01')
  await creditExpiryJob.handler([], { db: system, log: rt.log, settings: testSettings(), reports: new ReportRegistry(rt.plugins) })
  assert.equal((await expiries(org)).map((e) => e.amount_minor), ['-100'])
  assert.is(creditExpiryJob.id, 'core.credit-expiry')
  assert.ok(creditExpiryJob.cron)
})

test.run()
