import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DEMO_BILLING, DEMO_LOGINS, DEMO_PASSWORD } from '../../core/seed/demo.ts'
import { Agent } from '../support/agent.ts'
import { dbLabel, testRuntime, type TestRuntime } from '../support/fixture.ts'

const test = suite<{ rt: TestRuntime }>(`demo data (${dbLabel})`)
test.before(async (ctx) => {
  ctx.rt = await testRuntime({ settings: { DEMO_DATA: 'true' } })
})
test.after(async (ctx) => { await ctx.rt.dispose() })

async function demo(rt: TestRuntime, email: string): Promise<Agent> {
  const agent = new Agent(rt.app)
  const res = await agent.login(email, DEMO_PASSWORD)
  assert.is(res.status, 303, `demo login ${email}`)
  return agent
}

const names = async (agent: Agent) =>
  ((await (await agent.get('/api/v1/organisations')).json()) as { organisations: { name: string }[] }).organisations.map((o) => o.name).sort()

test('every demo login signs in with the demo password and holds the roles it is listed with', async ({ rt }) => {
  assert.ok(rt.seeded)
  for (const login of DEMO_LOGINS) await demo(rt, login.email)
  const held = await rt.database.db.selectFrom('users as u').innerJoin('user_roles as ur', 'ur.user_id', 'u.id').innerJoin('roles as r', 'r.id', 'ur.role_id')
    .select(['u.email', 'r.name', 'r.system_key']).orderBy('u.email').execute()
  const byEmail = (email: string) => held.filter((h) => h.email === email).map((h) => h.system_key ?? h.name)
  assert.equal(byEmail('auditor@demo.test'), ['auditor'])
  assert.equal(byEmail('operator@demo.test'), ['super_admin'])
  assert.equal(byEmail('reseller2@demo.test'), ['reseller_admin'])
  assert.equal(byEmail('reports@demo.test'), ['Manage Service Provider Reports'])
})

test('the two resellers see disjoint books', async ({ rt }) => {
  const first = await names(await demo(rt, 'reseller@demo.test'))
  const second = await names(await demo(rt, 'reseller2@demo.test'))
  assert.ok(first.includes('Acme Web Studio') && second.includes('Harbor Dental'), `${first} / ${second}`)
  assert.equal(first.filter((n) => second.includes(n)), [])
  assert.not.ok(second.includes('Northwind Cloud'))
})

test('the auditor reads everything and changes nothing', async ({ rt }) => {
  const auditor = await demo(rt, 'auditor@demo.test')
  const before = await rt.database.db.selectFrom('organisations').select('id').execute()
  assert.is((await names(auditor)).length, before.length)
  assert.is((await auditor.get('/organisations')).status, 200)
  const res = await auditor.postForm('/organisations', { name: 'Auditor Was Here', kind: 'customer', parentId: String(before[0]!.id) })
  assert.is(res.status, 403)
  assert.is((await rt.database.db.selectFrom('organisations').select('id').execute()).length, before.length)
})

test('the demo has a year of billing data: the customer sees its own invoices, paid and open, and rolled-up usage', async ({ rt }) => {
  const db = rt.database.db
  const customer = await demo(rt, 'customer@demo.test')
  const acme = await db.selectFrom('organisations').select('id').where('name', '=', 'Acme Web Studio').executeTakeFirstOrThrow()
  const res = await customer.get('/api/v1/invoices?limit=100')
  assert.is(res.status, 200)
  const body = (await res.json()) as { invoices: { orgId: number; status: string; period: string }[]; total: number }
  assert.ok(body.total >= DEMO_BILLING.months, `invoices for every closed month: ${body.total}`)
  assert.ok(body.invoices.every((i) => i.orgId === acme.id), 'only its own invoices')
  const all = await db.selectFrom('invoices').select('status').distinct().execute()
  for (const status of ['paid', 'issued']) assert.ok(all.some((s) => s.status === status), `some demo invoice is ${status}`)
  const monthly = await db.selectFrom('usage_monthly').select((eb) => eb.fn.countAll<string>().as('n')).where('org_id', '=', acme.id).executeTakeFirstOrThrow()
  assert.ok(Number(monthly.n) >= DEMO_BILLING.months, `monthly rollups for the customer: ${monthly.n}`)
  const events = await db.selectFrom('usage_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  assert.ok(Number(events.n) > 1000, `usage events: ${events.n}`)
  const models = await db.selectFrom('plans').select('model').distinct().execute()
  assert.is(models.length, 3)
  const credits = await db.selectFrom('credit_entries').select((eb) => eb.fn.countAll<string>().as('n')).where('kind', '=', 'topup').executeTakeFirstOrThrow()
  const discounts = await db.selectFrom('discounts').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  assert.ok(Number(credits.n) + Number(discounts.n) > 0, 'top-ups or discounts')
})

test.run()
