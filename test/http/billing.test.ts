/**
 * Billing through the front door: billing runs (start, join, the job, concurrent runs), the
 * invoices JSON API with its 4xx answers, payments and status changes, tenant scope, and the pages.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { previousMonth, todayUtc } from '../../core/billing/invoices.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { addMonthlyUsage, addSubscription, seedCatalog, type Catalog } from '../support/billing.ts'
import { ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

interface Ctx { rt: TestRuntime; tree: Tree; catalog: Catalog; agents: Record<'operator' | 'alpha' | 'alphaCustomer' | 'beta', Agent> }
const test = suite<Ctx>(`billing API and pages (${dbLabel})`)

const CLOSED = previousMonth(todayUtc())
const OLDER = previousMonth(`${CLOSED}-01`)
const FUTURE = (() => { const d = new Date(); d.setUTCMonth(d.getUTCMonth() + 1, 1); return d.toISOString().slice(0, 7) })()

test.before(async (ctx) => {
  ctx.rt = await testRuntime()
  const db = ctx.rt.database.db
  ctx.tree = await seedTree(db)
  ctx.catalog = await seedCatalog(db, ctx.tree.operator.id)
  const { plans, meters } = ctx.catalog
  for (const org of [ctx.tree.alphaCustomer, ctx.tree.alphaSubCustomer, ctx.tree.betaCustomer]) {
    const sub = await addSubscription(db, org.id, plans.payg!)
    for (const month of [CLOSED, OLDER]) await addMonthlyUsage(db, org.id, sub, meters.sms!, `${month}-01`, '1000') // 1000 x 0.045 = 45.00
  }
  ctx.agents = {
    operator: await signedIn(ctx.rt.app, ADMIN.operator), alpha: await signedIn(ctx.rt.app, ADMIN.alpha),
    alphaCustomer: await signedIn(ctx.rt.app, ADMIN.alphaCustomer), beta: await signedIn(ctx.rt.app, ADMIN.beta),
  }
})
test.after(async (ctx) => { await ctx.rt.dispose() })

async function send(agent: Agent, method: string, path: string, body?: unknown) {
  const token = await agent.csrf('/')
  const res = await agent.request(path, {
    method, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', 'x-csrf-token': token, 'sec-fetch-site': 'same-origin', accept: 'application/json' },
  })
  const text = await res.text()
  return { status: res.status, json: (text ? JSON.parse(text) : {}) as any }
}

/** Waits for the job worker to finish a run (it polls every 0.5 s in tests). */
async function finished(agent: Agent, runId: number): Promise<any> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const { json } = await send(agent, 'GET', `/api/v1/billing-runs/${runId}`)
    if (json.run.status === 'done' || json.run.status === 'failed') return json.run
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${json.run.status}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function invoiceOf(ctx: Ctx, orgId: number, period = CLOSED) {
  return ctx.rt.database.db.selectFrom('invoices').selectAll().where('org_id', '=', orgId).where('period', '=', `${period}-01`).executeTakeFirstOrThrow()
}

test('POST /api/v1/billing-runs refuses bad input with 400/422 and a message, and customers with 403', async (ctx) => {
  const op = ctx.agents.operator
  assert.is((await send(op, 'POST', '/api/v1/billing-runs', 'not json')).status, 400)
  for (const body of [{}, { period: '2026-13' }, { period: 202601 }, { period: '2026-1' }, { period: '2026-01', extra: 1 }]) {
    const { status, json } = await send(op, 'POST', '/api/v1/billing-runs', body)
    assert.is(status, 422, JSON.stringify(body))
    assert.ok(json.error.message)
  }
  const future = await send(op, 'POST', '/api/v1/billing-runs', { period: FUTURE })
  assert.is(future.status, 422)
  assert.match(future.json.error.fields.period, /not started/)
  assert.is((await send(ctx.agents.alphaCustomer, 'POST', '/api/v1/billing-runs', { period: CLOSED })).status, 403)
  assert.is(await ctx.rt.database.db.selectFrom('billing_runs').select('id').executeTakeFirst(), undefined)
})

