/**
 * Shared fixture of the usage-family report tests: the test tree and catalog, four subscriptions,
 * and day rollups for January and February 2026 written straight into `usage_daily`, with the
 * month rollups folded from them here (sum adds, max keeps the peak, last the latest reading).
 * Expected figures are computed from `days` with the helpers below, never by the reports' queries.
 */
import type { Kysely } from 'kysely'
import type { Database, MeterAggregation } from '../../core/db/schema.ts'
import { scaleDecimal, unscale } from '../../core/billing/money.ts'
import { addSubscription, METERS, PLANS, seedCatalog, type Catalog } from '../support/billing.ts'
import { seedTree, type Tree } from '../support/fixture.ts'

export interface DayRow {
  readonly org: number
  readonly sub: number
  readonly meter: number
  readonly aggregation: MeterAggregation
  readonly day: string
  /** Scaled by 10^6. */
  readonly q: bigint
  readonly lastAt: string
}

export interface UsageFixture {
  readonly tree: Tree
  readonly catalog: Catalog
  readonly subs: Record<SubscriptionKey, number>
  /** Plan code (test/support/billing.ts PLANS) of each subscription. */
  readonly plans: Record<SubscriptionKey, string>
  readonly days: DayRow[]
}

export type SubscriptionKey = 'a1' | 'a2' | 's1' | 'b1'

// 2026-01-28 and 2026-02-01 share an ISO week (Monday 2026-01-26) across the month boundary.
const DAYS = ['2026-01-03', '2026-01-10', '2026-01-17', '2026-01-28', '2026-02-01', '2026-02-02', '2026-02-09', '2026-02-16', '2026-02-24']

export async function seedUsageFixture(db: Kysely<Database>): Promise<UsageFixture> {
  const tree = await seedTree(db)
  const catalog = await seedCatalog(db, tree.operator.id)
  const subs = {
    a1: await addSubscription(db, tree.alphaCustomer.id, catalog.plans.payg!),
    a2: await addSubscription(db, tree.alphaCustomer.id, catalog.plans.bundle!),
    s1: await addSubscription(db, tree.alphaSubCustomer.id, catalog.plans.payg!),
    b1: await addSubscription(db, tree.betaCustomer.id, catalog.plans.reserved!),
  }
  const owners: Record<string, { org: number; plan: string }> = {
    a1: { org: tree.alphaCustomer.id, plan: 'payg' }, a2: { org: tree.alphaCustomer.id, plan: 'bundle' },
    s1: { org: tree.alphaSubCustomer.id, plan: 'payg' }, b1: { org: tree.betaCustomer.id, plan: 'reserved' },
  }
  const days: DayRow[] = []
  let seed = 7
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648)
  for (const [key, sub] of Object.entries(subs)) {
    const plan = PLANS.find((p) => p.code === owners[key]!.plan)!
    // Each subscription uses its plan's meters, plus one meter its plan does not price (unbilled usage).
    const codes = [...new Set([...Object.keys(plan.prices), key === 'a1' ? 'licence-seats' : 'egress-gb'])]
    codes.forEach((code, i) => {
      const spec = METERS.find((m) => m.code === code)!
      for (const day of DAYS) {
        if (next() % 5 === 0) continue
        const scale = code === 'vcpu-hours' ? 900 : code === 'voice-minutes' ? 400 : 60
        const whole = next() % scale
        const fraction = next() % 1000
        days.push({
          org: owners[key]!.org, sub, meter: catalog.meters[code]!, aggregation: spec.aggregation, day,
          q: scaleDecimal(`${whole}.${String(fraction).padStart(3, '0')}`, 6), lastAt: `${day}T${String(8 + i).padStart(2, '0')}:15:00Z`,
        })
      }
    })
  }
  await db.insertInto('usage_daily').values(days.map((d) => ({
    org_id: d.org, subscription_id: d.sub, meter_id: d.meter, day: d.day, quantity: unscale(d.q, 6), event_count: 2, last_at: d.lastAt,
  }))).execute()
  const months = new Map<string, DayRow[]>()
  for (const d of days) {
    const key = `${d.sub}|${d.meter}|${d.day.slice(0, 7)}`
    months.set(key, [...(months.get(key) ?? []), d])
  }
  await db.insertInto('usage_monthly').values([...months.values()].map((rows) => {
    const first = rows[0]!
    const latest = [...rows].sort((a, b) => (a.lastAt < b.lastAt ? 1 : -1))[0]!
    return {
      org_id: first.org, subscription_id: first.sub, meter_id: first.meter, month: `${first.day.slice(0, 7)}-01`,
      quantity: unscale(fold(first.aggregation, rows.map((r) => ({ q: r.q, at: r.lastAt }))), 6), event_count: 2 * rows.length, last_at: latest.lastAt,
    }
  })).execute()
  const plans = Object.fromEntries(Object.entries(owners).map(([key, o]) => [key, o.plan])) as Record<SubscriptionKey, string>
  return { tree, catalog, subs, plans, days }
}

/** Folds values by an aggregation: sum adds, max the largest, last the one with the latest `at`. */
export function fold(aggregation: MeterAggregation, values: readonly { q: bigint; at: string }[]): bigint {
  if (aggregation === 'sum') return values.reduce((s, v) => s + v.q, 0n)
  if (aggregation === 'max') return values.reduce((m, v) => (v.q > m ? v.q : m), values[0]!.q)
  return [...values].sort((a, b) => (a.at < b.at ? 1 : -1))[0]!.q
}

/** One subscription's quantity of one meter over [from, to]: per month from the days in range, then across months. */
export function periodValue(days: readonly DayRow[], sub: number, meter: number, from: string, to: string): bigint | undefined {
  const rows = days.filter((d) => d.sub === sub && d.meter === meter && d.day >= from && d.day <= to)
  if (!rows.length) return undefined
  const aggregation = rows[0]!.aggregation
  const byMonth = new Map<string, DayRow[]>()
  for (const r of rows) byMonth.set(r.day.slice(0, 7), [...(byMonth.get(r.day.slice(0, 7)) ?? []), r])
  const monthly = [...byMonth.entries()].map(([month, list]) => ({ q: fold(aggregation, list.map((r) => ({ q: r.q, at: r.lastAt }))), at: month }))
  return fold(aggregation, monthly)
}

/** Quantity of a meter over [from, to] summed across the given organisations' subscriptions, and how many organisations used it. */
export function meterTotal(days: readonly DayRow[], meter: number, from: string, to: string, orgs: readonly number[]): { q: bigint; orgs: number } {
  const subs = [...new Set(days.filter((d) => d.meter === meter && orgs.includes(d.org)).map((d) => d.sub))]
  let q = 0n
  const used = new Set<number>()
  for (const sub of subs) {
    const v = periodValue(days, sub, meter, from, to)
    if (v === undefined) continue
    q += v
    used.add(days.find((d) => d.sub === sub)!.org)
  }
  return { q, orgs: used.size }
}

/** A numeric string from the database as a 10^6-scaled bigint. */
export const scaled = (value: unknown) => scaleDecimal(String(value), 6)
