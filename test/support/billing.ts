/**
 * Billing fixtures written straight into the tables (not through the code under test): a small
 * catalog owned by the operator, subscriptions, and usage already rolled up. Tests compute what
 * they expect from these raw rows.
 */
import type { Kysely } from 'kysely'
import type { Database, MeterAggregation, PlanModel, ServiceCategory } from '../../core/db/schema.ts'

export interface MeterSpec {
  readonly code: string
  readonly service: string
  readonly unit: string
  readonly aggregation: MeterAggregation
}

/** Services by code -> category and name. */
export const SERVICES: Readonly<Record<string, { name: string; category: ServiceCategory }>> = {
  compute: { name: 'Compute', category: 'compute' },
  storage: { name: 'Storage', category: 'storage' },
  network: { name: 'Network', category: 'network' },
  voice: { name: 'Voice', category: 'voice' },
  sms: { name: 'SMS', category: 'sms' },
  licences: { name: 'Licences', category: 'licence' },
}

export const METERS: readonly MeterSpec[] = [
  { code: 'vcpu-hours', service: 'compute', unit: 'vCPU-h', aggregation: 'sum' },
  { code: 'storage-gb', service: 'storage', unit: 'GB', aggregation: 'max' },
  { code: 'egress-gb', service: 'network', unit: 'GB', aggregation: 'sum' },
  { code: 'voice-minutes', service: 'voice', unit: 'min', aggregation: 'sum' },
  { code: 'sms', service: 'sms', unit: 'message', aggregation: 'sum' },
  { code: 'licence-seats', service: 'licences', unit: 'seat', aggregation: 'last' },
]

export interface PlanSpec {
  readonly code: string
  readonly model: PlanModel
  readonly currency: string
  readonly fixedFeeMinor: number
  /** meter code -> [unit price, included quantity] as decimal strings. */
  readonly prices: Readonly<Record<string, readonly [string, string]>>
}

export const PLANS: readonly PlanSpec[] = [
  { code: 'payg', model: 'payg', currency: 'EUR', fixedFeeMinor: 0, prices: { 'vcpu-hours': ['0.021', '0'], 'storage-gb': ['0.05', '0'], 'egress-gb': ['0.01', '0'], 'voice-minutes': ['0.012', '0'], sms: ['0.045', '0'] } },
  { code: 'reserved', model: 'reserved', currency: 'EUR', fixedFeeMinor: 12000, prices: { 'vcpu-hours': ['0.018', '1460'], 'storage-gb': ['0.04', '500'] } },
  { code: 'bundle', model: 'bundle', currency: 'EUR', fixedFeeMinor: 4900, prices: { 'voice-minutes': ['0.01', '1000'], sms: ['0.04', '500'], 'licence-seats': ['6.5', '10'] } },
]

export interface Catalog {
  readonly services: Record<string, number>
  readonly meters: Record<string, number>
  readonly plans: Record<string, number>
}

/** The catalog above, owned by `ownerOrgId` (the operator). */
export async function seedCatalog(db: Kysely<Database>, ownerOrgId: number): Promise<Catalog> {
  const services: Record<string, number> = {}
  for (const [code, s] of Object.entries(SERVICES)) {
    services[code] = (await db.insertInto('services').values({ org_id: ownerOrgId, code, name: s.name, category: s.category }).returning('id').executeTakeFirstOrThrow()).id
  }
  const meters: Record<string, number> = {}
  for (const m of METERS) {
    meters[m.code] = (await db.insertInto('meters').values({
      org_id: ownerOrgId, service_id: services[m.service]!, code: m.code, name: m.code, unit: m.unit, aggregation: m.aggregation,
    }).returning('id').executeTakeFirstOrThrow()).id
  }
  const plans: Record<string, number> = {}
  for (const p of PLANS) {
    const plan = await db.insertInto('plans').values({
      org_id: ownerOrgId, code: p.code, name: `Plan ${p.code}`, model: p.model, currency: p.currency, fixed_fee_minor: p.fixedFeeMinor,
    }).returning('id').executeTakeFirstOrThrow()
    plans[p.code] = plan.id
    for (const [meter, [price, included]] of Object.entries(p.prices)) {
      await db.insertInto('plan_prices').values({ org_id: ownerOrgId, plan_id: plan.id, meter_id: meters[meter]!, unit_price: price, included_quantity: included }).execute()
    }
  }
  return { services, meters, plans }
}

/** A subscription of `orgId` to `planId`, active from `startsOn`. */
export async function addSubscription(db: Kysely<Database>, orgId: number, planId: number, options: { name?: string; startsOn?: string; endsOn?: string | null } = {}): Promise<number> {
  return (await db.insertInto('subscriptions').values({
    org_id: orgId, plan_id: planId, name: options.name ?? `Subscription ${orgId}-${planId}`, starts_on: options.startsOn ?? '2020-01-01', ends_on: options.endsOn ?? null,
  }).returning('id').executeTakeFirstOrThrow()).id
}

/** Monthly usage already rolled up: what the rating reads. `month` is `YYYY-MM-01`. */
export async function addMonthlyUsage(db: Kysely<Database>, orgId: number, subscriptionId: number, meterId: number, month: string, quantity: string): Promise<void> {
  await db.insertInto('usage_monthly').values({
    org_id: orgId, subscription_id: subscriptionId, meter_id: meterId, month, quantity, event_count: 1, last_at: `${month}T12:00:00Z`,
  }).execute()
}
