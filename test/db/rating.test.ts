/**
 * Rating under random input: thousands of random invoices (quantities and prices with 6 decimals,
 * currencies with 0, 2 and 3 decimals, random discounts and credit) checked line by line against a
 * computation written independently here, and usage amounts against PostgreSQL's own
 * `round(numeric)`. Then random organisations billed end to end through `billPeriod`.
 */
import { sql } from 'kysely'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { billPeriod } from '../../core/billing/invoices.ts'
import { rateInvoice, type RatingDiscount, type RatingInput, type RatingUsage } from '../../core/billing/rating.ts'
import { insertOrganisation } from '../../core/tenancy/organisations.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { addMonthlyUsage, addSubscription, seedCatalog, METERS, PLANS } from '../support/billing.ts'
import { dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite<{ rt: TestRuntime; tree: Tree }>(`rating property tests (${dbLabel})`)
test.before(async (ctx) => {
  ctx.rt = await testRuntime()
  ctx.tree = await seedTree(ctx.rt.database.db)
})
test.after(async (ctx) => { await ctx.rt.dispose() })

/** mulberry32: a small deterministic generator, so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function generators(seed: number) {
  const next = random(seed)
  const int = (max: number) => Math.floor(next() * (max + 1))
  const digits = (n: number) => Array.from({ length: n }, () => String(int(9))).join('')
  /** A non-negative decimal with up to `whole` integer digits and exactly `places` decimals. */
  const decimal = (whole: number, places: number) => `${String(Number(digits(1 + int(whole - 1))))}.${digits(places)}`
  return { next, int, decimal, pick: <T>(list: readonly T[]): T => list[int(list.length - 1)]! }
}

// ---- the independent computation ----------------------------------------------------------------
// Decimals as (digits, scale) pairs; rounding by quotient and remainder.

function parse(value: string): { n: bigint; scale: number } {
  const [whole, fraction = ''] = value.split('.')
  return { n: BigInt(`${whole}${fraction}`), scale: fraction.length }
}

function roundHalfUp(n: bigint, d: bigint): bigint {
  // Only used on non-negative values here.
  const q = n / d
  return (n % d) * 2n >= d ? q + 1n : q
}

const EXPONENT: Record<string, number> = { EUR: 2, JPY: 0, KWD: 3 }

function expectedUsage(quantity: string, included: string, price: string, currency: string): bigint {
  const q = parse(quantity)
  const i = parse(included)
  const p = parse(price)
  const scale = Math.max(q.scale, i.scale)
  const billable = q.n * 10n ** BigInt(scale - q.scale) - i.n * 10n ** BigInt(scale - i.scale)
  if (billable <= 0n) return 0n
  return roundHalfUp(billable * p.n * 10n ** BigInt(EXPONENT[currency]!), 10n ** BigInt(scale + p.scale))
}

interface Expected { charges: bigint[]; discounts: bigint[]; credit: bigint; total: bigint }

function expectedInvoice(input: RatingInput, planOfSub: Map<number, number>): Expected {
  const charges: { amount: bigint; plan: number; kind: string; service?: number; meter?: number }[] = []
  for (const sub of [...input.subscriptions].sort((a, b) => a.id - b.id)) {
    if (sub.fixedFeeMinor !== '0') charges.push({ amount: BigInt(sub.fixedFeeMinor), plan: sub.planId, kind: 'fixed' })
    const usage = input.usage.filter((u) => u.subscriptionId === sub.id).sort((a, b) => a.meterName.localeCompare(b.meterName, 'en') || a.meterId - b.meterId)
    for (const u of usage) {
      charges.push({ amount: expectedUsage(u.quantity, u.includedQuantity, u.unitPrice, input.currency), plan: planOfSub.get(sub.id)!, kind: 'usage', service: u.serviceId, meter: u.meterId })
    }
  }
  const subtotal = charges.reduce((s, c) => s + c.amount, 0n)
  const discounts: bigint[] = []
  let left = subtotal
  for (const d of [...input.discounts].sort((a, b) => a.id - b.id)) {
    if (d.kind === 'fixed' && d.currency !== input.currency) continue
    const base = charges.filter((c) => d.target === 'all' || (d.target === 'plan' && c.plan === d.planId)
      || (d.target === 'service' && c.kind === 'usage' && c.service === d.serviceId) || (d.target === 'meter' && c.kind === 'usage' && c.meter === d.meterId))
      .reduce((s, c) => s + c.amount, 0n)
    if (base === 0n) continue
    let amount: bigint
    if (d.kind === 'percent') {
      const p = parse(d.percent!)
      amount = roundHalfUp(base * p.n, 100n * 10n ** BigInt(p.scale))
    } else amount = BigInt(d.amountMinor!)
    amount = [amount, base, left].reduce((a, b) => (a < b ? a : b))
    if (amount === 0n) continue
    left -= amount
    discounts.push(-amount)
  }
  const balance = BigInt(input.creditBalanceMinor ?? 0)
  const credit = balance > 0n && left > 0n ? (balance < left ? balance : left) : 0n
  return { charges: charges.map((c) => c.amount), discounts, credit: -credit, total: left - credit }
}

