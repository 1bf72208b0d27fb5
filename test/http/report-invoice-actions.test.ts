/**
 * The invoice selection page and its bulk status changes, through the front door: mark paid
 * (a payment of the balance), void, pending (a draft issued), each audited; invoices that cannot
 * change are skipped and named in the flash; no `update` permission is a 403; a reseller cannot
 * touch another subtree's invoices; CSRF is required. The same actions on ticked rows of the
 * invoice report's page (the engine's `actions`), returning to the view they came from.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { addSubscription, seedCatalog } from '../support/billing.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { ADMIN, addRole, addUser, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`invoice actions (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
const ids: Record<string, number> = {}
const RANGE = 'from=2020-01-01&to=2030-12-31'

async function invoice(key: string, org: keyof Tree, period: string, status: 'draft' | 'issued' | 'paid' | 'void', total: number): Promise<void> {
  const row = await rt.database.db.insertInto('invoices').values({
    org_id: tree[org].id, number: `ACT-${key}`, period, currency: 'EUR', status, issued_on: status === 'draft' ? null : '2026-01-05', due_on: status === 'draft' ? null : '2026-02-04',
    subtotal_minor: total, total_minor: total, paid_minor: status === 'paid' ? total : 0,
  }).returning('id').executeTakeFirstOrThrow()
  ids[key] = row.id
}

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  const catalog = await seedCatalog(rt.database.db, tree.operator.id)
  await addSubscription(rt.database.db, tree.alphaCustomer.id, catalog.plans.reserved!)
  await invoice('A', 'alphaCustomer', '2025-10-01', 'issued', 5000)
  await invoice('B', 'alphaCustomer', '2025-09-01', 'void', 1000)
  await invoice('C', 'betaCustomer', '2025-10-01', 'issued', 3000)
  await invoice('D', 'alphaCustomer', '2025-11-01', 'issued', 2000)
  await invoice('E', 'alphaCustomer', '2025-12-01', 'draft', 0)
  await invoice('F', 'alphaSubCustomer', '2025-10-01', 'paid', 700)
  await invoice('G', 'alphaSubCustomer', '2025-11-01', 'issued', 900)
})
test.after(async () => { await rt?.dispose() })

async function act(agent: Agent, action: string, keys: string[], options: { csrf?: boolean; back?: string } = {}): Promise<Response> {
  const body = new URLSearchParams()
  if (options.csrf !== false) body.set('_csrf', await agent.csrf('/'))
  body.set('action', action)
  body.set('back', options.back ?? RANGE)
  for (const key of keys) body.append('invoiceId', String(ids[key] ?? key))
  return agent.request('/invoice/actions', { method: 'POST', body: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' } })
}
const statusOf = async (key: string) => (await rt.database.db.selectFrom('invoices').select(['status', 'paid_minor']).where('id', '=', ids[key]!).executeTakeFirstOrThrow())
const audits = (key: string) => rt.database.db.selectFrom('audit_log').select(['action', 'actor_email']).where('subject', '=', 'Invoice').where('subject_id', '=', String(ids[key])).execute()

test('mark paid records a payment of the balance per invoice, audited; a void one is skipped and named', async () => {
  const op = await signedIn(rt.app, ADMIN.operator)
  const response = await act(op, 'paid', ['A', 'B', 'C'])
  assert.is(response.status, 303)
  assert.is(response.headers.get('location'), `/invoice?${RANGE}`)
  const page = await (await op.get(response.headers.get('location')!)).text()
  assert.match(page, '2 invoices marked paid; 1 skipped: Invoice ACT-B is void: it takes no payments.')
  assert.equal(await statusOf('A'), { status: 'paid', paid_minor: '5000' })
  assert.equal(await statusOf('C'), { status: 'paid', paid_minor: '3000' })
  assert.equal(await statusOf('B'), { status: 'void', paid_minor: '0' })
  const payments = await rt.database.db.selectFrom('payments').select(['invoice_id', 'amount_minor']).orderBy('invoice_id').execute()
  assert.equal(payments, [{ invoice_id: ids.A!, amount_minor: '5000' }, { invoice_id: ids.C!, amount_minor: '3000' }])
  assert.equal(await audits('A'), [{ action: 'payment', actor_email: ADMIN.operator }])
  assert.equal(await audits('B'), [])
})

test('void and pending: an issued invoice is voided, a draft is issued; both audited', async () => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  assert.is((await act(alpha, 'void', ['D'])).status, 303)
  assert.is((await statusOf('D')).status, 'void')
  assert.equal((await audits('D')).map((a) => a.action), ['void'])
  assert.is((await act(alpha, 'pending', ['E', 'F'])).status, 303)
  const e = await rt.database.db.selectFrom('invoices').select(['status', 'total_minor', 'due_on']).where('id', '=', ids.E!).executeTakeFirstOrThrow()
  // Issuing rates the draft: the reserved plan's monthly fee.
  assert.equal({ status: e.status, total: e.total_minor, due: e.due_on !== null }, { status: 'issued', total: '12000', due: true })
  assert.equal((await audits('E')).map((a) => a.action), ['issue'])
  assert.is((await statusOf('F')).status, 'paid')
  assert.match(await (await alpha.get(`/invoice?${RANGE}`)).text(), 'Only a draft can be issued; invoice ACT-F is paid')
})

test('without update on Invoice: the page shows no selection and the action is a 403', async () => {
  const roleId = await addRole(rt.database.db, tree.operator.id, 'Invoice reader', [['Invoice', 'read']])
  await addUser(rt.database.db, tree.operator.id, 'reader@test.example', { roleIds: [roleId] })
  const reader = await signedIn(rt.app, 'reader@test.example')
  const page = await reader.get(`/invoice?${RANGE}`)
  assert.is(page.status, 200)
  const html = await page.text()
  assert.match(html, 'ACT-G')
  assert.not.match(html, 'name="invoiceId"')
  assert.is((await act(reader, 'void', ['G'])).status, 403)
  assert.is((await statusOf('G')).status, 'issued')
  assert.equal(await audits('G'), [])
})

test('a reseller only reaches its subtree: other invoices are skipped as unknown and stay as they were', async () => {
  const beta = await signedIn(rt.app, ADMIN.beta)
  const html = await (await beta.get(`/invoice?${RANGE}`)).text()
  assert.match(html, 'ACT-C')
  assert.not.match(html, 'ACT-G')
  const response = await act(beta, 'void', ['G'])
  assert.is(response.status, 303)
  assert.match(await (await beta.get(response.headers.get('location')!)).text(), `0 invoices voided; 1 skipped: invoice ${ids.G} does not exist, or you cannot see it.`)
  assert.is((await statusOf('G')).status, 'issued')
})

test('CSRF, a bad action, bad ids and an unsafe back address', async () => {
  const op = await signedIn(rt.app, ADMIN.operator)
  assert.is((await act(op, 'void', ['G'], { csrf: false })).status, 403)
  assert.is((await act(op, 'delete', ['G'])).status, 400)
  assert.is((await act(op, 'void', ['x1'])).status, 400)
  const empty = await act(op, 'void', [], { back: 'https://evil.example/' })
  assert.is(empty.status, 303)
  assert.is(empty.headers.get('location'), '/invoice')
  assert.is((await statusOf('G')).status, 'issued')
  assert.is((await op.get('/invoice?status=sometimes')).status, 400)
})

test('the invoice report page offers the actions on ticked rows, and the action returns to that view', async () => {
  const view = `/reports/invoice.invoices?period=custom&${RANGE}&status=overdue`
  const op = await signedIn(rt.app, ADMIN.operator)
  const html = await (await op.get(view)).text()
  assert.match(html, `<form id="report-row-actions" class="row-actions" method="post" action="/invoice/actions">`)
  assert.match(html, `name="invoiceId" value="${ids.G}" form="report-row-actions"`)
  assert.not.match(html, `value="${ids.A}" form=`, 'a paid invoice is not in the overdue view')
  const back = /name="back" value="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&')
  assert.ok(back?.startsWith('/reports/invoice.invoices?'), back)
  assert.match(back!, 'status=overdue')
  // The aging tab lists customers, not invoices: no selection there.
  const aging = await (await op.get(`${view}&tab=aging`)).text()
  assert.not.match(aging, 'report-row-actions')

  const response = await act(op, 'void', ['G'], { back })
  assert.is(response.status, 303)
  assert.is(response.headers.get('location'), back)
  const after = await (await op.get(back!)).text()
  assert.match(after, '1 invoice voided.')
  assert.not.match(after, `value="${ids.G}" form=`)
  assert.is((await statusOf('G')).status, 'void')
  assert.equal((await audits('G')).map((a) => a.action), ['void'])

  // Only a path back to this report: anything else falls back to /invoice.
  for (const unsafe of ['/reports/invoice.invoicesx?a=1', '/reports/other.report?a=1', '/reports/invoice.invoices?a=<b>', '//evil.example/reports/invoice.invoices?']) {
    assert.is((await act(op, 'void', [], { back: unsafe })).headers.get('location'), '/invoice', unsafe)
  }
})

test('without update on Invoice the report page shows no selection', async () => {
  const reader = await signedIn(rt.app, 'reader@test.example')
  const html = await (await reader.get(`/reports/invoice.invoices?period=custom&${RANGE}`)).text()
  assert.match(html, 'ACT-C')
  assert.not.match(html, 'report-row-actions')
  assert.not.match(html, 'name="invoiceId"')
})

test.run()
