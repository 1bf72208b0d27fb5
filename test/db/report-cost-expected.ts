/**
 * The cost report's fixture (raw rows written straight into the tables) and its expected figures,
 * computed independently from those rows with scaled BigInt decimals: usage x unit cost per row,
 * fixed plan costs x months run, invoiced / credits / paid from invoice rows and lines.
 */
import type { Kysely } from 'kysely'
import type { Database, InvoiceLineKind, InvoiceStatus } from '../../core/db/schema.ts'
import type { Catalog } from '../support/billing.ts'
import type { Tree } from '../support/fixture.ts'

type OrgKey = keyof Tree
interface Cost { owner: OrgKey; meter?: string; plan?: string; currency: string; amount: string }
interface Sub { id: number; org: OrgKey; plan: string; starts: string; ends: string | null; cancelled: boolean }
interface Usage { org: OrgKey; sub: number; meter: string; month: string; qty: string }
interface Line { kind: InvoiceLineKind; meter: string | null; amount: bigint }
interface Invoice { org: OrgKey; period: string; currency: string; status: InvoiceStatus; discount: bigint; credit: bigint; paid: bigint; lines: Line[] }

export interface CostFixture { tree: Tree; catalog: Catalog; costs: Cost[]; subs: Sub[]; usage: Usage[]; invoices: Invoice[]; serviceOfMeter: Record<string, string> }

const COSTS: Cost[] = [
  { owner: 'operator', meter: 'vcpu-hours', currency: 'EUR', amount: '0.008' },
  { owner: 'operator', meter: 'storage-gb', currency: 'EUR', amount: '0.012345' },
  { owner: 'operator', meter: 'sms', currency: 'EUR', amount: '0.0301' },
  { owner: 'operator', meter: 'egress-gb', currency: 'USD', amount: '0.000333' },
  { owner: 'operator', plan: 'reserved', currency: 'EUR', amount: '35.5' },
  { owner: 'operator', plan: 'bundle', currency: 'EUR', amount: '7.123457' },
  { owner: 'alpha', meter: 'vcpu-hours', currency: 'EUR', amount: '0.015' },
  { owner: 'alpha', meter: 'voice-minutes', currency: 'EUR', amount: '0.0075' },
  { owner: 'alpha', plan: 'bundle', currency: 'EUR', amount: '10' },
]

const line = (kind: InvoiceLineKind, amount: number, meter: string | null = null): Line => ({ kind, meter, amount: BigInt(amount) })
const INVOICES: Invoice[] = [
  { org: 'alphaCustomer', period: '2025-12-01', currency: 'EUR', status: 'paid', discount: 0n, credit: 0n, paid: 15000n, lines: [line('fixed', 12000), line('usage', 3000, 'vcpu-hours')] },
  { org: 'alphaCustomer', period: '2026-01-01', currency: 'EUR', status: 'overdue', discount: 0n, credit: -37n, paid: 0n, lines: [line('fixed', 12000), line('usage', 1337), line('adjustment', 63), line('credit', -37)] },
  { org: 'alphaCustomer', period: '2026-02-01', currency: 'EUR', status: 'issued', discount: -1000n, credit: -500n, paid: 3000n,
    lines: [line('fixed', 12000), line('usage', 5000, 'vcpu-hours'), line('usage', 3000, 'storage-gb'), line('discount', -1000), line('credit', -500)] },
  { org: 'alphaSubCustomer', period: '2026-01-01', currency: 'EUR', status: 'paid', discount: 0n, credit: 0n, paid: 4900n, lines: [line('fixed', 4900)] },
  { org: 'alphaSubCustomer', period: '2026-02-01', currency: 'EUR', status: 'draft', discount: 0n, credit: 0n, paid: 0n, lines: [line('fixed', 4900)] },
  { org: 'betaCustomer', period: '2025-12-01', currency: 'EUR', status: 'void', discount: 0n, credit: 0n, paid: 0n, lines: [line('usage', 1000, 'vcpu-hours')] },
  { org: 'betaCustomer', period: '2026-01-01', currency: 'EUR', status: 'overdue', discount: 0n, credit: 0n, paid: 0n, lines: [line('usage', 700, 'vcpu-hours')] },
  { org: 'alpha', period: '2026-02-01', currency: 'EUR', status: 'issued', discount: 0n, credit: 0n, paid: 0n, lines: [line('usage', 2100, 'vcpu-hours')] },
  { org: 'beta', period: '2026-01-01', currency: 'USD', status: 'issued', discount: 0n, credit: 0n, paid: 100n, lines: [line('usage', 333, 'egress-gb')] },
]

interface Helpers {
  addSubscription: (db: Kysely<Database>, orgId: number, planId: number, options?: { startsOn?: string; endsOn?: string | null }) => Promise<number>
  addMonthlyUsage: (db: Kysely<Database>, orgId: number, subscriptionId: number, meterId: number, month: string, quantity: string) => Promise<void>
}