// ---- random invoices -------------------------------------------------------------------------

function randomInput(seed: number): { input: RatingInput; planOfSub: Map<number, number> } {
  const g = generators(seed)
  const currency = g.pick(['EUR', 'EUR', 'JPY', 'KWD'])
  const planOfSub = new Map<number, number>()
  const subscriptions = Array.from({ length: 1 + g.int(3) }, (_, i) => {
    const planId = 1 + g.int(3)
    planOfSub.set(100 + i, planId)
    return { id: 100 + i, name: `S${i}`, planId, planName: `P${planId}`, fixedFeeMinor: g.next() < 0.5 ? '0' : String(g.int(500000)) }
  })
  const usage: RatingUsage[] = []
  for (const sub of subscriptions) {
    for (let meter = 1; meter <= 6; meter++) {
      if (g.next() < 0.4) continue
      usage.push({
        subscriptionId: sub.id, meterId: meter, meterName: `m${meter}`, serviceId: 1 + (meter % 3), unit: 'u',
        quantity: g.decimal(g.pick([1, 4, 9, 12]), 6), includedQuantity: g.next() < 0.5 ? '0.000000' : g.decimal(g.pick([1, 4, 9]), 6),
        unitPrice: g.decimal(g.pick([1, 2, 4]), 6),
      })
    }
  }
  const discounts: RatingDiscount[] = Array.from({ length: g.int(4) }, (_, i) => {
    const target = g.pick(['all', 'service', 'plan', 'meter'] as const)
    const percent = g.next() < 0.5
    return {
      id: 10 + i, description: '', target, targetName: null,
      serviceId: target === 'service' ? 1 + g.int(2) : null, planId: target === 'plan' ? 1 + g.int(3) : null, meterId: target === 'meter' ? 1 + g.int(5) : null,
      kind: percent ? 'percent' : 'fixed',
      percent: percent ? `${g.int(99)}.${String(1 + g.int(9998)).padStart(4, '0')}` : null,
      amountMinor: percent ? null : String(1 + g.int(1000000)), currency: percent ? null : g.pick([currency, currency, 'USD']),
    }
  })
  const creditBalanceMinor = g.next() < 0.3 ? String(g.int(2000000) - 200000) : undefined
  return { input: { currency, subscriptions, usage, discounts, ...(creditBalanceMinor === undefined ? {} : { creditBalanceMinor }) }, planOfSub }
}

test('5,000 random invoices: every line matches the independent computation, and lines sum to the totals', () => {
  let lines = 0
  for (let seed = 1; seed <= 5000; seed++) {
    const { input, planOfSub } = randomInput(seed)
    const rated = rateInvoice(input)
    const expected = expectedInvoice(input, planOfSub)
    const charges = rated.lines.filter((l) => l.kind === 'fixed' || l.kind === 'usage').map((l) => l.amountMinor)
    const discounts = rated.lines.filter((l) => l.kind === 'discount').map((l) => l.amountMinor)
    const credit = rated.lines.filter((l) => l.kind === 'credit').map((l) => l.amountMinor)
    assert.equal(charges, expected.charges, `charges, seed ${seed}`)
    assert.equal(discounts, expected.discounts, `discounts, seed ${seed}`)
    assert.equal(credit, expected.credit === 0n ? [] : [expected.credit], `credit, seed ${seed}`)
    const sum = (list: bigint[]) => list.reduce((s, v) => s + v, 0n)
    assert.is(rated.subtotal, sum(charges), `subtotal, seed ${seed}`)
    assert.is(rated.discount, sum(discounts), `discount, seed ${seed}`)
    assert.is(rated.total, rated.subtotal + rated.discount + rated.credit, `total, seed ${seed}`)
    assert.is(rated.total, sum(rated.lines.map((l) => l.amountMinor)), `lines sum, seed ${seed}`)
    assert.is(rated.total, expected.total, `total vs expected, seed ${seed}`)
    assert.ok(rated.total >= 0n && rated.discount <= 0n && rated.credit <= 0n && -rated.discount <= rated.subtotal, `signs, seed ${seed}`)
    lines += rated.lines.length
  }
  assert.ok(lines > 20000, `only ${lines} lines`)
})

