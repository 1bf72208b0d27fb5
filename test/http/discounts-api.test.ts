/**
 * Discounts through /api/v1/discounts: validation, catalog targets the account can see, the
 * derived status, edits (value only before the start), cancel, scope and audit rows.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { discountStatus, listDiscounts } from '../../core/billing/discounts.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { signedIn, type Agent } from '../support/agent.ts'
import { seedCatalog, type Catalog } from '../support/billing.ts'
import { ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`discounts api (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let catalog: Catalog
let betaService: number
let operator: Agent
let alpha: Agent
let customer: Agent

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  catalog = await seedCatalog(rt.database.db, tree.operator.id)
  // A reseller's own catalog row: visible to beta's subtree only.
  betaService = (await rt.database.db.insertInto('services').values({ org_id: tree.beta.id, code: 'beta-extra', name: 'Beta extra', category: 'other' }).returning('id').executeTakeFirstOrThrow()).id
  operator = await signedIn(rt.app, ADMIN.operator)
  alpha = await signedIn(rt.app, ADMIN.alpha)
  customer = await signedIn(rt.app, ADMIN.alphaCustomer)
})
test.after(async () => { await rt?.dispose() })

async function send(agent: Agent, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const token = await agent.csrf('/')
  const res = await agent.request(path, {
    method,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    headers: { 'content-type': 'application/json', 'x-csrf-token': token, 'sec-fetch-site': 'same-origin' },
  })
  return { status: res.status, json: await res.json() }
}
const get = async (agent: Agent, path: string) => {
  const res = await agent.get(path, { accept: 'application/json' })
  return { status: res.status, json: await res.json() as any }
}
const base = () => ({ orgId: tree.alphaCustomer.id, target: 'all', kind: 'percent', percent: '10', validFrom: '2025-01-01', description: 'Loyalty' })

test('a reseller grants a percent discount to its customer', async () => {
  const res = await send(alpha, 'POST', '/api/v1/discounts', { ...base(), percent: '12.5', validTo: '2099-12-31' })
  assert.is(res.status, 201, JSON.stringify(res.json))
  const d = res.json.discount
  assert.is(d.percent, '12.5000')
  assert.is(d.grantedByOrgId, tree.alpha.id)
  assert.is(d.status, 'active')
  assert.is(d.amountMinor, null)
  const audit = await rt.database.db.selectFrom('audit_log').selectAll().where('subject', '=', 'Discount').where('subject_id', '=', String(d.id)).execute()
  assert.equal(audit.map((a) => a.action), ['create'])
  // The customer reads it, without learning who above it granted it.
  const seen = await get(customer, `/api/v1/discounts/${d.id}`)
  assert.is(seen.status, 200)
  assert.is(seen.json.discount.grantedByOrgId, null)
  assert.is(seen.json.discount.grantedByName, null)
})

test('a fixed discount on a meter, in the account currency', async () => {
  const res = await send(operator, 'POST', '/api/v1/discounts', {
    ...base(), target: 'meter', targetId: catalog.meters['vcpu-hours'], kind: 'fixed', percent: undefined, amount: '25.00', currency: 'EUR',
  })
  assert.is(res.status, 201, JSON.stringify(res.json))
  assert.is(res.json.discount.amountMinor, '2500')
  assert.is(res.json.discount.currency, tree.alphaCustomer.currency)
  assert.is(res.json.discount.targetName, 'vcpu-hours')
})

test('bad input is a 4xx naming the field', async () => {
  const { percent: _p, ...fixedBase } = { ...base(), kind: 'fixed' }
  const cases: [unknown, number, string][] = [
    ['{"orgId":', 400, ''],
    [[1, 2], 400, ''],
    [{ ...base(), percent: '0' }, 422, 'percent'],
    [{ ...base(), percent: '101' }, 422, 'percent'],
    [{ ...base(), percent: '10.12345' }, 422, 'percent'],
    [{ ...base(), percent: undefined }, 422, 'percent'],
    [{ ...fixedBase, amount: '10', currency: 'USD' }, 422, 'currency'],
    [{ ...fixedBase }, 422, 'amount'],
    [{ ...fixedBase, amount: '0' }, 422, 'amount'],
    [{ ...fixedBase, amount: '1.001' }, 422, 'amount'],
    [{ ...base(), validFrom: '2025-05-01', validTo: '2025-04-30' }, 422, 'validTo'],
    [{ ...base(), validFrom: 'soon' }, 422, 'validFrom'],
    [{ ...base(), target: 'everything' }, 422, 'target'],
    [{ ...base(), target: 'service' }, 422, 'targetId'],
    [{ ...base(), target: 'service', targetId: 999999 }, 422, 'targetId'],
    [{ ...base(), target: 'service', targetId: betaService }, 422, 'targetId'],
    [{ ...base(), target: 'plan', targetId: 999998 }, 422, 'targetId'],
    [{ ...base(), target: 'meter', targetId: 'abc' }, 422, 'targetId'],
    [{ ...base(), target: 'all', targetId: catalog.services['compute'] }, 422, 'targetId'],
  ]
  for (const [body, status, field] of cases) {
    const res = await send(alpha, 'POST', '/api/v1/discounts', body)
    assert.is(res.status, status, JSON.stringify(body))
    if (field) assert.ok(res.json.error.fields?.[field], `${JSON.stringify(body)} -> ${JSON.stringify(res.json)}`)
  }
  // The beta service is fine for beta's own customer.
  const beta = await signedIn(rt.app, ADMIN.beta)
  const ok = await send(beta, 'POST', '/api/v1/discounts', { ...base(), orgId: tree.betaCustomer.id, target: 'service', targetId: betaService })
  assert.is(ok.status, 201, JSON.stringify(ok.json))
})

test('scope: not for the caller itself, not outside its subtree, not by a customer', async () => {
  const own = await send(alpha, 'POST', '/api/v1/discounts', { ...base(), orgId: tree.alpha.id })
  assert.is(own.status, 403)
  assert.is((await send(alpha, 'POST', '/api/v1/discounts', { ...base(), orgId: tree.betaCustomer.id })).status, 404)
  assert.is((await send(customer, 'POST', '/api/v1/discounts', base())).status, 403)
  const betaList = await get(alpha, `/api/v1/discounts?org=${tree.betaCustomer.id}`)
  assert.is(betaList.status, 404)
})

test('the status is derived from the dates, in SQL and in code alike', async () => {
  const org = tree.alphaSubCustomer.id
  const windows: [string, string | null, string][] = [
    ['2020-01-01', '2020-12-31', 'expired'], ['2020-01-01', null, 'active'], ['2098-01-01', null, 'scheduled'], ['2020-01-01', '2098-01-01', 'active'],
  ]
  const ids: number[] = []
  for (const [from, to] of windows) {
    const res = await send(alpha, 'POST', '/api/v1/discounts', { ...base(), orgId: org, validFrom: from, validTo: to })
    assert.is(res.status, 201, JSON.stringify(res.json))
    assert.is(res.json.discount.status, windows[ids.length]![2])
    ids.push(res.json.discount.id)
  }
  assert.is((await send(alpha, 'POST', `/api/v1/discounts/${ids[1]}/cancel`)).status, 200)
  const byStatus = async (status: string) => (await get(alpha, `/api/v1/discounts?org=${org}&status=${status}`)).json.discounts.map((d: any) => d.id).sort()
  assert.equal(await byStatus('expired'), [ids[0]])
  assert.equal(await byStatus('cancelled'), [ids[1]])
  assert.equal(await byStatus('scheduled'), [ids[2]])
  assert.equal(await byStatus('active'), [ids[3]])
  assert.is((await get(alpha, '/api/v1/discounts?status=pending')).status, 422)
  // The same rows on other days.
  const sdb = new ScopedDb(rt.database.db, { orgId: tree.alpha.id, path: tree.alpha.path })
  const on = async (day: string, status: 'active' | 'scheduled' | 'expired') => (await listDiscounts(sdb, { orgId: org, status, limit: 50, offset: 0 }, day)).discounts.map((d) => d.id).sort()
  assert.equal(await on('2019-06-01', 'scheduled'), [ids[0], ids[2], ids[3]].sort())
  assert.equal(await on('2098-01-02', 'expired'), [ids[0], ids[3]].sort())
  assert.equal(await on('2098-01-01', 'active'), [ids[2], ids[3]].sort())
  // A period: the discounts valid on some day of it, whatever their status.
  const during = async (query: string) => (await get(alpha, `/api/v1/discounts?org=${org}&${query}`)).json.discounts.map((d: any) => d.id).sort()
  assert.equal(await during('from=2021-01-01&to=2021-01-31'), [ids[1], ids[3]].sort())
  assert.equal(await during('from=2020-06-01&to=2020-06-30'), [ids[0], ids[1], ids[3]].sort())
  assert.equal(await during('from=2099-01-01'), [ids[1], ids[2]].sort())
  assert.is((await get(alpha, `/api/v1/discounts?from=2021-02-01&to=2021-01-01`)).status, 422)
  assert.is((await get(alpha, `/api/v1/discounts?from=yesterday`)).status, 422)
  assert.is(discountStatus({ cancelled_at: null, valid_from: '2025-01-01', valid_to: '2025-01-31' }, '2025-01-31'), 'active')
  assert.is(discountStatus({ cancelled_at: null, valid_from: '2025-01-01', valid_to: '2025-01-31' }, '2025-02-01'), 'expired')
  assert.is(discountStatus({ cancelled_at: new Date(), valid_from: '2099-01-01', valid_to: null }, '2025-02-01'), 'cancelled')
})

test('edits: description and end date always, the value only before the start; cancelled is final', async () => {
  const started = (await send(alpha, 'POST', '/api/v1/discounts', base())).json.discount
  const later = (await send(alpha, 'POST', '/api/v1/discounts', { ...base(), validFrom: '2099-01-01' })).json.discount
  const renamed = await send(alpha, 'PATCH', `/api/v1/discounts/${started.id}`, { description: 'Renamed', validTo: '2099-06-30' })
  assert.is(renamed.status, 200, JSON.stringify(renamed.json))
  assert.is(renamed.json.discount.description, 'Renamed')
  assert.is(renamed.json.discount.validTo, '2099-06-30')
  assert.is((await send(alpha, 'PATCH', `/api/v1/discounts/${started.id}`, { percent: '20' })).status, 409)
  assert.is((await send(alpha, 'PATCH', `/api/v1/discounts/${started.id}`, { validTo: '2024-12-31' })).status, 422)
  assert.is((await send(alpha, 'PATCH', `/api/v1/discounts/${started.id}`, { amount: '5' })).status, 422)
  assert.is((await send(alpha, 'PATCH', `/api/v1/discounts/${started.id}`, '{bad')).status, 400)
  const repriced = await send(alpha, 'PATCH', `/api/v1/discounts/${later.id}`, { percent: 20 })
  assert.is(repriced.status, 200, JSON.stringify(repriced.json))
  assert.is(repriced.json.discount.percent, '20.0000')
  assert.is((await send(customer, 'PATCH', `/api/v1/discounts/${started.id}`, { description: 'Mine' })).status, 403)

  const cancelled = await send(alpha, 'POST', `/api/v1/discounts/${started.id}/cancel`)
  assert.is(cancelled.status, 200)
  assert.is(cancelled.json.discount.status, 'cancelled')
  assert.is((await send(alpha, 'PATCH', `/api/v1/discounts/${started.id}`, { description: 'Again' })).status, 409)
  assert.is((await send(alpha, 'POST', `/api/v1/discounts/${started.id}/cancel`)).status, 409)
  const audit = await rt.database.db.selectFrom('audit_log').select('action').where('subject', '=', 'Discount').where('subject_id', '=', String(started.id)).orderBy('id').execute()
  assert.equal(audit.map((a) => a.action), ['create', 'update', 'cancel'])
  // Outside the subtree, or the caller's own: not found / refused.
  const beta = await signedIn(rt.app, ADMIN.beta)
  assert.is((await send(beta, 'PATCH', `/api/v1/discounts/${later.id}`, { description: 'x' })).status, 404)
  assert.is((await get(beta, `/api/v1/discounts/${later.id}`)).status, 404)
  const onAlpha = (await send(operator, 'POST', '/api/v1/discounts', { ...base(), orgId: tree.alpha.id })).json.discount
  assert.is((await send(alpha, 'POST', `/api/v1/discounts/${onAlpha.id}/cancel`)).status, 403)
  assert.is((await get(alpha, `/api/v1/discounts/${onAlpha.id}`)).json.discount.grantedByOrgId, null)
})

test.run()