/** Writes the fixture; returns the raw rows the expectations are computed from. */
export async function buildCostFixture(db: Kysely<Database>, tree: Tree, catalog: Catalog, helpers: Helpers): Promise<CostFixture> {
  for (const c of COSTS) {
    await db.insertInto('catalog_costs').values({
      org_id: tree[c.owner].id, meter_id: c.meter ? catalog.meters[c.meter]! : null, plan_id: c.plan ? catalog.plans[c.plan]! : null, currency: c.currency, amount: c.amount,
    }).execute()
  }
  const subs: Sub[] = []
  const sub = async (org: OrgKey, plan: string, starts: string, ends: string | null = null, cancelled = false) => {
    const id = await helpers.addSubscription(db, tree[org].id, catalog.plans[plan]!, { startsOn: starts, endsOn: ends })
    if (cancelled) await db.updateTable('subscriptions').set({ status: 'cancelled' }).where('id', '=', id).execute()
    subs.push({ id, org, plan, starts, ends, cancelled })
    return id
  }
  const s1 = await sub('alphaCustomer', 'reserved', '2020-01-01')
  const s2 = await sub('alphaCustomer', 'payg', '2020-01-01')
  const s3 = await sub('alphaSubCustomer', 'bundle', '2026-01-20')
  const s4 = await sub('betaCustomer', 'payg', '2025-06-01', '2026-01-10')
  const s5 = await sub('betaCustomer', 'reserved', '2020-01-01', null, true)
  const s6 = await sub('alpha', 'payg', '2020-01-01')
  const s7 = await sub('beta', 'bundle', '2025-12-15', '2026-02-01')
  const usage: Usage[] = []
  const use = async (org: OrgKey, s: number, meter: string, month: string, qty: string) => {
    await helpers.addMonthlyUsage(db, tree[org].id, s, catalog.meters[meter]!, month, qty)
    usage.push({ org, sub: s, meter, month, qty })
  }
  await use('alphaCustomer', s1, 'vcpu-hours', '2025-12-01', '1460.123456')
  await use('alphaCustomer', s1, 'vcpu-hours', '2026-01-01', '1500.5')
  await use('alphaCustomer', s1, 'vcpu-hours', '2026-02-01', '1399.999999')
  await use('alphaCustomer', s1, 'vcpu-hours', '2026-03-01', '700.25')
  await use('alphaCustomer', s1, 'storage-gb', '2026-02-01', '512.25')
  await use('alphaCustomer', s1, 'storage-gb', '2026-03-01', '512.25')
  await use('alphaCustomer', s2, 'egress-gb', '2026-02-01', '10000.000001')
  await use('alphaCustomer', s2, 'egress-gb', '2025-12-01', '3.5')
  await use('alphaCustomer', s2, 'sms', '2026-02-01', '333')
  await use('alphaCustomer', s2, 'voice-minutes', '2026-02-01', '1234.5')
  await use('alphaSubCustomer', s3, 'sms', '2026-02-01', '501')
  await use('alphaSubCustomer', s3, 'licence-seats', '2026-02-01', '12')
  await use('betaCustomer', s4, 'vcpu-hours', '2026-01-01', '10.000005')
  await use('betaCustomer', s4, 'egress-gb', '2025-12-01', '1')
  await use('betaCustomer', s5, 'vcpu-hours', '2026-02-01', '50')
  await use('alpha', s6, 'vcpu-hours', '2026-02-01', '100')
  await use('beta', s7, 'voice-minutes', '2026-01-01', '99.999999')
  let n = 0
  for (const inv of INVOICES) {
    const subtotal = inv.lines.filter((l) => l.kind !== 'discount' && l.kind !== 'credit').reduce((s, l) => s + l.amount, 0n)
    const total = subtotal + inv.discount + inv.credit
    const row = await db.insertInto('invoices').values({
      org_id: tree[inv.org].id, number: `C-${++n}`, period: inv.period, currency: inv.currency, status: inv.status, issued_on: '2026-01-01', due_on: '2026-01-31',
      subtotal_minor: subtotal.toString(), discount_minor: inv.discount.toString(), credit_minor: inv.credit.toString(), total_minor: total.toString(), paid_minor: inv.paid.toString(),
    }).returning('id').executeTakeFirstOrThrow()
    await db.insertInto('invoice_lines').values(inv.lines.map((l, i) => ({
      org_id: tree[inv.org].id, invoice_id: row.id, position: i + 1, kind: l.kind, description: `${l.kind} ${i}`, meter_id: l.meter ? catalog.meters[l.meter]! : null, amount_minor: l.amount.toString(),
    }))).execute()
  }
  const serviceOfMeter: Record<string, string> = {}
  for (const m of await db.selectFrom('meters').select(['code', 'service_id']).execute()) serviceOfMeter[m.code] = String(m.service_id)
  return { tree, catalog, costs: COSTS, subs, usage, invoices: INVOICES, serviceOfMeter }
}

