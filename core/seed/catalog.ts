/**
 * The generated operator's catalog: services of every category, meters of all three aggregations
 * with their unit costs, plans of all three models in every currency the tree bills in, and a few
 * infrastructure providers. Prices are written in EUR and converted with fixed integer rates, so
 * no float ever touches a price.
 */
import type { Kysely } from 'kysely'
import type { Database, MeterAggregation, PlanModel, ServiceCategory } from '../db/schema.ts'
import { scaleDecimal, toMinorUnits, unscale } from '../billing/money.ts'

export interface GeneratedMeter {
  readonly code: string
  readonly service: string
  readonly name: string
  readonly unit: string
  readonly aggregation: MeterAggregation
  /** Typical customer: a month's total (sum meters) or the level held (max/last meters). */
  readonly typical: number
  /** Decimal places of an event's quantity. */
  readonly decimals: number
  /** Weekend activity relative to a weekday (levels do not dip at weekends). */
  readonly weekend: string
  /** Relative noise of one event: quantity x (1 +/- amp). */
  readonly noise: string
  /** What one unit costs the operator, in EUR. */
  readonly cost: string
}

export const GENERATED_SERVICES: readonly { code: string; name: string; category: ServiceCategory }[] = [
  { code: 'compute', name: 'Cloud Compute', category: 'compute' },
  { code: 'memory', name: 'Memory', category: 'memory' },
  { code: 'storage', name: 'Block & Object Storage', category: 'storage' },
  { code: 'network', name: 'Network', category: 'network' },
  { code: 'voice', name: 'Voice', category: 'voice' },
  { code: 'sms', name: 'SMS', category: 'sms' },
  { code: 'licences', name: 'Software Licences', category: 'licence' },
]

export const GENERATED_METERS: readonly GeneratedMeter[] = [
  { code: 'vcpu-hours', service: 'compute', name: 'vCPU hours', unit: 'vCPU-h', aggregation: 'sum', typical: 2200, decimals: 3, weekend: '0.7', noise: '0.25', cost: '0.0085' },
  { code: 'memory-gb-hours', service: 'memory', name: 'Memory GB hours', unit: 'GB-h', aggregation: 'sum', typical: 7000, decimals: 3, weekend: '0.8', noise: '0.15', cost: '0.0011' },
  { code: 'memory-peak-gb', service: 'memory', name: 'Peak memory', unit: 'GB', aggregation: 'max', typical: 24, decimals: 2, weekend: '1', noise: '0.2', cost: '0.9' },
  { code: 'storage-gb', service: 'storage', name: 'Storage used', unit: 'GB', aggregation: 'max', typical: 650, decimals: 2, weekend: '1', noise: '0.05', cost: '0.018' },
  { code: 'backup-gb', service: 'storage', name: 'Backup size', unit: 'GB', aggregation: 'last', typical: 300, decimals: 2, weekend: '1', noise: '0.08', cost: '0.009' },
  { code: 'egress-gb', service: 'network', name: 'Internet egress', unit: 'GB', aggregation: 'sum', typical: 420, decimals: 3, weekend: '0.6', noise: '0.4', cost: '0.004' },
  { code: 'public-ips', service: 'network', name: 'Public IPv4 addresses', unit: 'IP', aggregation: 'last', typical: 3, decimals: 0, weekend: '1', noise: '0.1', cost: '1.2' },
  { code: 'voice-minutes', service: 'voice', name: 'Outbound voice minutes', unit: 'min', aggregation: 'sum', typical: 1800, decimals: 0, weekend: '0.3', noise: '0.5', cost: '0.006' },
  { code: 'sms', service: 'sms', name: 'SMS sent', unit: 'message', aggregation: 'sum', typical: 900, decimals: 0, weekend: '0.4', noise: '0.5', cost: '0.021' },
  { code: 'licence-seats', service: 'licences', name: 'Office suite seats', unit: 'seat', aggregation: 'last', typical: 18, decimals: 0, weekend: '1', noise: '0.06', cost: '3.4' },
]

interface PlanTemplate {
  readonly code: string
  readonly name: string
  readonly model: PlanModel
  /** Monthly fee in EUR (major units). */
  readonly fee: string
  /** Meter code -> [unit price beyond the included quantity (EUR), included quantity]. */
  readonly prices: Readonly<Record<string, readonly [string, string]>>
  /** Monthly cost of one subscription to the operator (EUR), for fee-bearing plans. */
  readonly cost?: string
  readonly retired?: boolean
  /** Allocations a subscription to this plan gets, before scaling by the customer's size. */
  readonly allocations: { vcpu?: number; memoryGb?: number; storageGb?: number; bundles?: number; seats?: number }
}

