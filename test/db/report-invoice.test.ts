/**
 * The invoice report through the engine: every figure is recomputed here from the fixture's raw
 * invoice rows (BigInt, plain date arithmetic), never by calling the report's query; aging buckets
 * at their boundaries; filters; the reseller's scope; the reader's time zone.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { chartData, chartsFor, runReport, streamReport } from '../../core/reports/engine.ts'
import { currencyExponent } from '../../core/billing/money.ts'
import { queryInput, ReportParamError } from '../../core/reports/params.ts'
import { parseReportRequest } from '../../core/reports/request.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { invoiceReport } from '../../plugins/invoice/invoice-report.ts'
import { dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`invoice report (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
const NOW = new Date('2026-03-15T12:00:00Z')
const TODAY = '2026-03-15'
const ALL = 'from=2024-01-01&to=2026-12-31&pageSize=500'

interface Spec {
  org: keyof Tree
  period: string
  currency: string
  status: 'draft' | 'issued' | 'paid' | 'overdue' | 'void'
  /** Days between the due date and TODAY (positive: past due). */
  late: number | null
  total: bigint
  paid: bigint
}

interface Fixture extends Spec { id: number; number: string; due_on: string | null; issued_on: string | null }

function shift(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + days)
  return d.toISOString().slice(0, 10)
}

// alphaCustomer has one open invoice per aging boundary (0, 1, 30, 31, 60, 61, 90, 91 days, and not yet due).
const BOUNDARIES = [-5, 0, 1, 30, 31, 60, 61, 90, 91]
const SPECS: Spec[] = [
  ...BOUNDARIES.map((late, i): Spec => ({
    org: 'alphaCustomer', period: `2025-${String(i + 1).padStart(2, '0')}-01`, currency: 'EUR', status: i % 2 ? 'overdue' : 'issued',
    late, total: BigInt(10_000 + i * 1111), paid: i === 3 ? 2_500n : 0n,
  })),
  { org: 'alphaCustomer', period: '2025-11-01', currency: 'EUR', status: 'paid', late: 40, total: 123_456n, paid: 123_456n },
  { org: 'alphaCustomer', period: '2025-12-01', currency: 'EUR', status: 'issued', late: -20, total: 123_455n, paid: 0n },
  { org: 'alphaSubCustomer', period: '2026-01-01', currency: 'EUR', status: 'void', late: 10, total: 5_000n, paid: 0n },
  { org: 'alphaSubCustomer', period: '2026-02-01', currency: 'EUR', status: 'draft', late: null, total: 777n, paid: 0n },
  { org: 'alphaSubCustomer', period: '2025-12-01', currency: 'EUR', status: 'overdue', late: 75, total: 9_999n, paid: 1n },
  { org: 'betaCustomer', period: '2026-01-01', currency: 'JPY', status: 'issued', late: 45, total: 123_456n, paid: 0n },
  { org: 'betaCustomer', period: '2026-02-01', currency: 'JPY', status: 'paid', late: 2, total: 1_000n, paid: 1_000n },
  { org: 'alpha', period: '2026-02-01', currency: 'EUR', status: 'issued', late: -10, total: 4_200n, paid: 0n },
]
let invoices: Fixture[] = []

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  let n = 0
  for (const spec of SPECS) {
    const due = spec.late === null ? null : shift(TODAY, -spec.late)
    const issued = due === null ? null : shift(due, -30)
    const number = `T-${String(++n).padStart(3, '0')}`
    const row = await rt.database.db.insertInto('invoices').values({
      org_id: tree[spec.org].id, number, period: spec.period, currency: spec.currency, status: spec.status, issued_on: issued, due_on: due,
      subtotal_minor: spec.total.toString(), total_minor: spec.total.toString(), paid_minor: spec.paid.toString(),
    }).returning('id').executeTakeFirstOrThrow()
    invoices.push({ ...spec, id: row.id, number, due_on: due, issued_on: issued })
  }
})
test.after(async () => { await rt?.dispose() })

