/**
 * Report pages through the front door: the catalogue lists only what the caller may read; a
 * report renders rows, totals and a chart; an htmx request gets the fragment and the canonical
 * URL; sorting, paging and the URL reproduce the view; bad params are a 400 naming the key; the
 * export panel needs `export`; a reseller never sees another subtree; "Download now" redirects to
 * the API; the organisation list's tenants-list flow opens a report for the listed organisations.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ReportRegistry } from '../../core/reports/registry.ts'
import { builtInPlugins } from '../../plugins/index.ts'
import { signedIn, type Agent } from '../support/agent.ts'
import { addSubscription, seedCatalog } from '../support/billing.ts'
import { ADMIN, addRole, addUser, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`report pages (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let operator: Agent
const JANUARY = 'period=custom&from=2026-01-01&to=2026-01-31'
const PAGE = `/reports/organisations.accounts?${JANUARY}`
const ORG_READER = 'org-reader@test.example'
const USER_READER = 'user-reader@test.example'
const XSS_NAME = '<script>alert(1)</script> Corp'

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  const db = rt.database.db
  const catalog = await seedCatalog(db, tree.operator.id)
  const plan = Object.values(catalog.plans)[0]!
  const meter = Object.values(catalog.meters)[0]!
  const subA = await addSubscription(db, tree.alphaCustomer.id, plan)
  await addSubscription(db, tree.alphaCustomer.id, plan)
  const subB = await addSubscription(db, tree.betaCustomer.id, plan)
  await db.insertInto('usage_daily').values([
    { org_id: tree.alphaCustomer.id, subscription_id: subA, meter_id: meter, day: '2026-01-05', quantity: '1', event_count: '1200', last_at: '2026-01-05T10:00:00Z' },
    { org_id: tree.alphaCustomer.id, subscription_id: subA, meter_id: meter, day: '2026-01-06', quantity: '1', event_count: '30', last_at: '2026-01-06T10:00:00Z' },
    { org_id: tree.betaCustomer.id, subscription_id: subB, meter_id: meter, day: '2026-01-06', quantity: '1', event_count: '5', last_at: '2026-01-06T10:00:00Z' },
  ]).execute()
  await db.updateTable('organisations').set({ name: XSS_NAME }).where('id', '=', tree.alphaSubCustomer.id).execute()
  const orgRole = await addRole(db, tree.operator.id, 'Organisation reader', [['Organisation', 'read']])
  await addUser(db, tree.operator.id, ORG_READER, { roleIds: [orgRole] })
  const userRole = await addRole(db, tree.operator.id, 'User reader', [['User', 'read']])
  await addUser(db, tree.operator.id, USER_READER, { roleIds: [userRole] })
  operator = await signedIn(rt.app, ADMIN.operator)
})
test.after(async () => { await rt?.dispose() })

const fragment = { 'hx-request': 'true' }
/** Organisation names in the table body, in order. */
function tableNames(html: string): string[] {
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(html.slice(html.indexOf('report-table')))?.[1] ?? ''
  return [...body.matchAll(/<a href="\/organisations\/\d+">([^<]*(?:&lt;[^<]*)*)<\/a>/g)].map((m) => m[1]!)
}
const decode = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&')

test('the catalogue lists exactly the reports the caller may read, by category', async () => {
  const registry = new ReportRegistry(builtInPlugins)
  const all = await (await operator.get('/reports')).text()
  for (const report of registry.all()) assert.ok(all.includes(`href="/reports/${report.id}"`), `${report.id} listed for the operator`)
  assert.match(all, '<h2>Accounts</h2>')
  const reader = await signedIn(rt.app, ORG_READER)
  const some = await (await reader.get('/reports')).text()
  const listed = [...some.matchAll(/data-report-id="([^"]+)"/g)].map((m) => m[1]!)
  assert.ok(listed.includes('organisations.accounts'))
  assert.equal(listed.filter((id) => registry.get(id)!.subject !== 'Organisation'), [], 'only Organisation reports')
  assert.equal(listed.sort(), registry.all().filter((r) => r.subject === 'Organisation').map((r) => r.id).sort())
  const none = await (await (await signedIn(rt.app, USER_READER)).get('/reports')).text()
  assert.not.match(none, 'data-report-id')
  assert.match(none, 'There are no reports you may open')
})

