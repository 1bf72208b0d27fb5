/**
 * client.usage's meters tab through the JSON API and the report page: its own default order
 * (organisation name, then organisation, subscription, meter name and meter id: no position to
 * number first), stable pages, a sort link back to that default, and over two months the charge
 * of each subscription's meter equals what rating bills in each month, added up.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { loadRatingInput, rateInvoice } from '../../core/billing/rating.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { signedIn, type Agent } from '../support/agent.ts'
import { ADMIN, dbLabel, testRuntime, type TestRuntime } from '../support/fixture.ts'
import { periodValue, scaled, seedUsageFixture, type UsageFixture } from '../db/report-usage-fixture.ts'

const test = suite(`client.usage meters tab (${dbLabel})`)
let rt: TestRuntime
let fx: UsageFixture
let operator: Agent
const FEB = 'period=custom&from=2026-02-01&to=2026-02-28'

test.before(async () => {
  rt = await testRuntime()
  fx = await seedUsageFixture(rt.database.db)
  operator = await signedIn(rt.app, ADMIN.operator)
})
test.after(async () => { await rt?.dispose() })

type Row = Record<string, unknown>
interface Body { total: number; sort: string; query: string; rows: Row[] }

async function json(agent: Agent, query: string): Promise<Body> {
  const response = await agent.get(`/api/v1/reports/client.usage?${query}`)
  assert.is(response.status, 200, query)
  return await response.json() as Body
}

const orgName = (id: number) => Object.values(fx.tree).find((o) => o.id === id)!.name
const meterName = (id: number) => Object.entries(fx.catalog.meters).find(([, m]) => m === id)![0]
const key = (r: Row) => `${r.subscription_id}|${r.meter_id}`

/** Every (subscription, meter) with February usage, in the expected default order, from the raw fixture rows. */
function expectedFebruaryOrder(): string[] {
  const pairs = new Map<string, { org: number; sub: number; meter: number }>()
  for (const d of fx.days.filter((d) => d.day.startsWith('2026-02'))) pairs.set(`${d.sub}|${d.meter}`, { org: d.org, sub: d.sub, meter: d.meter })
  const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0)
  return [...pairs.values()].sort((a, b) => cmp(orgName(a.org), orgName(b.org)) || cmp(a.org, b.org) || cmp(a.sub, b.sub)
    || cmp(meterName(a.meter), meterName(b.meter)) || cmp(a.meter, b.meter)).map((p) => `${p.sub}|${p.meter}`)
}

test('default order: organisation name, organisation, subscription, meter name, meter; no sort in the canonical query', async () => {
  const body = await json(operator, `${FEB}&tab=meters&pageSize=500`)
  assert.is(body.sort, 'organisation')
  assert.not.match(body.query, 'sort=')
  const expected = expectedFebruaryOrder()
  assert.ok(expected.length > 10, 'the fixture has enough rows to tell orders apart')
  assert.is(body.total, expected.length)
  assert.equal(body.rows.map(key), expected)
  assert.not.ok('position' in body.rows[0]!, 'the meters tab has no position column')
  // The clients tab keeps its numbered position as default sort.
  const clients = await json(operator, FEB)
  assert.is(clients.sort, 'position')
  assert.equal(clients.rows.map((r) => Number(r.position)), clients.rows.map((_, i) => i + 1))
})

test('pages do not overlap and add up to the whole list; another sort still works', async () => {
  const expected = expectedFebruaryOrder()
  const pages: string[] = []
  for (let page = 1; pages.length < expected.length; page++) {
    const body = await json(operator, `${FEB}&tab=meters&pageSize=4&page=${page}`)
    assert.ok(body.rows.length > 0, `page ${page} has rows`)
    pages.push(...body.rows.map(key))
  }
  assert.equal(pages, expected)
  const byCharge = await json(operator, `${FEB}&tab=meters&pageSize=500&sort=-charge`)
  const charges = byCharge.rows.map((r) => BigInt(r.charge as string))
  assert.equal(charges, [...charges].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)))
  assert.ok(charges[0]! > charges[charges.length - 1]!, 'charges differ, so the order is visible')
  const position = await operator.get(`/api/v1/reports/client.usage?${FEB}&tab=meters&sort=position`)
  assert.is(position.status, 400)
  assert.match(JSON.stringify(await position.json()), 'sort')
})

test('the page: a header link back to the tab\'s default sort carries no sort', async () => {
  const hrefOf = async (query: string, label: string) => {
    const html = await (await operator.get(`/reports/client.usage?${query}`)).text()
    const match = new RegExp(`<a class="sort" href="([^"]*)"[^>]*>${label}<`).exec(html)
    assert.ok(match, `a sort link on ${label} (${query})`)
    return match![1]!.replace(/&amp;/g, '&')
  }
  // Sorted by -organisation: the Organisation link asks for organisation, the meters tab's default.
  assert.not.match(await hrefOf(`${FEB}&tab=meters&sort=-organisation`, 'Organisation'), 'sort=')
  assert.match(await hrefOf(`${FEB}&tab=meters`, 'Charge'), 'sort=charge')
  // On the clients tab organisation is not the default: the link keeps it.
  assert.match(await hrefOf(`${FEB}&sort=-organisation`, 'Organisation'), 'sort=organisation')
})

test('two months: each subscription\'s meter is charged what rating bills in January plus February', async () => {
  const body = await json(operator, 'period=custom&from=2026-01-01&to=2026-02-28&tab=meters&pageSize=500')
  const operatorDb = new ScopedDb(rt.database.db, { orgId: fx.tree.operator.id, path: fx.tree.operator.path })
  const rated = new Map<string, bigint>()
  for (const org of [fx.tree.alphaCustomer, fx.tree.alphaSubCustomer, fx.tree.betaCustomer]) {
    for (const month of ['2026-01', '2026-02']) {
      const invoice = rateInvoice(await loadRatingInput(operatorDb, org.id, month, org.currency, { withCredit: false }))
      for (const line of invoice.lines.filter((l) => l.kind === 'usage')) {
        const k = `${line.subscriptionId}|${line.meterId}`
        rated.set(k, (rated.get(k) ?? 0n) + line.amountMinor)
      }
    }
  }
  assert.ok([...rated.values()].some((v) => v > 0n), 'rating bills something')
  const pairs = new Set(fx.days.map((d) => `${d.sub}|${d.meter}`))
  assert.is(body.total, pairs.size)
  for (const row of body.rows) {
    const [sub, meter] = key(row).split('|').map(Number) as [number, number]
    assert.is(BigInt(row.charge as string), rated.get(key(row)) ?? 0n, `charge of ${key(row)}`)
    assert.is(scaled(row.quantity), periodValue(fx.days, sub, meter, '2026-01-01', '2026-02-28'), `quantity of ${key(row)}`)
    assert.is(Number(row.events), 2 * fx.days.filter((d) => d.sub === sub && d.meter === meter).length, `events of ${key(row)}`)
  }
})

test.run()