const scoped = (org: keyof Tree) => new ScopedDb(rt.database.db, { orgId: tree[org].id, path: tree[org].path })
const request = (org: keyof Tree, query: string, now = NOW, timeZone = 'UTC') =>
  parseReportRequest(invoiceReport, queryInput(new URLSearchParams(query)), { db: scoped(org), now, timeZone })

// ---- the expected figures, from the raw rows ------------------------------------------------------
const open = (i: Fixture) => i.status === 'issued' || i.status === 'overdue'
const balanceOf = (i: Fixture) => (open(i) ? i.total - i.paid : 0n)
function daysLate(i: Fixture, today: string): number {
  if (!open(i) || i.total <= i.paid || i.due_on === null || i.due_on >= today) return 0
  return Math.round((Date.parse(`${today}T00:00:00Z`) - Date.parse(`${i.due_on}T00:00:00Z`)) / 86_400_000)
}
function labelOf(i: Fixture, today: string): string {
  if (i.status === 'issued') return i.due_on !== null && i.due_on < today ? 'overdue' : 'pending'
  return i.status
}
function inSubtree(i: Fixture, root: keyof Tree): boolean {
  return tree[i.org].path.startsWith(tree[root].path)
}
function resellerOf(i: Fixture): string | null {
  const parent = Object.values(tree).find((o) => o.id === tree[i.org].parent_id)
  return parent?.kind === 'reseller' ? parent.name : null
}
function expectedRow(i: Fixture, today = TODAY) {
  return {
    number: i.number, customer: tree[i.org].name, reseller: resellerOf(i), period: i.period.slice(0, 7), issued_on: i.issued_on, due_on: i.due_on,
    amount: i.total.toString(), paid: i.paid.toString(), balance: balanceOf(i).toString(), status: labelOf(i, today), currency: i.currency, days_overdue: daysLate(i, today),
  }
}
function actualRow(r: Record<string, unknown>) {
  return {
    number: r.number, customer: r.customer, reseller: r.reseller, period: r.period, issued_on: r.issued_on, due_on: r.due_on,
    amount: String(r.amount), paid: String(r.paid), balance: String(r.balance), status: r.status, currency: r.currency, days_overdue: Number(r.days_overdue),
  }
}
const byNumber = <T extends { number: unknown }>(rows: T[]) => [...rows].sort((a, b) => String(a.number).localeCompare(String(b.number)))

function bucketOf(days: number): string {
  return days <= 0 ? 'current' : days <= 30 ? 'd1_30' : days <= 60 ? 'd31_60' : days <= 90 ? 'd61_90' : 'd90_plus'
}

test('the operator sees every invoice with figures recomputed from the raw rows', async () => {
  const result = await runReport(await request('operator', ALL))
  assert.is(result.total, invoices.length)
  assert.equal(byNumber(result.rows.map(actualRow)), byNumber(invoices.map((i) => expectedRow(i))))
  const link = invoiceReport.columns.find((c) => c.key === 'number')!.href!(result.rows[0] as never)
  assert.is(link, `/billing/invoices/${result.rows[0]!.id}`)
})

test('totals are per currency and add up exactly', async () => {
  const result = await runReport(await request('operator', ALL))
  const currencies = [...new Set(invoices.map((i) => i.currency))].sort()
  const sum = (c: string, f: (i: Fixture) => bigint) => invoices.filter((i) => i.currency === c).reduce((s, i) => s + f(i), 0n).toString()
  assert.equal(result.totals.map((t) => ({ ...t })), currencies.map((c) => ({
    currency: c, amount: sum(c, (i) => i.total), paid: sum(c, (i) => i.paid), balance: sum(c, balanceOf),
  })))
})

