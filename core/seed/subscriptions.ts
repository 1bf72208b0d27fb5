/**
 * Generated contracts: each customer gets one to three subscriptions to plans in its currency,
 * sized by a per-customer scale (a few heavy consumers use 20-50x), with start dates spread over
 * the two years before and during the generated window, some expiring, a few cancelled.
 */
import type { Kysely } from 'kysely'
import type { Database, OrganisationRow, SubscriptionStatus } from '../db/schema.ts'
import { addDays } from '../billing/invoices.ts'
import type { GeneratedCatalog, GeneratedPlan } from './catalog.ts'
import type { Random } from './random.ts'

export interface Window {
  /** First day of the first generated month. */
  readonly start: string
  /** First day of the current (open) month: months before it are closed and billed. */
  readonly openMonth: string
  /** Usage stops at the start of this day. */
  readonly today: string
}

/** How big a customer is, and how its usage moves. */
export interface CustomerProfile {
  readonly org: OrganisationRow
  /** Multiplies every quantity; heavy consumers are 20-50x the others. */
  readonly scale: number
  readonly heavy: boolean
  /** Linear growth per month relative to the window's first month (negative: shrinking). */
  readonly growth: number
}

export interface PlannedSubscription {
  readonly profile: CustomerProfile
  readonly plan: GeneratedPlan
  readonly name: string
  readonly startsOn: string
  readonly endsOn: string | null
  readonly status: SubscriptionStatus
  readonly providerId: number | null
  /** Meter codes that will get usage (a subset of the plan's priced meters). */
  readonly meters: readonly string[]
  readonly allocations: { vcpu: string; memoryGb: string; storageGb: string; bundles: number; seats: number }
}

const FAMILY_WEIGHTS: readonly (readonly [string, number])[] = [
  ['cloud-payg', 30], ['cloud-reserved', 24], ['comms-bundle', 16], ['comms-payg', 10], ['workplace-bundle', 16], ['cloud-classic', 4],
]
const LABELS = ['Production', 'Staging', 'Web shop', 'Analytics', 'Back office', 'Call centre', 'Head office', 'Branch offices', 'Disaster recovery', 'Development']

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000)
}

/** Picks which customers are heavy (at least one when there are customers) and everyone's scale. */
export function profileCustomers(rng: Random, customers: readonly OrganisationRow[]): CustomerProfile[] {
  const heavyCount = customers.length ? Math.max(1, Math.round(customers.length * 0.01)) : 0
  const heavy = new Set<number>()
  while (heavy.size < heavyCount) heavy.add(rng.int(0, customers.length - 1))
  return customers.map((org, i) => {
    // An exponential spread: most customers small, a long tail of bigger ones.
    const base = Math.min(6, 0.25 + -Math.log(1 - rng.next()) * 0.9)
    const isHeavy = heavy.has(i)
    return { org, scale: isHeavy ? Math.max(1, base) * rng.int(20, 50) : base, heavy: isHeavy, growth: -0.01 + rng.next() * 0.06 }
  })
}

export function planSubscriptions(rng: Random, profiles: readonly CustomerProfile[], catalog: GeneratedCatalog, window: Window): PlannedSubscription[] {
  const planned: PlannedSubscription[] = []
  const lastClosedDay = addDays(window.openMonth, -1)
  for (const profile of profiles) {
    const plans = catalog.plans.filter((p) => p.currency === profile.org.currency)
    if (!plans.length) continue
    const count = rng.weighted([[1, 50], [2, 35], [3, 15]] as const)
    const families = new Set<string>()
    for (let n = 0; n < count; n++) {
      const family = rng.weighted(FAMILY_WEIGHTS.filter(([f]) => !families.has(f)))
      families.add(family)
      const plan = plans.find((p) => p.template.code === family)!
      // The first contract always began before the last closed month, so every customer has
      // at least one invoice; later ones may be new within the window.
      const established = n === 0 || rng.chance(0.6)
      const startsOn = established
        ? addDays(window.start, -rng.int(1, 730))
        : addDays(window.start, rng.int(0, Math.max(0, daysBetween(window.start, window.today) - 10)))
      let endsOn: string | null = null
      let status: SubscriptionStatus = 'active'
      const fate = n === 0 ? rng.next() * 0.88 : rng.next()
      if (fate > 0.96) {
        status = 'cancelled'
        endsOn = addDays(startsOn, rng.int(20, Math.max(20, daysBetween(startsOn, window.today))))
        if (endsOn > window.today) endsOn = window.today
      } else if (fate > 0.94) {
        status = 'suspended'
      } else if (fate > 0.88) {
        // Expiring: some already ended within the window, some end in the next three months.
        endsOn = rng.chance(0.5) ? addDays(window.today, rng.int(5, 90)) : addDays(window.start, rng.int(20, Math.max(20, daysBetween(window.start, lastClosedDay))))
        if (endsOn < startsOn) endsOn = addDays(startsOn, 30)
      }
      let meters = plan.meters.filter(() => rng.chance(0.85))
      if (!meters.length) meters = [plan.meters[0]!]
      const size = Math.max(1, Math.round(profile.scale))
      const a = plan.template.allocations
      planned.push({
        profile, plan, status, startsOn, endsOn, meters,
        name: `${rng.pick(LABELS)} – ${plan.template.name}`,
        providerId: plan.template.code.startsWith('cloud') && catalog.providers.length ? rng.pick(catalog.providers) : null,
        allocations: {
          vcpu: String((a.vcpu ?? 0) * size), memoryGb: String((a.memoryGb ?? 0) * size), storageGb: String((a.storageGb ?? 0) * size),
          bundles: (a.bundles ?? 0) * Math.min(size, 20), seats: (a.seats ?? 0) * Math.min(size, 50),
        },
      })
    }
  }
  return planned
}

/** Inserts the subscriptions in order and returns their ids in the same order. */
export async function writeSubscriptions(db: Kysely<Database>, planned: readonly PlannedSubscription[]): Promise<number[]> {
  const ids: number[] = []
  for (let i = 0; i < planned.length; i += 1000) {
    const rows = await db.insertInto('subscriptions').values(planned.slice(i, i + 1000).map((s) => ({
      org_id: s.profile.org.id, plan_id: s.plan.id, provider_id: s.providerId, name: s.name, starts_on: s.startsOn, ends_on: s.endsOn, status: s.status,
      alloc_vcpu: s.allocations.vcpu, alloc_memory_gb: s.allocations.memoryGb, alloc_storage_gb: s.allocations.storageGb,
      alloc_bundles: s.allocations.bundles, alloc_licence_seats: s.allocations.seats,
    }))).returning('id').execute()
    ids.push(...rows.map((r) => r.id))
  }
  return ids
}