test('the accounts report shows rows, formatted numbers, totals and a chart', async () => {
  const res = await operator.get(PAGE)
  assert.is(res.status, 200)
  const html = await res.text()
  assert.match(html, '<h1>Accounts</h1>')
  assert.match(html, 'id="report-filters"')
  assert.equal(tableNames(html).map(decode), Object.values(tree).map((o) => (o.id === tree.alphaSubCustomer.id ? XSS_NAME : o.name)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
  assert.match(html, '<td class="num">1,230</td>', 'thousands separator on integers')
  assert.match(html, /<tr class="totals"><th scope="row">Total<\/th>[\s\S]*?<td class="num">3<\/td><td class="num">1,235<\/td>/)
  assert.match(html, /<svg role="img" aria-label="Usage events per day"/)
  assert.not.match(html, / style="/, 'no inline style attribute (CSP)')
  assert.not.match(html, '<script>alert(1)</script>')
  assert.match(html, '&lt;script&gt;alert(1)&lt;/script&gt; Corp')
  const empty = await (await operator.get('/reports/organisations.accounts?period=custom&from=2025-01-01&to=2025-01-31&q=nothing-like-this')).text()
  assert.match(empty, 'No rows for these filters.')
  assert.match(empty, 'No data to draw for these filters.')
})

test('an htmx request gets the fragment and the canonical URL to push', async () => {
  const res = await operator.get(`/reports/organisations.accounts?q=&status=&${JANUARY}&scope=all&org=`, fragment)
  assert.is(res.status, 200)
  const html = await res.text()
  assert.not.match(html, '<html')
  assert.not.match(html, 'class="sidenav"')
  assert.match(html, 'id="report-results"')
  assert.is(res.headers.get('hx-push-url'), `/reports/organisations.accounts?${JANUARY}`)
  assert.match(res.headers.get('vary') ?? '', 'HX-Request')
})

test('a swap of the results (what htmx 4 sends with hx-select) gets the results and the out-of-band parts, not the form', async () => {
  const swap = { 'hx-request': 'true', 'hx-request-type': 'full', 'hx-target': 'div#report-results' }
  const org = tree.alphaCustomer.id
  const res = await operator.get(`/reports/organisations.accounts?${JANUARY}&org=${org}&sort=-events`, swap)
  assert.is(res.status, 200)
  const html = await res.text()
  assert.not.match(html, '<html')
  assert.not.match(html, 'id="report-filters"')
  assert.not.match(html, 'id="org-options"')
  assert.match(html, /<div id="report-results"[^>]*>[\s\S]*<table/)
  assert.match(html, /<span id="report-state" hidden="">\s*<input type="hidden" name="sort" value="-events"\/>/)
  assert.match(html, new RegExp(`<div id="org-chosen"[\\s\\S]*<option value="one" selected="">[\\s\\S]*name="org" value="${org}" checked=""`))
  assert.match(html, new RegExp(`<span id="export-params" hidden="">[\\s\\S]*name="org" value="${org}"`))
  assert.equal(tableNames(html).map(decode), [tree.alphaCustomer.name])
  assert.is(res.headers.get('hx-push-url'), `/reports/organisations.accounts?${JANUARY}&org=${org}&sort=-events`)

  const bad = await operator.get('/reports/organisations.accounts?period=custom&from=2026-02-30&to=2026-03-01', swap)
  assert.is(bad.status, 400)
  const badHtml = await bad.text()
  assert.not.match(badHtml, 'id="report-filters"')
  assert.match(badHtml, /id="report-results"[^>]*>\s*<p class="flash flash-error" role="alert">from: use a day/)

  // A boosted link targets the body: the whole page.
  const boosted = await operator.get(PAGE, { 'hx-request': 'true', 'hx-request-type': 'full', 'hx-target': 'body' })
  assert.match(await boosted.text(), '<html')
})

test('sort links toggle the direction and set aria-sort', async () => {
  const html = await (await operator.get(PAGE)).text()
  assert.match(html, /<th scope="col" aria-sort="ascending"><a class="sort" href="\/reports\/organisations\.accounts\?[^"]*sort=-name"/)
  const eventsLink = /href="(\/reports\/organisations\.accounts\?[^"]*sort=events)"/.exec(html)?.[1]
  assert.ok(eventsLink, 'a link sorting by events')
  const asc = await (await operator.get(decode(eventsLink!))).text()
  assert.match(asc, /aria-sort="ascending"><a class="sort" href="[^"]*sort=-events"/)
  const desc = await (await operator.get(`${PAGE}&sort=-events`)).text()
  assert.match(desc, /aria-sort="descending"><a class="sort" href="[^"]*sort=events"/)
  assert.is(decode(tableNames(desc)[0]!), tree.alphaCustomer.name)
  const byNameDesc = await (await operator.get(`${PAGE}&sort=-name`)).text()
  assert.match(byNameDesc, /aria-sort="descending"><a class="sort" href="\/reports\/organisations\.accounts\?period=custom&amp;from=2026-01-01&amp;to=2026-01-31"/, 'the link back to the default sort drops the key')
  assert.equal(tableNames(byNameDesc), [...tableNames(html)].reverse())
})

test('pages: the pager links to the next page, rows do not repeat', async () => {
  const first = await (await operator.get(`${PAGE}&pageSize=3`)).text()
  assert.match(first, '1–3 of 7')
  const next = /href="(\/reports\/organisations\.accounts\?[^"]*page=2[^"]*)"/.exec(first)?.[1]
  assert.ok(next, 'a next link')
  assert.match(decode(next!), 'pageSize=3')
  const second = await (await operator.get(decode(next!))).text()
  assert.match(second, '4–6 of 7')
  const seen = [...tableNames(first), ...tableNames(second)]
  assert.is(new Set(seen).size, 6)
})

test('the pushed URL reproduces the view', async () => {
  const messy = `/reports/organisations.accounts?accountType=customer&q=&sort=-events&${JANUARY}&status=&org=`
  const res = await operator.get(messy, fragment)
  const canonical = res.headers.get('hx-push-url')!
  assert.ok(canonical)
  assert.not.match(canonical, 'q=')
  const rows = tableNames(await res.text())
  assert.equal(tableNames(await (await operator.get(canonical)).text()), rows)
  assert.equal(rows.map(decode), [tree.alphaCustomer.name, tree.betaCustomer.name, XSS_NAME].slice(0, rows.length))
})

test('a bad parameter is a 400 naming the key, with the form and no stack trace', async () => {
  const res = await operator.get('/reports/organisations.accounts?period=fortnight')
  assert.is(res.status, 400)
  const html = await res.text()
  assert.match(html, 'period: use one of')
  assert.match(html, /<small class="error" id="f-period-error">use one of/)
  assert.match(html, 'id="report-filters"')
  assert.not.match(html, /at \S+\.tsx?:\d+/)
  const from = await operator.get('/reports/organisations.accounts?period=custom&from=2026-02-30&to=2026-03-01', fragment)
  assert.is(from.status, 400)
  const fragmentHtml = await from.text()
  assert.match(fragmentHtml, /id="report-results"[^>]*>\s*<p class="flash flash-error" role="alert">from: use a day/)
  const unknown = await operator.get('/reports/organisations.accounts?colour=blue')
  assert.is(unknown.status, 400)
  assert.match(await unknown.text(), 'colour: is not a parameter')
})

test('403 without read on the subject, 404 for an unknown report', async () => {
  const reader = await signedIn(rt.app, USER_READER)
  assert.is((await reader.get('/reports/organisations.accounts')).status, 403)
  const unknown = await operator.get('/reports/organisations.nope')
  assert.is(unknown.status, 404)
  assert.is((await operator.get('/reports/nothing')).status, 404)
})

test('the export panel needs export; Download now redirects to the API with the filters', async () => {
  const html = await (await operator.get(`${PAGE}&accountType=customer`)).text()
  assert.match(html, 'Download now')
  assert.match(html, '<input type="hidden" name="accountType" value="customer"/>')
  for (const format of ['csv', 'xlsx', 'xml']) assert.match(html, `<option value="${format}">`)
  const reader = await signedIn(rt.app, ORG_READER)
  const readerHtml = await (await reader.get(PAGE)).text()
  assert.is((await reader.get(PAGE)).status, 200)
  assert.not.match(readerHtml, 'Download now')
  assert.not.match(readerHtml, 'id="export-panel"')
  const denied = await reader.postForm('/reports/organisations.accounts/download', { format: 'csv' })
  assert.is(denied.status, 403)

  const res = await operator.postForm('/reports/organisations.accounts/download', {
    period: 'custom', from: '2026-01-01', to: '2026-01-31', accountType: 'customer', format: 'csv', delimiter: 'pipe', bom: '1', name: 'January customers', description: '',
  })
  assert.is(res.status, 303)
  const location = new URL(res.headers.get('location')!, 'http://localhost')
  assert.is(location.pathname, '/api/v1/reports/organisations.accounts.csv')
  assert.is(location.searchParams.get('delimiter'), 'pipe')
  assert.is(location.searchParams.get('name'), 'January customers')
  assert.is(location.searchParams.get('accountType'), 'customer')
  assert.is(location.searchParams.get('_csrf'), null, 'the CSRF token stays out of the URL')
  assert.is(location.searchParams.has('description'), false)
  const bad = await operator.postForm('/reports/organisations.accounts/download', { format: 'pdf' })
  assert.is(bad.status, 400)
  assert.match(await bad.text(), 'format: use one of csv')
  const badParam = await operator.postForm('/reports/organisations.accounts/download', { format: 'xlsx', period: 'nope' })
  assert.is(badParam.status, 400)
})

test('a reseller sees only its subtree on the page, in the chart, the look-up and the chosen list', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const html = await (await alpha.get(PAGE)).text()
  assert.equal(tableNames(html).map(decode).sort(), [tree.alpha.name, tree.alphaCustomer.name, tree.alphaSub.name, XSS_NAME].sort())
  // Not even its own parent: the operator is above the reseller's subtree.
  for (const foreign of [tree.operator.name, tree.beta.name, tree.betaCustomer.name]) assert.not.match(html, foreign)
  assert.match(html, /<td class="num">1,230<\/td><\/tr><\/tfoot>|<td class="num">1,230<\/td>/, 'totals of its own subtree')
  assert.not.match(html, '1,235')
  const probe = await alpha.get(`/reports/organisations.accounts?org=${tree.betaCustomer.id}`)
  assert.is(probe.status, 400)
  const probeHtml = await probe.text()
  assert.not.match(probeHtml, tree.betaCustomer.name)
  assert.match(probeHtml, 'does not exist, or you cannot see it')
  // Listed beside one of its own, the foreign id still fails the whole request: its own row is not shown either.
  const mixed = await alpha.get(`/reports/organisations.accounts?org=${tree.alphaCustomer.id}&org=${tree.betaCustomer.id}`, { 'hx-request': 'true', 'hx-request-type': 'full', 'hx-target': 'div#report-results' })
  assert.is(mixed.status, 400)
  const mixedHtml = await mixed.text()
  assert.match(mixedHtml, `organisation ${tree.betaCustomer.id} does not exist, or you cannot see it`)
  assert.not.match(mixedHtml, tree.betaCustomer.name)
  assert.equal(tableNames(mixedHtml), [])
  const lookup = await (await alpha.get('/reports/organisations?org=Reseller')).text()
  assert.match(lookup, tree.alpha.name)
  assert.not.match(lookup, 'Beta')
  const all = await (await operator.get('/reports/organisations?org=Beta')).text()
  assert.match(all, `<option value="${tree.betaCustomer.id}" label="Beta Customer (customer)"`)
})