test('a billing run is queued (202), joined while unfinished (200), run by the job, and bills the closed month', async (ctx) => {
  const op = ctx.agents.operator
  const [a, b] = await Promise.all([send(op, 'POST', '/api/v1/billing-runs', { period: CLOSED }), send(op, 'POST', '/api/v1/billing-runs', { period: CLOSED })])
  assert.equal([a.status, b.status].sort(), [200, 202])
  assert.is(a.json.run.id, b.json.run.id)
  assert.equal([a.json.joined, b.json.joined].sort(), [false, true])
  const run = await finished(op, a.json.run.id)
  assert.is(run.status, 'done', run.error)
  assert.is(run.invoicesCreated, 3)
  assert.is(run.period, CLOSED)
  const invoice = await invoiceOf(ctx, ctx.tree.alphaCustomer.id)
  assert.is(invoice.status, 'issued')
  assert.is(invoice.total_minor, '4500')
  // Finished: the next start is a new run, which finds nothing to create.
  const again = await send(op, 'POST', '/api/v1/billing-runs', { period: CLOSED })
  assert.is(again.status, 202)
  assert.ok(again.json.run.id !== a.json.run.id)
  const second = await finished(op, again.json.run.id)
  assert.equal([second.invoicesCreated, second.invoicesUpdated], [0, 0])
  const audits = await ctx.rt.database.db.selectFrom('audit_log').select('id').where('subject', '=', 'BillingRun').execute()
  assert.is(audits.length, 2)
})

test('two concurrent runs from different organisations make one invoice per organisation', async (ctx) => {
  const [op, alpha] = await Promise.all([
    send(ctx.agents.operator, 'POST', '/api/v1/billing-runs', { period: OLDER }),
    send(ctx.agents.alpha, 'POST', '/api/v1/billing-runs', { period: OLDER }),
  ])
  assert.equal([op.status, alpha.status], [202, 202])
  const runs = [await finished(ctx.agents.operator, op.json.run.id), await finished(ctx.agents.alpha, alpha.json.run.id)]
  assert.ok(runs.every((r) => r.status === 'done'))
  assert.is(runs[0].invoicesCreated + runs[1].invoicesCreated, 3)
  const rows = await ctx.rt.database.db.selectFrom('invoices').select('org_id').where('period', '=', `${OLDER}-01`).execute()
  assert.is(rows.length, 3)
  assert.is(new Set(rows.map((r) => r.org_id)).size, 3)
  // Runs are scoped like everything else: alpha sees its own run, not the operator's.
  const list = await send(ctx.agents.alpha, 'GET', '/api/v1/billing-runs')
  assert.equal(list.json.runs.map((r: any) => r.id), [alpha.json.run.id])
  assert.is((await send(ctx.agents.alpha, 'GET', `/api/v1/billing-runs/${op.json.run.id}`)).status, 404)
})

test('GET /api/v1/invoices: scope, filters and paging; bad filters are 422, a foreign org is 404', async (ctx) => {
  const { tree, agents } = ctx
  const mine = await send(agents.alphaCustomer, 'GET', '/api/v1/invoices')
  assert.is(mine.status, 200)
  assert.ok(mine.json.invoices.length === 2 && mine.json.invoices.every((i: any) => i.orgId === tree.alphaCustomer.id))
  const alpha = await send(agents.alpha, 'GET', `/api/v1/invoices?period=${CLOSED}`)
  assert.equal(alpha.json.invoices.map((i: any) => i.orgId).sort(), [tree.alphaCustomer.id, tree.alphaSubCustomer.id].sort())
  assert.is(alpha.json.total, 2)
  const first = alpha.json.invoices[0]
  assert.equal([first.statusLabel, first.currency, first.totalMinor, first.balanceMinor, first.period], ['pending', 'EUR', '4500', '4500', CLOSED])
  const paged = await send(agents.operator, 'GET', '/api/v1/invoices?limit=2&offset=2')
  assert.equal([paged.json.invoices.length, paged.json.total], [2, 6])
  const filtered = await send(agents.operator, 'GET', `/api/v1/invoices?org=${tree.betaCustomer.id}&from=${OLDER}&to=${CLOSED}&status=issued`)
  assert.is(filtered.json.total, 2)
  for (const q of ['period=2026-13', 'status=bogus', 'limit=1000', 'from=x', 'org=abc']) {
    assert.is((await send(agents.operator, 'GET', `/api/v1/invoices?${q}`)).status, 422, q)
  }
  assert.is((await send(agents.alpha, 'GET', `/api/v1/invoices?org=${tree.betaCustomer.id}`)).status, 404)
})