test('usage amounts agree with the database\'s own numeric round() on 3,000 random lines', async (ctx) => {
  const g = generators(4242)
  const rows = Array.from({ length: 3000 }, () => ({
    q: g.decimal(g.pick([1, 6, 12, 18]), 6), i: g.next() < 0.5 ? '0.000000' : g.decimal(g.pick([1, 6]), 6), p: g.decimal(g.pick([1, 3, 14]), 6), c: g.pick(['EUR', 'JPY', 'KWD']),
  }))
  const { rows: out } = await sql<{ amount: string }>`
    select round(greatest(q::numeric - i::numeric, 0) * p::numeric * (10::numeric ^ e::int))::text as amount
    from unnest(string_to_array(${rows.map((r) => r.q).join(',')}, ','), string_to_array(${rows.map((r) => r.i).join(',')}, ','),
                string_to_array(${rows.map((r) => r.p).join(',')}, ','), string_to_array(${rows.map((r) => EXPONENT[r.c]).join(',')}, ','))
      with ordinality as t(q, i, p, e, n)
    order by n`.execute(ctx.rt.database.db)
  const mine = rows.map((r) => rateInvoice({
    currency: r.c, subscriptions: [{ id: 1, name: 's', planId: 1, planName: 'p', fixedFeeMinor: '0' }], discounts: [],
    usage: [{ subscriptionId: 1, meterId: 1, meterName: 'm', serviceId: 1, unit: 'u', quantity: r.q, includedQuantity: r.i, unitPrice: r.p }],
  }).lines[0]!.amountMinor.toString())
  assert.equal(mine, out.map((o) => o.amount.replace(/\.0*$/, '')))
})

test('random organisations billed end to end: stored lines match, lines sum to totals, the check constraint holds', async (ctx) => {
  const db = ctx.rt.database.db
  const { tree } = ctx
  const catalog = await seedCatalog(db, tree.operator.id)
  const g = generators(99)
  const month = '2025-05-01'
  const expected = new Map<number, bigint[]>()
  for (let i = 0; i < 40; i++) {
    const org = await insertOrganisation(db, g.pick([tree.alpha, tree.alphaSub, tree.beta]), { kind: 'customer', name: `Random ${i}` })
    const amounts: bigint[] = []
    for (const plan of PLANS.filter(() => g.next() < 0.6)) {
      const sub = await addSubscription(db, org.id, catalog.plans[plan.code]!)
      if (plan.fixedFeeMinor) amounts.push(BigInt(plan.fixedFeeMinor))
      const used = METERS.filter((m) => plan.prices[m.code] && g.next() < 0.7).sort((a, b) => a.code.localeCompare(b.code, 'en'))
      for (const meter of used) {
        const quantity = g.decimal(g.pick([1, 4, 7]), 6)
        await addMonthlyUsage(db, org.id, sub, catalog.meters[meter.code]!, month, quantity)
        const [price, included] = plan.prices[meter.code]!
        amounts.push(expectedUsage(quantity, included, price, 'EUR'))
      }
    }
    if (g.next() < 0.4) {
      await db.insertInto('discounts').values({ org_id: org.id, granted_by_org_id: tree.operator.id, target: 'all', kind: 'percent', percent: '7.5', valid_from: '2025-01-01' }).execute()
    }
    expected.set(org.id, amounts)
  }
  const root = new ScopedDb(db, { orgId: tree.operator.id, path: tree.operator.path })
  const result = await billPeriod(root, { period: '2025-05', today: '2025-06-02' })
  const billable = [...expected.values()].filter((a) => a.length > 0 || true).length
  assert.ok(result.created <= billable)
  const invoices = await db.selectFrom('invoices').selectAll().where('period', '=', month).execute()
  for (const invoice of invoices) {
    const lines = await db.selectFrom('invoice_lines').select(['kind', 'amount_minor']).where('invoice_id', '=', invoice.id).orderBy('position').execute()
    const charges = lines.filter((l) => l.kind === 'fixed' || l.kind === 'usage').map((l) => BigInt(l.amount_minor))
    assert.equal(charges, expected.get(invoice.org_id), `invoice ${invoice.number}`)
    const sum = lines.reduce((s, l) => s + BigInt(l.amount_minor), 0n)
    assert.is(BigInt(invoice.total_minor), sum)
    const discount = lines.filter((l) => l.kind === 'discount').reduce((s, l) => s + BigInt(l.amount_minor), 0n)
    if (discount !== 0n) assert.is(-discount, (BigInt(invoice.subtotal_minor) * 75n + 500n) / 1000n, `7.5% of ${invoice.subtotal_minor}`)
  }
})

test.run()
