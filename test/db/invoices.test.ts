/**
 * Billing a period through `billPeriod`: golden invoices worked out by hand for each plan model,
 * discounts and a credit balance; re-runs of open and closed months; concurrent runs; overdue
 * marking; status changes and payments.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { markOverdue, changeStatus, recordPayment } from '../../core/billing/invoice-actions.ts'
import { billPeriod } from '../../core/billing/invoices.ts'
import type { OrganisationRow } from '../../core/db/schema.ts'
import { HttpProblem } from '../../core/http/problem.ts'
import { insertOrganisation } from '../../core/tenancy/organisations.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { addMonthlyUsage, addSubscription, seedCatalog, type Catalog } from '../support/billing.ts'
import { dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

interface Ctx { rt: TestRuntime; tree: Tree; catalog: Catalog; orgs: Record<string, OrganisationRow> }
const test = suite<Ctx>(`billing a period (${dbLabel})`)

const PERIOD = '2026-01'
const MONTH = '2026-01-01'
const TODAY = '2026-02-10' // January is closed: issued invoices

test.before(async (ctx) => {
  ctx.rt = await testRuntime()
  const db = ctx.rt.database.db
  ctx.tree = await seedTree(db)
  ctx.catalog = await seedCatalog(db, ctx.tree.operator.id)
  const { meters, plans } = ctx.catalog
  const t = ctx.tree
  const orgs: Record<string, OrganisationRow> = {}
  for (const name of ['payg', 'reserved', 'bundle', 'discounts', 'credit']) {
    orgs[name] = await insertOrganisation(db, t.alpha, { kind: 'customer', name: `Golden ${name}` })
  }
  ctx.orgs = orgs

  // PAYG.
  const payg = await addSubscription(db, orgs.payg!.id, plans.payg!)
  await addMonthlyUsage(db, orgs.payg!.id, payg, meters['vcpu-hours']!, MONTH, '1234.567891')
  await addMonthlyUsage(db, orgs.payg!.id, payg, meters['storage-gb']!, MONTH, '100.5')
  await addMonthlyUsage(db, orgs.payg!.id, payg, meters.sms!, MONTH, '333')
  await addMonthlyUsage(db, orgs.payg!.id, payg, meters['egress-gb']!, MONTH, '0.000001')
  // Usage of another month and of an unpriced meter are not billed.
  await addMonthlyUsage(db, orgs.payg!.id, payg, meters['vcpu-hours']!, '2025-12-01', '999')
  await addMonthlyUsage(db, orgs.payg!.id, payg, meters['licence-seats']!, MONTH, '5')

  // Reserved: fee + committed capacity + overage.
  const reserved = await addSubscription(db, orgs.reserved!.id, plans.reserved!)
  await addMonthlyUsage(db, orgs.reserved!.id, reserved, meters['vcpu-hours']!, MONTH, '1500')
  await addMonthlyUsage(db, orgs.reserved!.id, reserved, meters['storage-gb']!, MONTH, '480')

  // Bundle with overage; a cancelled and an ended subscription are not billed.
  const bundle = await addSubscription(db, orgs.bundle!.id, plans.bundle!)
  await addMonthlyUsage(db, orgs.bundle!.id, bundle, meters['voice-minutes']!, MONTH, '1250.5')
  await addMonthlyUsage(db, orgs.bundle!.id, bundle, meters.sms!, MONTH, '499')
  await addMonthlyUsage(db, orgs.bundle!.id, bundle, meters['licence-seats']!, MONTH, '12')
  const cancelled = await addSubscription(db, orgs.bundle!.id, plans.reserved!, { name: 'Cancelled' })
  await db.updateTable('subscriptions').set({ status: 'cancelled' }).where('id', '=', cancelled).execute()
  await addSubscription(db, orgs.bundle!.id, plans.reserved!, { name: 'Ended', startsOn: '2025-01-01', endsOn: '2025-12-31' })
  await addSubscription(db, orgs.bundle!.id, plans.reserved!, { name: 'Later', startsOn: '2026-02-01' })

  // Discounts.
  const dPayg = await addSubscription(db, orgs.discounts!.id, plans.payg!)
  const dBundle = await addSubscription(db, orgs.discounts!.id, plans.bundle!)
  await addMonthlyUsage(db, orgs.discounts!.id, dPayg, meters['vcpu-hours']!, MONTH, '1000')
  await addMonthlyUsage(db, orgs.discounts!.id, dPayg, meters['storage-gb']!, MONTH, '200')
  await addMonthlyUsage(db, orgs.discounts!.id, dBundle, meters['voice-minutes']!, MONTH, '1100')
  const discount = (values: Record<string, unknown>) => db.insertInto('discounts').values({
    org_id: orgs.discounts!.id, granted_by_org_id: t.alpha.id, valid_from: '2025-06-01', ...values,
  } as never).execute()
  await discount({ target: 'service', service_id: ctx.catalog.services.compute!, kind: 'percent', percent: '12.5', description: 'Compute promo' })
  await discount({ target: 'plan', plan_id: plans.bundle!, kind: 'fixed', amount_minor: 1000, currency: 'EUR' })
  await discount({ target: 'meter', meter_id: meters['storage-gb']!, kind: 'fixed', amount_minor: 500, currency: 'USD' })
  await discount({ target: 'all', kind: 'percent', percent: '50', cancelled_at: new Date('2025-12-01T00:00:00Z') })
  await discount({ target: 'all', kind: 'percent', percent: '50', valid_to: '2025-12-31' })
  await discount({ target: 'all', kind: 'percent', percent: '50', valid_from: '2026-02-01' })

  // Credit balance.
  const credit = await addSubscription(db, orgs.credit!.id, plans.payg!)
  await addMonthlyUsage(db, orgs.credit!.id, credit, meters.sms!, MONTH, '1000')
  await db.insertInto('credit_entries').values([
    { org_id: orgs.credit!.id, kind: 'topup', amount_minor: 5000, currency: 'EUR' },
    { org_id: orgs.credit!.id, kind: 'adjustment', amount_minor: -2000, currency: 'EUR' },
    { org_id: orgs.credit!.id, kind: 'topup', amount_minor: 99999, currency: 'USD' },
  ]).execute()
})
test.after(async (ctx) => { await ctx.rt.dispose() })

const operatorDb = (ctx: Ctx) => new ScopedDb(ctx.rt.database.db, { orgId: ctx.tree.operator.id, path: ctx.tree.operator.path })
const scopedTo = (ctx: Ctx, org: OrganisationRow) => new ScopedDb(ctx.rt.database.db, { orgId: org.id, path: org.path })

async function invoiceOf(ctx: Ctx, org: OrganisationRow, period = MONTH) {
  const db = ctx.rt.database.db
  const invoice = await db.selectFrom('invoices').selectAll().where('org_id', '=', org.id).where('period', '=', period).executeTakeFirstOrThrow()
  const lines = await db.selectFrom('invoice_lines').selectAll().where('invoice_id', '=', invoice.id).orderBy('position').execute()
  return { invoice, lines, amounts: lines.map((l) => [l.kind, l.amount_minor]) }
}

function assertAddsUp(invoice: { subtotal_minor: string; discount_minor: string; credit_minor: string; total_minor: string }, lines: { kind: string; amount_minor: string }[]) {
  const sum = (kinds: string[]) => lines.filter((l) => kinds.includes(l.kind)).reduce((s, l) => s + BigInt(l.amount_minor), 0n).toString()
  assert.is(invoice.subtotal_minor, sum(['fixed', 'usage']))
  assert.is(invoice.discount_minor, sum(['discount']))
  assert.is(invoice.credit_minor, sum(['credit']))
  assert.is(invoice.total_minor, sum(['fixed', 'usage', 'discount', 'credit']))
}

test('a closed month is billed with issued invoices, one per billable organisation, and an audit row each', async (ctx) => {
  const result = await billPeriod(operatorDb(ctx), { period: PERIOD, today: TODAY })
  // The five golden organisations; the seeded tree has no subscriptions.
  assert.is(result.created, 5)
  assert.is(result.updated, 0)
  const db = ctx.rt.database.db
  const invoices = await db.selectFrom('invoices').selectAll().where('period', '=', MONTH).execute()
  assert.is(invoices.length, 5)
  for (const invoice of invoices) {
    assert.ok(['issued', 'paid'].includes(invoice.status))
    assert.is(invoice.issued_on, TODAY)
    assert.is(invoice.due_on, '2026-03-12') // 10 Feb + 30 days
    assert.match(invoice.number, /^INV-202601-\d{6,}$/)
  }
  const audits = await db.selectFrom('audit_log').select(['subject_id', 'action']).where('subject', '=', 'Invoice').execute()
  assert.is(audits.length, 5)
  assert.ok(audits.every((a) => a.action === 'issue'))
})

test('golden PAYG invoice', async (ctx) => {
  const { invoice, lines, amounts } = await invoiceOf(ctx, ctx.orgs.payg!)
  // Lines by meter name: egress-gb, sms, storage-gb, vcpu-hours (the unpriced licence seats: none).
  //   egress-gb   0.000001 x 0.01  = 0.00000001 EUR = 0.000001 cents   -> 0
  //   sms         333 x 0.045      = 14.985 EUR     = 1498.5 cents     -> 1499 (half away from zero)
  //   storage-gb  100.5 x 0.05     = 5.025 EUR      = 502.5 cents      -> 503
  //   vcpu-hours  1234.567891 x 0.021 = 25.925925711 EUR = 2592.59...  -> 2593
  //   subtotal = 0 + 1499 + 503 + 2593 = 4595
  assert.equal(amounts, [['usage', '0'], ['usage', '1499'], ['usage', '503'], ['usage', '2593']])
  assert.is(invoice.subtotal_minor, '4595')
  assert.is(invoice.total_minor, '4595')
  assert.is(lines[3]!.quantity, '1234.567891')
  assert.is(lines[3]!.included_quantity, '0.000000')
  assert.is(lines[3]!.unit, 'vCPU-h')
  assert.is(Number(lines[3]!.unit_price), 0.021)
  assert.equal(lines.map((l) => l.position), [1, 2, 3, 4])
  assertAddsUp(invoice, lines)
})

test('golden Reserved invoice: fixed fee, committed capacity, overage', async (ctx) => {
  const { invoice, lines, amounts } = await invoiceOf(ctx, ctx.orgs.reserved!)
  //   fixed       120.00 EUR                                 -> 12000
  //   storage-gb  480 used, 500 included: nothing billable   -> 0
  //   vcpu-hours  1500 - 1460 included = 40 x 0.018 = 0.72   -> 72
  //   subtotal = 12000 + 0 + 72 = 12072
  assert.equal(amounts, [['fixed', '12000'], ['usage', '0'], ['usage', '72']])
  assert.is(invoice.total_minor, '12072')
  assertAddsUp(invoice, lines)
})

test('golden Bundle invoice with overage; cancelled, ended and later subscriptions are not billed', async (ctx) => {
  const { invoice, lines, amounts } = await invoiceOf(ctx, ctx.orgs.bundle!)
  //   fixed          49.00 EUR                                  -> 4900
  //   licence-seats  12 - 10 = 2 x 6.5 = 13.00                  -> 1300
  //   sms            499 of 500 included                        -> 0
  //   voice-minutes  1250.5 - 1000 = 250.5 x 0.01 = 2.505 EUR   -> 250.5 cents -> 251
  //   subtotal = 4900 + 1300 + 0 + 251 = 6451
  assert.equal(amounts, [['fixed', '4900'], ['usage', '1300'], ['usage', '0'], ['usage', '251']])
  assert.is(invoice.total_minor, '6451')
  assertAddsUp(invoice, lines)
})

test('golden invoice with a percent discount on a service and a fixed discount on a plan', async (ctx) => {
  const { invoice, lines, amounts } = await invoiceOf(ctx, ctx.orgs.discounts!)
  //   PAYG sub:   storage-gb 200 x 0.05 = 10.00 -> 1000;  vcpu-hours 1000 x 0.021 = 21.00 -> 2100
  //   Bundle sub: fixed 4900;  voice-minutes 1100 - 1000 = 100 x 0.01 = 1.00 -> 100
  //   subtotal = 1000 + 2100 + 4900 + 100 = 8100
  //   12.5% on service compute: base 2100 -> 262.5 -> -263 (half away from zero)
  //   10.00 EUR off plan bundle: base 4900 + 100 = 5000 -> -1000
  //   the USD fixed discount, the cancelled, expired and scheduled ones: no line
  //   total = 8100 - 263 - 1000 = 6837
  assert.equal(amounts, [['usage', '1000'], ['usage', '2100'], ['fixed', '4900'], ['usage', '100'], ['discount', '-263'], ['discount', '-1000']])
  assert.is(invoice.subtotal_minor, '8100')
  assert.is(invoice.discount_minor, '-1263')
  assert.is(invoice.total_minor, '6837')
  assert.ok(lines[4]!.discount_id !== null)
  assert.match(lines[4]!.description, /Compute promo: 12\.5% off service Compute/)
  assert.match(lines[5]!.description, /€10\.00 off plan Plan bundle/)
  assertAddsUp(invoice, lines)
})

test('golden invoice with a credit balance: a credit line and one ledger draw', async (ctx) => {
  const { invoice, lines, amounts } = await invoiceOf(ctx, ctx.orgs.credit!)
  //   sms 1000 x 0.045 = 45.00 EUR -> 4500
  //   EUR balance = 5000 - 2000 = 3000 (the USD top-up does not count) -> credit -min(3000, 4500) = -3000
  //   total = 4500 - 3000 = 1500
  assert.equal(amounts, [['usage', '4500'], ['credit', '-3000']])
  assert.is(invoice.credit_minor, '-3000')
  assert.is(invoice.total_minor, '1500')
  assertAddsUp(invoice, lines)
  const draws = await ctx.rt.database.db.selectFrom('credit_entries').selectAll().where('org_id', '=', ctx.orgs.credit!.id).where('kind', '=', 'usage').execute()
  assert.is(draws.length, 1)
  assert.is(draws[0]!.amount_minor, '-3000')
  assert.is(draws[0]!.invoice_id, invoice.id)
})

test('re-billing a closed month changes nothing: no new invoice, line, draw or audit row', async (ctx) => {
  const db = ctx.rt.database.db
  const count = async (table: 'invoices' | 'invoice_lines' | 'credit_entries' | 'audit_log') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n)
  const before = [await count('invoices'), await count('invoice_lines'), await count('credit_entries'), await count('audit_log')]
  const totals = (await db.selectFrom('invoices').select(['id', 'total_minor']).orderBy('id').execute())
  // More usage arrives late: an issued invoice is never recomputed.
  await addMonthlyUsage(db, ctx.orgs.payg!.id, (await db.selectFrom('subscriptions').select('id').where('org_id', '=', ctx.orgs.payg!.id).executeTakeFirstOrThrow()).id, ctx.catalog.meters['voice-minutes']!, MONTH, '100')
  const result = await billPeriod(operatorDb(ctx), { period: PERIOD, today: '2026-02-11' })
  assert.equal([result.created, result.updated, result.invoiceIds.length], [0, 0, 5])
  assert.equal([await count('invoices'), await count('invoice_lines'), await count('credit_entries'), await count('audit_log')], before)
  assert.equal(await db.selectFrom('invoices').select(['id', 'total_minor']).orderBy('id').execute(), totals)
})

test('an open month gives drafts without credit; a re-run recomputes them; closing it issues them', async (ctx) => {
  const db = ctx.rt.database.db
  const org = ctx.orgs.credit!
  const sub = (await db.selectFrom('subscriptions').select('id').where('org_id', '=', org.id).executeTakeFirstOrThrow()).id
  await addMonthlyUsage(db, org.id, sub, ctx.catalog.meters.sms!, '2026-02-01', '100')
  const first = await billPeriod(scopedTo(ctx, org), { period: '2026-02', today: '2026-02-15' })
  assert.equal([first.created, first.updated], [1, 0])
  let { invoice, amounts } = await invoiceOf(ctx, org, '2026-02-01')
  assert.is(invoice.status, 'draft')
  assert.is(invoice.issued_on, null)
  // 100 x 0.045 = 4.50 -> 450; a draft takes no credit (the balance is 0 now anyway).
  assert.equal(amounts, [['usage', '450']])
  // The same figures: nothing updated.
  const same = await billPeriod(scopedTo(ctx, org), { period: '2026-02', today: '2026-02-16' })
  assert.equal([same.created, same.updated], [0, 0])
  await db.updateTable('usage_monthly').set({ quantity: '200' }).where('org_id', '=', org.id).where('month', '=', '2026-02-01').execute()
  const second = await billPeriod(scopedTo(ctx, org), { period: '2026-02', today: '2026-02-20' })
  assert.equal([second.created, second.updated], [0, 1]);
  ({ invoice, amounts } = await invoiceOf(ctx, org, '2026-02-01'))
  assert.equal(amounts, [['usage', '900']])
  assert.is(invoice.status, 'draft')
  await db.insertInto('credit_entries').values({ org_id: org.id, kind: 'topup', amount_minor: 10000, currency: 'EUR' }).execute()
  const closed = await billPeriod(scopedTo(ctx, org), { period: '2026-02', today: '2026-03-01' })
  assert.equal([closed.created, closed.updated], [0, 1]);
  ({ invoice, amounts } = await invoiceOf(ctx, org, '2026-02-01'))
  // 900 owed, 10000 of credit: all of it is covered, so the invoice is settled when issued.
  assert.equal(amounts, [['usage', '900'], ['credit', '-900']])
  assert.is(invoice.status, 'paid')
  assert.is(invoice.total_minor, '0')
  const actions = await db.selectFrom('audit_log').select('action').where('subject', '=', 'Invoice').where('subject_id', '=', String(invoice.id)).orderBy('id').execute()
  assert.equal(actions.map((a) => a.action), ['create', 'recompute', 'issue'])
})

test('a malformed or future period is refused', async (ctx) => {
  const refusal = (period: string) => billPeriod(operatorDb(ctx), { period, today: TODAY }).then(() => 'accepted', (e: Error) => e.message)
  for (const period of ['2026-13', '2026-1', 'x', '1999-12']) assert.match(await refusal(period), /period/i)
  assert.match(await refusal('2026-03'), /not started/)
})

test('two concurrent runs make exactly one invoice per organisation, with the same totals', async (ctx) => {
  const db = ctx.rt.database.db
  const period = '2025-11'
  const [a, b] = await Promise.all([
    billPeriod(operatorDb(ctx), { period, today: TODAY }),
    billPeriod(scopedTo(ctx, ctx.tree.alpha), { period, today: TODAY }),
  ])
  assert.is(a.created + b.created, 5)
  const rows = await db.selectFrom('invoices').select(['org_id', 'total_minor']).where('period', '=', `${period}-01`).orderBy('org_id').execute()
  assert.is(rows.length, 5)
  assert.is(new Set(rows.map((r) => r.org_id)).size, 5)
  const again = await Promise.all([billPeriod(operatorDb(ctx), { period, today: TODAY }), billPeriod(operatorDb(ctx), { period, today: TODAY })])
  assert.is(again[0].created + again[1].created, 0)
  assert.equal(await db.selectFrom('invoices').select(['org_id', 'total_minor']).where('period', '=', `${period}-01`).orderBy('org_id').execute(), rows)
  // November had no usage, so only monthly fees:
  //   payg 0; reserved 12000; bundle 4900 + the "Ended" reserved subscription (ended 2025-12-31) 12000 = 16900;
  //   discounts: bundle fee 4900 - 1000 (plan discount) - 50% of 4900 (the discount valid to 2025-12-31) = 1450; credit 0
  assert.equal(rows.map((r) => r.total_minor), ['0', '12000', '16900', '1450', '0'])
})

test('overdue marking: issued invoices past their due date, once, with an audit row each', async (ctx) => {
  const db = ctx.rt.database.db
  // January invoices are due 2026-03-12: not overdue on that day, overdue the day after.
  assert.equal(await markOverdue(operatorDb(ctx), '2026-03-12'), [])
  const due = await db.selectFrom('invoices').select('id').where('status', '=', 'issued').where('due_on', '<', '2026-03-13').orderBy('id').execute()
  assert.ok(due.length >= 5)
  const marked = await markOverdue(operatorDb(ctx), '2026-03-13')
  assert.equal([...marked].sort((a, b) => a - b), due.map((d) => d.id))
  const january = await db.selectFrom('invoices').select(['id', 'status', 'total_minor']).where('period', '=', MONTH).execute()
  assert.ok(january.every((i) => i.status === 'overdue' || i.total_minor === '0'))
  // Drafts and paid invoices are left alone.
  assert.ok((await db.selectFrom('invoices').select('status').where('id', 'in', marked).execute()).every((i) => i.status === 'overdue'))
  assert.equal(await markOverdue(operatorDb(ctx), '2026-03-14'), [])
  const audits = await db.selectFrom('audit_log').select('id').where('action', '=', 'overdue').execute()
  assert.is(audits.length, marked.length)
})

test('payments: partial, then the balance settles it; overpayment, drafts and void invoices are refused', async (ctx) => {
  const db = ctx.rt.database.db
  const { invoice } = await invoiceOf(ctx, ctx.orgs.payg!) // overdue, 4595
  const sdb = scopedTo(ctx, ctx.tree.alpha)
  const tooMuch = await recordPayment(sdb, invoice.id, { amountMinor: 4596n }).catch((e: unknown) => e)
  assert.ok(tooMuch instanceof HttpProblem && tooMuch.status === 422)
  const zero = await recordPayment(sdb, invoice.id, { amountMinor: 0n }).catch((e: unknown) => e)
  assert.ok(zero instanceof HttpProblem && zero.status === 422)
  const part = await recordPayment(sdb, invoice.id, { amountMinor: 1000n, paidOn: '2026-03-20', reference: 'Wire 1' })
  assert.is(part.invoice.status, 'overdue')
  assert.is(part.invoice.paid_minor, '1000')
  const rest = await changeStatus(sdb, invoice.id, 'paid')
  assert.is(rest.status, 'paid')
  assert.is(rest.paid_minor, '4595')
  assert.ok(rest.paid_at instanceof Date)
  const payments = await db.selectFrom('payments').select('amount_minor').where('invoice_id', '=', invoice.id).orderBy('id').execute()
  assert.equal(payments.map((p) => p.amount_minor), ['1000', '3595'])
  const again = await recordPayment(sdb, invoice.id, { amountMinor: 1n }).catch((e: unknown) => e)
  assert.ok(again instanceof HttpProblem && again.status === 409)
  const voidPaid = await changeStatus(sdb, invoice.id, 'void').catch((e: unknown) => e)
  assert.ok(voidPaid instanceof HttpProblem && voidPaid.status === 409)
  // Out of scope: a sibling's handle does not find it.
  const outside = await recordPayment(scopedTo(ctx, ctx.tree.beta), invoice.id, { amountMinor: 1n }).catch((e: unknown) => e)
  assert.ok(outside instanceof HttpProblem && outside.status === 404)
})

test('void gives back the credit an invoice drew; a voided invoice takes no payment and cannot be issued', async (ctx) => {
  const db = ctx.rt.database.db
  const { invoice } = await invoiceOf(ctx, ctx.orgs.credit!) // January: drew 3000
  const sdb = scopedTo(ctx, ctx.orgs.credit!)
  const balance = async () => (await db.selectFrom('credit_entries').select((eb) => eb.fn.sum<string>('amount_minor').as('b')).where('org_id', '=', ctx.orgs.credit!.id).where('currency', '=', 'EUR').executeTakeFirstOrThrow()).b
  const before = BigInt(await balance())
  const voided = await changeStatus(sdb, invoice.id, 'void')
  assert.is(voided.status, 'void')
  assert.is(BigInt(await balance()), before + 3000n)
  for (const attempt of [() => recordPayment(sdb, invoice.id, { amountMinor: 1n }), () => changeStatus(sdb, invoice.id, 'issued'), () => changeStatus(sdb, invoice.id, 'void')]) {
    const error = await attempt().catch((e: unknown) => e)
    assert.ok(error instanceof HttpProblem && error.status === 409, String(error))
  }
})

test('issuing a draft recomputes it and draws credit; a draft takes no payment', async (ctx) => {
  const org = ctx.orgs.reserved!
  const sdb = scopedTo(ctx, org)
  await billPeriod(sdb, { period: '2026-02', today: '2026-02-15' })
  const { invoice } = await invoiceOf(ctx, org, '2026-02-01')
  assert.is(invoice.status, 'draft')
  const refused = await recordPayment(sdb, invoice.id, { amountMinor: 1n }).catch((e: unknown) => e)
  assert.ok(refused instanceof HttpProblem && refused.status === 409)
  await ctx.rt.database.db.insertInto('credit_entries').values({ org_id: org.id, kind: 'topup', amount_minor: 2000, currency: 'EUR' }).execute()
  const issued = await changeStatus(sdb, invoice.id, 'issued', { today: '2026-02-16', dueDays: 14 })
  // 12000 fee (no February usage) - 2000 credit = 10000, due 14 days after 16 Feb.
  assert.equal([issued.status, issued.total_minor, issued.credit_minor, issued.due_on], ['issued', '10000', '-2000', '2026-03-02'])
  const twice = await changeStatus(sdb, invoice.id, 'issued').catch((e: unknown) => e)
  assert.ok(twice instanceof HttpProblem && twice.status === 409)
})

test.run()
