/**
 * The report engine on its own (no HTTP): parameters parse or fail naming the key, sorting and
 * paging are stable, totals add up, the organisation scope and account type narrow the rows, a
 * reseller never gets rows of another subtree, and streaming yields every row once, in order.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { sql } from 'kysely'
import { defineReport } from '../../core/reports/define.ts'
import { chartData, chartsFor, streamReport, runReport, runReportWithCharts, reportTotals } from '../../core/reports/engine.ts'
import { orgScopeParam, periodParam, queryInput, jsonInput, ReportParamError } from '../../core/reports/params.ts'
import { parseReportRequest } from '../../core/reports/request.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { accountsReport } from '../../plugins/organisations/accounts-report.ts'
import { addSubscription, seedCatalog } from '../support/billing.ts'
import { dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`report engine (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
const NOW = new Date('2026-03-15T12:00:00Z')

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  const catalog = await seedCatalog(rt.database.db, tree.operator.id)
  const plan = Object.values(catalog.plans)[0]!
  await addSubscription(rt.database.db, tree.alphaCustomer.id, plan)
  await addSubscription(rt.database.db, tree.alphaCustomer.id, plan)
  await addSubscription(rt.database.db, tree.betaCustomer.id, plan)
  // Daily usage rows as the rollup writes them: 3 events on 2026-03-02 for alphaCustomer, 5 on 2026-02-27 for betaCustomer.
  const subs = await rt.database.db.selectFrom('subscriptions').select(['id', 'org_id']).execute()
  const meter = Object.values(catalog.meters)[0]!
  const sub = (org: number) => subs.find((s) => s.org_id === org)!.id
  await rt.database.db.insertInto('usage_daily').values([
    { org_id: tree.alphaCustomer.id, subscription_id: sub(tree.alphaCustomer.id), meter_id: meter, day: '2026-03-02', quantity: '1', event_count: '3', last_at: '2026-03-02T10:00:00Z' },
    { org_id: tree.betaCustomer.id, subscription_id: sub(tree.betaCustomer.id), meter_id: meter, day: '2026-02-27', quantity: '1', event_count: '5', last_at: '2026-02-27T10:00:00Z' },
  ]).execute()
})
test.after(async () => { await rt?.dispose() })

const scoped = (org: keyof Tree) => new ScopedDb(rt.database.db, { orgId: tree[org].id, path: tree[org].path })
const request = (org: keyof Tree, query: string) => parseReportRequest(accountsReport, queryInput(new URLSearchParams(query)), { db: scoped(org), now: NOW })

async function paramError(org: keyof Tree, query: string): Promise<ReportParamError> {
  try {
    await request(org, query)
  } catch (error) {
    if (error instanceof ReportParamError) return error
    throw error
  }
  throw new Error(`expected a parameter error for ${query}`)
}

test('the operator sees every organisation, sorted by name, with counts from the rollup', async () => {
  const result = await runReport(await request('operator', ''))
  assert.is(result.total, 7)
  assert.equal(result.rows.map((r) => r.name), Object.values(tree).map((o) => o.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
  const alphaCustomer = result.rows.find((r) => r.id === tree.alphaCustomer.id)!
  assert.is(alphaCustomer.subscriptions, '2')
  assert.is(alphaCustomer.events, '3')
  assert.is(alphaCustomer.parent, tree.alpha.name)
  assert.equal(result.totals, [{ subscriptions: '3', events: '3' }])
})

test('a reseller sees only its subtree, whatever it asks for', async () => {
  const result = await runReport(await request('alpha', 'pageSize=500'))
  assert.equal(result.rows.map((r) => r.id).sort(), [tree.alpha.id, tree.alphaCustomer.id, tree.alphaSub.id, tree.alphaSubCustomer.id].sort())
  const error = await paramError('alpha', `org=${tree.betaCustomer.id}`)
  assert.is(error.key, 'org')
  assert.is(error.status, 400)
})

test('period presets move the usage window; custom ranges are checked', async () => {
  const last = await runReport(await request('operator', 'period=last_month'))
  assert.is(last.rows.find((r) => r.id === tree.betaCustomer.id)!.events, '5')
  assert.is(last.rows.find((r) => r.id === tree.alphaCustomer.id)!.events, '0')
  const custom = await runReport(await request('operator', 'from=2026-02-01&to=2026-03-31'))
  assert.equal(custom.totals, [{ subscriptions: '3', events: '8' }])
  assert.is((await paramError('operator', 'period=fortnight')).key, 'period')
  assert.is((await paramError('operator', 'period=custom&from=2026-02-30&to=2026-03-01')).key, 'from')
  assert.is((await paramError('operator', 'from=2026-03-02&to=2026-03-01')).key, 'to')
  assert.is((await paramError('operator', 'tz=Mars/Olympus')).key, 'tz')
})

test('organisation scope and account type narrow the rows', async () => {
  const one = await runReport(await request('operator', `org=${tree.alpha.id}`))
  assert.equal(one.rows.map((r) => r.id), [tree.alpha.id])
  const subtree = await runReport(await request('operator', `org=${tree.alpha.id}&scope=subtree&accountType=customer`))
  assert.equal(subtree.rows.map((r) => r.id).sort(), [tree.alphaCustomer.id, tree.alphaSubCustomer.id].sort())
  const list = await runReport(await request('operator', `org=${tree.alpha.id}&org=${tree.beta.id}&accountType=partner`))
  assert.is(list.total, 2)
  // Listed organisations of the other kind leave nothing, not everything.
  const otherKind = await request('operator', `org=${tree.alphaCustomer.id}&accountType=partner`)
  assert.is((await runReport(otherKind)).total, 0)
  assert.equal((await runReportWithCharts(otherKind)).charts, [[]])
  // The page with its window totals carries the chart's points.
  const withChart = await runReportWithCharts(await request('operator', `org=${tree.alphaCustomer.id}&period=custom&from=2026-03-01&to=2026-03-31`))
  assert.equal(withChart.result.totals, [{ subscriptions: '2', events: '3' }])
  assert.equal(withChart.charts, [[{ x: '2026-03-02', y: '3' }]])
  assert.is((await paramError('operator', 'scope=subtree')).key, 'org')
  assert.is((await paramError('operator', 'org=abc')).key, 'org')
})

test('sorting is limited to columns, descending works, pages do not overlap', async () => {
  const desc = await runReport(await request('operator', 'sort=-events&pageSize=2'))
  assert.is(desc.rows[0]!.id, tree.alphaCustomer.id)
  const seen: unknown[] = []
  for (let page = 1; page <= 4; page++) seen.push(...(await runReport(await request('operator', `sort=kind&pageSize=2&page=${page}`))).rows.map((r) => r.id))
  assert.is(new Set(seen).size, 7)
  assert.is((await paramError('operator', 'sort=password_hash')).key, 'sort')
  assert.is((await paramError('operator', 'pageSize=501')).key, 'pageSize')
  assert.is((await paramError('operator', 'colour=blue')).key, 'colour')
  assert.is((await paramError('operator', 'delimiter=pipe')).key, 'delimiter')
})

test('one statement carries the page, the count and the sums; a page past the end and an empty result still count', async () => {
  const page = await runReport(await request('operator', 'sort=-events&pageSize=2'))
  assert.is(page.total, 7)
  assert.equal(page.totals, [{ subscriptions: '3', events: '3' }])
  // The window columns that carry count and sums are not part of a row.
  assert.equal(Object.keys(page.rows[0]!), ['id', 'name', 'kind', 'parent', 'status', 'currency', 'subscriptions', 'events', 'created'])
  const past = await runReport(await request('operator', 'pageSize=2&page=9'))
  assert.equal(past.rows, [])
  assert.is(past.total, 7)
  assert.equal(past.totals, [{ subscriptions: '3', events: '3' }])
  const none = await runReport(await request('operator', 'q=no such organisation'))
  assert.equal(none.rows, [])
  assert.is(none.total, 0)
  assert.equal(none.totals, [{ subscriptions: '0', events: '0' }])
  const narrowed = await runReport(await request('alpha', `org=${tree.alphaCustomer.id}`))
  assert.is(narrowed.total, 1)
  assert.equal(narrowed.totals, [{ subscriptions: '2', events: '3' }])
})

test('the canonical query string reproduces the request', async () => {
  const first = await request('operator', `accountType=customer&sort=-events&period=custom&from=2026-01-01&to=2026-03-31&org=${tree.alpha.id}&scope=subtree&page=2`)
  const again = await request('operator', first.query)
  assert.is(again.query, first.query)
  assert.equal((await runReport(again)).rows, (await runReport({ ...first, page: 1 })).rows)
  assert.not.match(first.query, /page=/)
})

test('JSON bodies carry the same keys', async () => {
  const fromJson = await parseReportRequest(accountsReport, jsonInput({ org: [tree.alpha.id, tree.beta.id], accountType: 'partner' }), { db: scoped('operator'), now: NOW })
  assert.is((await runReport(fromJson)).total, 2)
})

test('streaming yields every row once, in the sorted order, in batches', async () => {
  const req = await request('operator', 'sort=-name')
  const batches: number[] = []
  const ids: unknown[] = []
  for await (const batch of streamReport(req, { batchSize: 3 })) {
    batches.push(batch.length)
    ids.push(...batch.map((r) => r.id))
  }
  assert.equal(batches, [3, 3, 1])
  assert.equal(ids, (await runReport({ ...req, pageSize: 500 })).rows.map((r) => r.id))
  assert.equal(await reportTotals(req), [{ subscriptions: '3', events: '3' }])
})

test('an aborted stream stops between batches and frees its cursor', async () => {
  const req = await request('operator', '')
  const controller = new AbortController()
  let batches = 0
  try {
    for await (const _ of streamReport(req, { batchSize: 2, signal: controller.signal })) {
      batches++
      controller.abort()
    }
    assert.unreachable('the stream should have stopped')
  } catch (error) {
    assert.is((error as Error).name, 'AbortError')
  }
  assert.is(batches, 1)
  // The connection still works (on PGlite the held cursor was closed, the lock given back).
  assert.is((await runReport(req)).total, 7)
})

// A chart whose points come back in several types: a date, a text series that may be null, a numeric with its
// scale; totals per currency, so the page is read with its group totals.
const chartReport = defineReport({
  id: 'test.chart-points',
  title: 'Chart points',
  description: 'Organisations and their usage per day, for the engine tests.',
  category: 'Test',
  subject: 'Organisation',
  params: { period: periodParam({ default: 'this_month' }), orgs: orgScopeParam() },
  columns: [
    { key: 'id', label: 'Id', type: 'integer' },
    { key: 'name', label: 'Name', type: 'text' },
    { key: 'currency', label: 'Currency', type: 'text' },
    { key: 'one', label: 'One', type: 'integer', total: true },
  ],
  totalsBy: ['currency'],
  defaultSort: 'name',
  rowKey: ['id'],
  charts: [{
    id: 'per-day',
    title: 'Per day',
    kind: 'line',
    query: ({ db, params, orgIds }) => db.selectFrom('usage_daily')
      .where('usage_daily.org_id', 'in', orgIds)
      .where('usage_daily.day', '>=', params.period.from)
      .where('usage_daily.day', '<=', params.period.to)
      .groupBy('usage_daily.day')
      .orderBy('usage_daily.day', 'desc')
      .select([
        sql<string>`usage_daily.day`.as('x'),
        sql<string | null>`case when usage_daily.day < '2026-03-01' then null else 'March & after' end`.as('series'),
        sql<string>`sum(usage_daily.event_count) / 3.0`.as('y'),
      ]),
  }],
  query: ({ db, orgIds }) => db.organisations().where('organisations.id', 'in', orgIds)
    .select(['organisations.id', 'organisations.name', 'organisations.currency', sql<number>`1`.as('one')]),
})

test('charts of listed organisations ride on the page statement and match the charts read on their own', async () => {
  const period = 'period=custom&from=2026-02-01&to=2026-03-31'
  const chartRequest = (org: keyof Tree, query: string) => parseReportRequest(chartReport, queryInput(new URLSearchParams(query)), { db: scoped(org), now: NOW })
  const listed = await chartRequest('operator', `${period}&org=${tree.alphaCustomer.id}&org=${tree.betaCustomer.id}`)
  assert.ok(Array.isArray(listed.context.orgIds), 'listed organisations are a plain list of ids')
  const alone = await chartData(listed, chartsFor(listed)[0]!)
  assert.equal(alone, [
    { x: '2026-03-02', series: 'March & after', y: '1.00000000000000000000' },
    { x: '2026-02-27', series: null, y: '1.6666666666666667' },
  ])
  const view = await runReportWithCharts(listed)
  assert.equal(view.result.rows.map((r) => r.id).sort(), [tree.alphaCustomer.id, tree.betaCustomer.id].sort())
  assert.equal(Object.keys(view.result.rows[0]!), ['id', 'name', 'currency', 'one'])
  assert.is(view.result.total, 2)
  assert.equal(view.charts, [alone])
  // A page past the end has no row to carry them: the chart is read on its own, unchanged.
  const past = await runReportWithCharts(await chartRequest('operator', `${period}&org=${tree.alphaCustomer.id}&org=${tree.betaCustomer.id}&pageSize=1&page=3`))
  assert.equal(past.result.rows, [])
  assert.equal(past.charts, [alone])
  // The whole subtree: the chart as its own statement, still only the caller's rows.
  const wide = await runReportWithCharts(await chartRequest('alpha', period))
  assert.equal(wide.charts, [[{ x: '2026-03-02', series: 'March & after', y: '1.00000000000000000000' }]])
})

test.run()