test('GET /api/v1/invoices/:id has lines and payments; a sibling\'s or a parent\'s invoice is 404', async (ctx) => {
  const { tree, agents } = ctx
  const own = await invoiceOf(ctx, tree.alphaCustomer.id)
  const { status, json } = await send(agents.alphaCustomer, 'GET', `/api/v1/invoices/${own.id}`)
  assert.is(status, 200)
  assert.is(json.invoice.number, own.number)
  assert.equal(json.invoice.lines.map((l: any) => [l.kind, l.quantity, l.unitPrice, l.amountMinor]), [['usage', '1000.000000', '0.045000', '4500']])
  assert.equal(json.invoice.payments, [])
  for (const other of [tree.alphaSubCustomer, tree.betaCustomer]) {
    const foreign = await invoiceOf(ctx, other.id)
    const res = await send(agents.alphaCustomer, 'GET', `/api/v1/invoices/${foreign.id}`)
    assert.is(res.status, 404)
    assert.not.match(JSON.stringify(res.json), foreign.number)
  }
  assert.is((await send(agents.beta, 'GET', `/api/v1/invoices/${own.id}`)).status, 404)
  assert.is((await send(agents.alpha, 'GET', '/api/v1/invoices/0')).status, 404)
  assert.is((await send(agents.alpha, 'GET', '/api/v1/invoices/abc')).status, 404)
})

test('POST /api/v1/invoices/:id/payments: amounts, overpayment, states, scope and permissions', async (ctx) => {
  const { tree, agents } = ctx
  const invoice = await invoiceOf(ctx, tree.alphaSubCustomer.id)
  const path = `/api/v1/invoices/${invoice.id}/payments`
  assert.is((await send(agents.alpha, 'POST', path, '[')).status, 400)
  const bad: [unknown, string][] = [
    [{}, 'amount'], [{ amountMinor: 100, amount: '1.00' }, 'amount'], [{ amount: '1.234' }, 'amount'], [{ amount: '-1' }, 'amount'],
    [{ amountMinor: 1.5 }, 'amountMinor'], [{ amountMinor: '12a' }, 'amountMinor'], [{ amountMinor: 0 }, 'amount'], [{ amountMinor: 4501 }, 'amount'],
    [{ amount: '10', paidOn: '2026-02-30x' }, 'paidOn'], [{ amount: '10', bogus: true }, 'body'],
  ]
  for (const [body, field] of bad) {
    const res = await send(agents.alpha, 'POST', path, body)
    assert.is(res.status, 422, JSON.stringify(body))
    assert.ok(res.json.error.fields?.[field] ?? res.json.error.message, JSON.stringify(res.json))
  }
  assert.is((await send(agents.alphaCustomer, 'POST', path, { amount: '1' })).status, 403)
  assert.is((await send(agents.beta, 'POST', path, { amount: '1' })).status, 404)
  const part = await send(agents.alpha, 'POST', path, { amount: '10.50', paidOn: '2026-01-15', reference: 'Wire 42' })
  assert.is(part.status, 201)
  assert.equal([part.json.payment.amountMinor, part.json.invoice.paidMinor, part.json.invoice.balanceMinor, part.json.invoice.status], ['1050', '1050', '3450', 'issued'])
  const rest = await send(agents.alpha, 'POST', path, { amountMinor: '3450' })
  assert.equal([rest.status, rest.json.invoice.status], [201, 'paid'])
  const more = await send(agents.alpha, 'POST', path, { amountMinor: 1 })
  assert.is(more.status, 409)
  assert.match(more.json.error.message, /already paid/)
  const detail = await send(agents.alpha, 'GET', `/api/v1/invoices/${invoice.id}`)
  assert.equal(detail.json.invoice.payments.map((p: any) => [p.amountMinor, p.reference]), [['1050', 'Wire 42'], ['3450', '']])
  const audits = await ctx.rt.database.db.selectFrom('audit_log').select('action').where('subject', '=', 'Invoice').where('subject_id', '=', String(invoice.id)).where('action', '=', 'payment').execute()
  assert.is(audits.length, 2)
})