test('the chosen organisations come back ticked; picking one with scope=all narrows to it', async () => {
  const res = await operator.get(`/reports/organisations.accounts?${JANUARY}&scope=all&org=${tree.alphaCustomer.id}`)
  assert.is(res.status, 200)
  const html = await res.text()
  assert.match(html, `<input type="checkbox" name="org" value="${tree.alphaCustomer.id}" checked=""/> Alpha Customer`)
  assert.equal(tableNames(html), [tree.alphaCustomer.name])
})

test('tenants-list flow: the filtered organisation list opens a report on the listed organisations', async () => {
  const list = await (await operator.get('/organisations?q=Alpha')).text()
  assert.match(list, '<form id="report-on-orgs"')
  assert.match(list, 'Report on these 3 organisations')
  assert.match(list, '<option value="organisations.accounts">Accounts</option>')
  const ticked = [...list.matchAll(/name="org" value="(\d+)" form="report-on-orgs" checked/g)].map((m) => Number(m[1]))
  assert.equal(ticked.sort(), [tree.alpha.id, tree.alphaCustomer.id, tree.alphaSub.id].sort(), 'the XSS-named organisation does not match "Alpha"')
  const unfiltered = await (await operator.get('/organisations')).text()
  assert.match(unfiltered, 'Report on all organisations')
  assert.not.match(unfiltered, 'form="report-on-orgs"')

  const open = await operator.get(`/reports/open?report=organisations.accounts&${ticked.map((id) => `org=${id}`).join('&')}`)
  assert.is(open.status, 303)
  const target = open.headers.get('location')!
  assert.is(target, `/reports/organisations.accounts?${ticked.map((id) => `org=${id}`).join('&')}`)
  const report = await (await operator.get(target)).text()
  assert.equal(tableNames(report).sort(), [tree.alpha.name, tree.alphaCustomer.name, tree.alphaSub.name].sort())
  const reader = await signedIn(rt.app, USER_READER)
  assert.is((await reader.get('/reports/open?report=organisations.accounts')).status, 403)
  assert.is((await operator.get('/reports/open?report=organisations.none')).status, 404)
})

test.run()