test('the chart sums the invoiced amount per status label and currency', async () => {
  const req = await request('operator', ALL)
  const [chart] = chartsFor(req)
  const points = await chartData(req, chart!)
  const expected = new Map<string, bigint>()
  for (const i of invoices) {
    const key = `${labelOf(i, TODAY)}|${i.currency}`
    expected.set(key, (expected.get(key) ?? 0n) + i.total)
  }
  assert.is(points.length, expected.size)
  for (const p of points) {
    const minor = expected.get(`${p.x}|${p.series}`)
    assert.ok(minor !== undefined, `unexpected point ${p.x} ${p.series}`)
    assert.ok(Math.abs(Number(p.y) * 10 ** currencyExponent(String(p.series)) - Number(minor)) < 1e-6, `${p.x} ${p.series}: ${p.y}`)
  }
})

test('days overdue and aging buckets at 0, 1, 30, 31, 60, 61, 90 and 91 days', async () => {
  const list = await runReport(await request('operator', `${ALL}&org=${tree.alphaCustomer.id}`))
  for (const late of BOUNDARIES) {
    const fixture = invoices.find((i) => i.org === 'alphaCustomer' && i.late === late)!
    const row = list.rows.find((r) => r.number === fixture.number)!
    assert.is(Number(row.days_overdue), Math.max(late, 0), `days overdue of the invoice due ${late} days ago`)
  }
  const aging = await runReport(await request('operator', `${ALL}&tab=aging&org=${tree.alphaCustomer.id}`))
  assert.is(aging.total, 1)
  const row = aging.rows[0]!
  // By hand: -5 and 0 are current; 1 and 30 are 1-30; 31 and 60 are 31-60; 61 and 90 are 61-90; 91 is over 90.
  const open = invoices.filter((i) => i.org === 'alphaCustomer' && balanceOf(i) > 0n)
  const inBucket = (lates: number[]) => open.filter((i) => lates.includes(i.late!)).reduce((s, i) => s + balanceOf(i), 0n).toString()
  assert.is(String(row.current), inBucket([-5, 0, -20]))
  assert.is(String(row.d1_30), inBucket([1, 30]))
  assert.is(String(row.d31_60), inBucket([31, 60]))
  assert.is(String(row.d61_90), inBucket([61, 90]))
  assert.is(String(row.d90_plus), inBucket([91]))
  assert.is(String(row.invoices), String(open.length))
  assert.is(Number(row.days_overdue), 91)
})

test('the aging tab groups open balances per customer and currency', async () => {
  const result = await runReport(await request('operator', `${ALL}&tab=aging`))
  const groups = new Map<string, Record<string, bigint | number | string>>()
  for (const i of invoices.filter((x) => balanceOf(x) > 0n)) {
    const key = `${i.org}|${i.currency}`
    const g = groups.get(key) ?? { customer: tree[i.org].name, currency: i.currency, current: 0n, d1_30: 0n, d31_60: 0n, d61_90: 0n, d90_plus: 0n, balance: 0n, invoices: 0 }
    g[bucketOf(daysLate(i, TODAY))] = (g[bucketOf(daysLate(i, TODAY))] as bigint) + balanceOf(i)
    g.balance = (g.balance as bigint) + balanceOf(i)
    g.invoices = (g.invoices as number) + 1
    groups.set(key, g)
  }
  const norm = (r: Record<string, unknown>) => Object.fromEntries(['customer', 'currency', 'current', 'd1_30', 'd31_60', 'd61_90', 'd90_plus', 'balance', 'invoices'].map((k) => [k, String(r[k])]))
  const sort = (rows: Record<string, string>[]) => rows.sort((a, b) => `${a.customer}${a.currency}`.localeCompare(`${b.customer}${b.currency}`))
  assert.equal(sort(result.rows.map(norm)), sort([...groups.values()].map(norm)))
  assert.ok(result.rows.every((r) => r.number === null))
})