test('POST /api/v1/invoices/:id/status: transitions, 409 for illegal ones, 422 for bad input', async (ctx) => {
  const { tree, agents } = ctx
  const invoice = await invoiceOf(ctx, tree.betaCustomer.id, OLDER)
  const path = `/api/v1/invoices/${invoice.id}/status`
  for (const body of [{}, { status: 'overdue' }, { status: 'draft' }, { status: 'paid', paidOn: 'yesterday' }]) {
    assert.is((await send(agents.beta, 'POST', path, body)).status, 422, JSON.stringify(body))
  }
  assert.is((await send(agents.alpha, 'POST', path, { status: 'void' })).status, 404)
  const issued = await send(agents.beta, 'POST', path, { status: 'issued' })
  assert.is(issued.status, 409)
  assert.match(issued.json.error.message, /Only a draft can be issued/)
  const voided = await send(agents.beta, 'POST', path, { status: 'void' })
  assert.equal([voided.status, voided.json.invoice.status], [200, 'void'])
  for (const status of ['void', 'paid', 'issued']) assert.is((await send(agents.beta, 'POST', path, { status })).status, 409, status)
  assert.is((await send(agents.beta, 'POST', `/api/v1/invoices/${invoice.id}/payments`, { amount: '1' })).status, 409)
  const paid = await invoiceOf(ctx, tree.betaCustomer.id)
  const marked = await send(agents.beta, 'POST', `/api/v1/invoices/${paid.id}/status`, { status: 'paid', reference: 'Card' })
  assert.equal([marked.status, marked.json.invoice.status, marked.json.invoice.payments.length, marked.json.invoice.payments[0].amountMinor], [200, 'paid', 1, '4500'])
})

test('the current month is billed as drafts; a draft is issued through the API', async (ctx) => {
  const { tree, agents } = ctx
  const current = todayUtc().slice(0, 7)
  const sub = (await ctx.rt.database.db.selectFrom('subscriptions').select('id').where('org_id', '=', tree.alphaCustomer.id).executeTakeFirstOrThrow()).id
  await addMonthlyUsage(ctx.rt.database.db, tree.alphaCustomer.id, sub, ctx.catalog.meters.sms!, `${current}-01`, '10')
  const started = await send(agents.alpha, 'POST', '/api/v1/billing-runs', { period: current })
  assert.is(started.status, 202)
  assert.is((await finished(agents.alpha, started.json.run.id)).invoicesCreated, 2)
  const draft = await invoiceOf(ctx, tree.alphaCustomer.id, current)
  assert.equal([draft.status, draft.total_minor], ['draft', '45'])
  assert.is((await send(agents.alpha, 'POST', `/api/v1/invoices/${draft.id}/payments`, { amount: '0.45' })).status, 409)
  const issued = await send(agents.alpha, 'POST', `/api/v1/invoices/${draft.id}/status`, { status: 'issued' })
  assert.equal([issued.status, issued.json.invoice.status, issued.json.invoice.issuedOn], [200, 'issued', todayUtc()])
})