export const PLAN_TEMPLATES: readonly PlanTemplate[] = [
  {
    code: 'cloud-payg', name: 'Cloud Pay as you go', model: 'payg', fee: '0',
    prices: { 'vcpu-hours': ['0.021', '0'], 'memory-gb-hours': ['0.0028', '0'], 'storage-gb': ['0.045', '0'], 'egress-gb': ['0.01', '0'], 'public-ips': ['2.5', '0'], 'backup-gb': ['0.025', '0'] },
    allocations: { vcpu: 4, memoryGb: 8, storageGb: 500 },
  },
  {
    code: 'cloud-reserved', name: 'Cloud Reserved 4 vCPU', model: 'reserved', fee: '119', cost: '46',
    prices: { 'vcpu-hours': ['0.018', '2920'], 'memory-gb-hours': ['0.0024', '11680'], 'memory-peak-gb': ['1.9', '16'], 'storage-gb': ['0.04', '1000'], 'public-ips': ['2.0', '2'] },
    allocations: { vcpu: 4, memoryGb: 16, storageGb: 1000 },
  },
  {
    code: 'comms-payg', name: 'Communications Pay as you go', model: 'payg', fee: '0',
    prices: { 'voice-minutes': ['0.012', '0'], sms: ['0.045', '0'] },
    allocations: {},
  },
  {
    code: 'comms-bundle', name: 'Communications Bundle 1000', model: 'bundle', fee: '49', cost: '14',
    prices: { 'voice-minutes': ['0.01', '1000'], sms: ['0.04', '500'] },
    allocations: { bundles: 1 },
  },
  {
    code: 'workplace-bundle', name: 'Workplace Bundle', model: 'bundle', fee: '99', cost: '41',
    prices: { 'licence-seats': ['6.5', '10'], 'backup-gb': ['0.02', '250'], 'egress-gb': ['0.01', '200'] },
    allocations: { bundles: 1, seats: 10 },
  },
  {
    code: 'cloud-classic', name: 'Cloud Classic (2022)', model: 'payg', fee: '0', retired: true,
    prices: { 'vcpu-hours': ['0.025', '0'], 'storage-gb': ['0.06', '0'], 'egress-gb': ['0.015', '0'] },
    allocations: { vcpu: 2, memoryGb: 4, storageGb: 200 },
  },
]

export const PROVIDERS = [
  { name: 'Frankfurt FRA1', region: 'eu-central', cpu: '2048', memory: '8192', storage: '512000' },
  { name: 'Amsterdam AMS2', region: 'eu-west', cpu: '1536', memory: '6144', storage: '384000' },
  { name: 'London LON1', region: 'uk-south', cpu: '1024', memory: '4096', storage: '256000' },
  { name: 'Virginia IAD1', region: 'us-east', cpu: '1024', memory: '4096', storage: '256000' },
] as const

/** EUR -> currency as an integer ratio (numerator / 100). Unknown currencies use parity. */
const RATES: Readonly<Record<string, bigint>> = { EUR: 100n, USD: 108n, GBP: 86n, SEK: 1150n, CHF: 95n, NOK: 1170n, DKK: 746n }

/** A EUR decimal converted to `currency`, kept to `places` decimals. */
export function convert(eur: string, currency: string, places = 6): string {
  const rate = RATES[currency] ?? 100n
  return unscale((scaleDecimal(eur, places) * rate) / 100n, places)
}

export interface GeneratedPlan {
  readonly id: number
  readonly template: PlanTemplate
  readonly currency: string
  /** Meter code -> meter id, for the meters this plan prices. */
  readonly meters: readonly string[]
}

export interface GeneratedCatalog {
  readonly services: ReadonlyMap<string, number>
  readonly meters: ReadonlyMap<string, { id: number; spec: GeneratedMeter }>
  /** Active and retired plans, per currency. */
  readonly plans: readonly GeneratedPlan[]
  readonly providers: readonly number[]
}

/** Writes the catalog, owned by `ownerOrgId`, with plans in each of `currencies`. */
export async function writeCatalog(db: Kysely<Database>, ownerOrgId: number, currencies: readonly string[], operatorCurrency: string): Promise<GeneratedCatalog> {
  const serviceRows = await db.insertInto('services')
    .values(GENERATED_SERVICES.map((s) => ({ org_id: ownerOrgId, code: s.code, name: s.name, category: s.category, description: `${s.name} (generated)` })))
    .returning(['id', 'code']).execute()
  const services = new Map(serviceRows.map((r) => [r.code, r.id]))
  const meterRows = await db.insertInto('meters')
    .values(GENERATED_METERS.map((m) => ({ org_id: ownerOrgId, service_id: services.get(m.service)!, code: m.code, name: m.name, unit: m.unit, aggregation: m.aggregation })))
    .returning(['id', 'code']).execute()
  const meters = new Map(meterRows.map((r) => [r.code, { id: r.id, spec: GENERATED_METERS.find((m) => m.code === r.code)! }]))
  await db.insertInto('catalog_costs')
    .values(GENERATED_METERS.map((m) => ({ org_id: ownerOrgId, meter_id: meters.get(m.code)!.id, currency: operatorCurrency, amount: convert(m.cost, operatorCurrency) })))
    .execute()

  const plans: GeneratedPlan[] = []
  for (const currency of currencies) {
    for (const template of PLAN_TEMPLATES) {
      const suffix = currency.toLowerCase()
      const plan = await db.insertInto('plans').values({
        org_id: ownerOrgId, code: `${template.code}-${suffix}`, name: `${template.name} (${currency})`, model: template.model, currency,
        fixed_fee_minor: toMinorUnits(convert(template.fee, currency), currency).toString(),
        status: template.retired ? 'retired' : 'active', description: `${template.model} plan, generated`,
      }).returning('id').executeTakeFirstOrThrow()
      await db.insertInto('plan_prices').values(Object.entries(template.prices).map(([code, [price, included]]) => ({
        org_id: ownerOrgId, plan_id: plan.id, meter_id: meters.get(code)!.id, unit_price: convert(price, currency), included_quantity: included,
      }))).execute()
      if (template.cost) {
        await db.insertInto('catalog_costs').values({ org_id: ownerOrgId, plan_id: plan.id, currency: operatorCurrency, amount: convert(template.cost, operatorCurrency) }).execute()
      }
      plans.push({ id: plan.id, template, currency, meters: Object.keys(template.prices) })
    }
  }
  const providerRows = await db.insertInto('providers')
    .values(PROVIDERS.map((p) => ({ org_id: ownerOrgId, name: p.name, region: p.region, cpu_capacity: p.cpu, memory_gb: p.memory, storage_gb: p.storage })))
    .returning('id').execute()
  return { services, meters, plans, providers: providerRows.map((r) => r.id) }
}