test('status, amount and period filters', async () => {
  const numbers = async (query: string) => (await runReport(await request('operator', `${ALL}&${query}`))).rows.map((r) => r.number).sort()
  const expect = (f: (i: Fixture) => boolean) => invoices.filter(f).map((i) => i.number).sort()
  assert.equal(await numbers('status=overdue'), expect((i) => labelOf(i, TODAY) === 'overdue'))
  assert.equal(await numbers('status=pending'), expect((i) => labelOf(i, TODAY) === 'pending'))
  assert.equal(await numbers('status=void&status=draft'), expect((i) => i.status === 'void' || i.status === 'draft'))
  // 1234.56 is 123456 cents but 1234.56 yen is more than 123456 yen... no: 123456 yen >= 1234.56 yen.
  assert.equal(await numbers('minAmount=1234.56'), expect((i) => (i.currency === 'JPY' ? i.total * 100n >= 123456n : i.total >= 123456n)))
  assert.equal(await numbers('minAmount=100&maxAmount=123.45'), expect((i) => (i.currency === 'JPY' ? i.total >= 100n && i.total * 100n <= 12345n : i.total >= 10000n && i.total <= 12345n)))
  const lastMonth = (await runReport(await request('operator', 'period=last_month'))).rows.map((r) => r.number).sort()
  assert.equal(lastMonth, expect((i) => i.period === '2026-02-01'))
  const error = await request('operator', 'minAmount=ten').catch((e: unknown) => e)
  assert.instance(error, ReportParamError)
  assert.is((error as ReportParamError).key, 'minAmount')
  assert.is(((await request('operator', 'status=unpaid').catch((e: unknown) => e)) as ReportParamError).key, 'status')
})

test('a reseller sees its subtree only, in every tab', async () => {
  const list = await runReport(await request('alpha', ALL))
  assert.equal(list.rows.map((r) => r.number).sort(), invoices.filter((i) => inSubtree(i, 'alpha')).map((i) => i.number).sort())
  const aging = await runReport(await request('alpha', `${ALL}&tab=aging`))
  assert.ok(aging.rows.every((r) => r.customer !== tree.betaCustomer.name))
  assert.ok(aging.totals.every((t) => t.currency === 'EUR'))
  const error = await request('alpha', `org=${tree.betaCustomer.id}`).catch((e: unknown) => e)
  assert.is((error as ReportParamError).key, 'org')
  const customer = await runReport(await request('betaCustomer', ALL))
  assert.equal(customer.rows.map((r) => r.number).sort(), invoices.filter((i) => i.org === 'betaCustomer').map((i) => i.number).sort())
})

test('days overdue count in the reader\'s time zone', async () => {
  // 23:30 UTC on the 15th is already the 16th in Sydney: one more day overdue there.
  const late = new Date('2026-03-15T23:30:00Z')
  const utc = await runReport(await request('operator', ALL, late, 'UTC'))
  const sydney = await runReport(await request('operator', ALL, late, 'Australia/Sydney'))
  const fixture = invoices.find((i) => i.late === 0)!
  assert.is(Number(utc.rows.find((r) => r.number === fixture.number)!.days_overdue), 0)
  assert.is(Number(sydney.rows.find((r) => r.number === fixture.number)!.days_overdue), 1)
  assert.equal(byNumber(sydney.rows.map(actualRow)), byNumber(invoices.map((i) => expectedRow(i, '2026-03-16'))))
})

test('sorting and streaming: every row once, in order', async () => {
  const req = await request('operator', `${ALL.replace('&pageSize=500', '')}&sort=-amount`)
  const streamed: unknown[] = []
  for await (const batch of streamReport(req, { batchSize: 4 })) streamed.push(...batch.map((r) => r.number))
  const expected = [...invoices].sort((a, b) => (a.total === b.total ? a.id - b.id : a.total > b.total ? -1 : 1))
  // Ties on the amount fall back to the row key (customer id, currency, id).
  assert.is(streamed.length, invoices.length)
  assert.equal(streamed.map(String).slice(0, 2), expected.slice(0, 2).map((i) => i.number))
  assert.equal(new Set(streamed).size, invoices.length)
})

test.run()