test('pages: the list (full and fragment), the detail with actions only for who may update, the printable view', async (ctx) => {
  const { tree, agents } = ctx
  const list = await agents.alpha.get('/billing/invoices')
  assert.is(list.status, 200)
  const html = await list.text()
  assert.match(html, /€45\.00/)
  assert.match(html, /Billing runs/) // nav entry
  const fragment = await (await agents.alpha.get(`/billing/invoices?status=issued&period=${CLOSED}`, { 'hx-request': 'true' })).text()
  assert.not.match(fragment, /class="sidenav"/)
  assert.match(fragment, /id="invoice-table"/)
  const invoice = await invoiceOf(ctx, tree.alphaCustomer.id)
  const detail = await (await agents.alpha.get(`/billing/invoices/${invoice.id}`)).text()
  assert.match(detail, new RegExp(invoice.number))
  assert.match(detail, /Record payment/)
  assert.match(detail, /Mark paid/)
  const customerView = await (await agents.alphaCustomer.get(`/billing/invoices/${invoice.id}`)).text()
  assert.not.match(customerView, /Record payment/)
  const print = await agents.alphaCustomer.get(`/billing/invoices/${invoice.id}?print=1`)
  const printed = await print.text()
  assert.is(print.status, 200)
  assert.not.match(printed, /class="sidenav"/)
  assert.match(printed, /billing\.css/)
  assert.match(printed, /€45\.00/)
  const css = await agents.alphaCustomer.get('/billing/billing.css')
  assert.match(css.headers.get('content-type') ?? '', /text\/css/)
  assert.match(await css.text(), /@media print/)
  assert.is((await agents.beta.get(`/billing/invoices/${invoice.id}`)).status, 404)
  assert.is((await agents.beta.get(`/billing/invoices?org=${tree.alphaCustomer.id}`)).status, 404)
})

test('page forms: a bad payment re-renders with 422, a good one redirects; status buttons; runs form', async (ctx) => {
  const { tree, agents } = ctx
  const invoice = await invoiceOf(ctx, tree.alphaCustomer.id)
  const path = `/billing/invoices/${invoice.id}`
  const bad = await agents.alpha.postForm(`${path}/payments`, { amount: 'lots' })
  assert.is(bad.status, 422)
  assert.match(await bad.text(), /Enter an amount in EUR/)
  const over = await agents.alpha.postForm(`${path}/payments`, { amount: '99.00' })
  assert.is(over.status, 422)
  assert.match(await over.text(), /cannot exceed/)
  const ok = await agents.alpha.postForm(`${path}/payments`, { amount: '5', reference: 'Cash' })
  assert.equal([ok.status, ok.headers.get('location')], [303, path])
  assert.is((await invoiceOf(ctx, tree.alphaCustomer.id)).paid_minor, '500')
  const bogus = await agents.alpha.postForm(`${path}/status`, { status: 'draft' })
  assert.is(bogus.status, 422)
  const cannotVoid = await agents.alpha.postForm(`${path}/status`, { status: 'void' })
  assert.is(cannotVoid.status, 409)
  assert.match(await cannotVoid.text(), /payments recorded/)
  const paid = await agents.alpha.postForm(`${path}/status`, { status: 'paid' })
  assert.is(paid.status, 303)
  assert.is((await invoiceOf(ctx, tree.alphaCustomer.id)).status, 'paid')
  assert.is((await agents.alphaCustomer.postForm(`${path}/status`, { status: 'paid' })).status, 403)
  const runsPage = await (await agents.alpha.get('/billing/runs')).text()
  assert.match(runsPage, /Start billing run/)
  const badRun = await agents.alpha.postForm('/billing/runs', { period: FUTURE })
  assert.is(badRun.status, 422)
  assert.match(await badRun.text(), /not started/)
  const started = await agents.alpha.postForm('/billing/runs', { period: CLOSED })
  assert.equal([started.status, started.headers.get('location')], [303, '/billing/runs'])
  const customerRuns = await (await agents.alphaCustomer.get('/billing/runs')).text()
  assert.not.match(customerRuns, /Start billing run/)
})

test.run()