// ---- arithmetic on scaled decimals ---------------------------------------------------------------
const SCALE = 6
function scaled(text: string): bigint {
  const [whole, fraction = ''] = text.split('.')
  return BigInt(whole! + fraction.padEnd(SCALE, '0'))
}
/** a / b rounded half away from zero. */
function divRound(a: bigint, b: bigint): bigint {
  const negative = (a < 0n) !== (b < 0n)
  const [x, y] = [a < 0n ? -a : a, b < 0n ? -b : b]
  const q = (2n * x + y) / (2n * y)
  return negative ? -q : q
}
const minorFactor = (currency: string) => (currency === 'JPY' ? 1n : 100n)
function percent(margin: bigint, revenue: bigint): string | null {
  if (revenue <= 0n) return null
  const hundredths = divRound(margin * 10000n, revenue)
  const abs = hundredths < 0n ? -hundredths : hundredths
  return `${hundredths < 0n ? '-' : ''}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`
}
const lastDay = (month: string) => new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)), 0)).toISOString().slice(0, 10)

interface Sums { orgs: Set<string>; usageExact: bigint; fixedExact: bigint; revenue: bigint; credits: bigint; paid: bigint }
function bucket(map: Map<string, Sums>, key: string): Sums {
  let s = map.get(key)
  if (!s) map.set(key, (s = { orgs: new Set(), usageExact: 0n, fixedExact: 0n, revenue: 0n, credits: 0n, paid: 0n }))
  return s
}

/** Adds every contribution of `owner`'s book in `months` under `keyOf(account, currency, line)`. */
function contributions(fx: CostFixture, owner: OrgKey, months: string[], byService: boolean): Map<string, Sums> {
  const { tree } = fx
  const inBook = (org: OrgKey) => org !== owner && tree[org].path.startsWith(tree[owner].path)
  const key = (org: OrgKey, currency: string, line: string) => (byService ? `${line}|${currency}` : `${tree[org].id}|${currency}`)
  const out = new Map<string, Sums>()
  for (const u of fx.usage) {
    const cost = fx.costs.find((c) => c.owner === owner && c.meter === u.meter)
    if (!cost || !inBook(u.org) || !months.includes(u.month)) continue
    const s = bucket(out, key(u.org, cost.currency, `service:${fx.serviceOfMeter[u.meter]}`))
    s.usageExact += scaled(u.qty) * scaled(cost.amount)
    s.orgs.add(u.org)
  }
  for (const sub of fx.subs) {
    const cost = fx.costs.find((c) => c.owner === owner && c.plan === sub.plan)
    const ran = months.filter((m) => sub.starts <= lastDay(m) && (sub.ends === null || sub.ends >= m)).length
    if (!cost || sub.cancelled || !inBook(sub.org) || ran === 0) continue
    const s = bucket(out, key(sub.org, cost.currency, 'plan-fees'))
    s.fixedExact += BigInt(ran) * scaled(cost.amount)
    s.orgs.add(sub.org)
  }
  for (const inv of fx.invoices) {
    if (!['issued', 'overdue', 'paid'].includes(inv.status) || !inBook(inv.org) || !months.includes(inv.period)) continue
    if (!byService) {
      const s = bucket(out, key(inv.org, inv.currency, ''))
      s.revenue += inv.lines.filter((l) => l.kind !== 'credit').reduce((t, l) => t + l.amount, 0n)
      s.credits += -inv.credit
      s.paid += inv.paid
      continue
    }
    for (const l of inv.lines.filter((x) => x.kind !== 'credit')) {
      const name = l.kind === 'usage' ? (l.meter ? `service:${fx.serviceOfMeter[l.meter]}` : 'other') : l.kind === 'fixed' ? 'plan-fees' : 'discounts'
      const s = bucket(out, key(inv.org, inv.currency, name))
      s.revenue += l.amount
      s.orgs.add(inv.org)
    }
  }
  return out
}

function figures(currency: string, s: Sums) {
  const usage = divRound(s.usageExact * minorFactor(currency), 10n ** BigInt(2 * SCALE))
  const fixed = divRound(s.fixedExact * minorFactor(currency), 10n ** BigInt(SCALE))
  const cost = usage + fixed
  return { currency, usage_cost: usage.toString(), fixed_cost: fixed.toString(), cost: cost.toString(), revenue: s.revenue.toString(), margin: (s.revenue - cost).toString(), margin_pct: percent(s.revenue - cost, s.revenue) }
}

export function expectedByAccount(fx: CostFixture, owner: OrgKey, months: string[]) {
  return [...contributions(fx, owner, months, false)].map(([k, s]) => {
    const [id, currency] = k.split('|') as [string, string]
    return { account_id: id, ...figures(currency, s), credits: s.credits.toString(), paid: s.paid.toString(), balance: (s.revenue - s.credits - s.paid).toString() }
  })
}

export function expectedByService(fx: CostFixture, owner: OrgKey, months: string[]) {
  return [...contributions(fx, owner, months, true)].map(([k, s]) => {
    const [line, currency] = k.split('|') as [string, string]
    return { line, accounts: String(s.orgs.size), ...figures(currency, s) }
  })
}
