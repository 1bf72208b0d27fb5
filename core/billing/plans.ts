/**
 * Plans and their prices. A plan has a model (PAYG: per unit, no fee, nothing included; reserved:
 * a monthly fee for committed capacity; bundle: a fee with included quantities, then an overage
 * price), a currency and a monthly fixed fee in minor units. Each price is per unit of one meter
 * beyond its included quantity. Shared like the rest of the catalog: read from below, written in
 * the owner's subtree.
 *
 * @example
 * await createPlan(c.var.db, { code: 'start', name: 'Start', model: 'payg', currency: 'EUR', fixedFeeMinor: '0', status: 'active', description: '',
 *   prices: [{ meter: 'vcpu-hours', unitPrice: '0.021', includedQuantity: '0' }] })
 */
import { z } from 'zod'
import { recordAudit } from '../audit/audit.ts'
import { PLAN_MODELS, type PlanModel, type PlanRow } from '../db/schema.ts'
import { HttpProblem, notFound } from '../http/problem.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import { metersUsableBy, type MeterView } from './catalog.ts'
import { codeField, currencyField, decimalField, descriptionField, idField, mapConstraints, merged, minorField, nameField, ownerInScope, ownerPath } from './catalog-rules.ts'

export const PLAN_STATUSES = ['active', 'retired'] as const
export type PlanStatus = (typeof PLAN_STATUSES)[number]

export const priceInput = z.object({
  meterId: idField('a meter').optional(),
  /** The meter's code, as an alternative to its id. */
  meter: z.string().trim().min(1).max(64).optional(),
  unitPrice: decimalField('the unit price', 20, 6),
  includedQuantity: decimalField('the included quantity', 24, 6).default('0'),
}).refine((p) => p.meterId !== undefined || p.meter !== undefined, { message: 'Name the meter (meterId or meter code)', path: ['meterId'] })
export type PriceInput = z.output<typeof priceInput>

const priceList = z.array(priceInput, { error: 'Send prices as a list' }).max(500, 'Use at most 500 prices')

const planFields = {
  code: codeField,
  name: nameField,
  model: z.enum(PLAN_MODELS, { error: 'Choose payg, reserved or bundle' }),
  currency: currencyField,
  fixedFeeMinor: minorField,
  status: z.enum(PLAN_STATUSES, { error: 'Choose active or retired' }),
  description: descriptionField,
}
export const planInput = z.object({
  ...planFields,
  fixedFeeMinor: minorField.default('0'),
  status: planFields.status.default('active'),
  description: descriptionField.default(''),
  prices: priceList.default([]),
})
export const planPatch = z.object(planFields).partial()
export const pricesInput = z.object({ prices: priceList })
export type PlanInput = z.output<typeof planInput>
export type PlanPatch = z.output<typeof planPatch>

export interface PriceView {
  readonly meterId: number
  readonly meterCode: string
  readonly meterName: string
  readonly unit: string
  readonly unitPrice: string
  readonly includedQuantity: string
}

export interface PlanView {
  readonly id: number
  readonly ownerOrgId: number | null
  readonly inherited: boolean
  readonly code: string
  readonly name: string
  readonly model: PlanModel
  readonly currency: string
  readonly fixedFeeMinor: string
  readonly status: PlanStatus
  readonly description: string
  readonly prices: readonly PriceView[]
}

export interface PlanFilter {
  readonly status?: PlanStatus | undefined
  readonly currency?: string | undefined
  readonly model?: PlanModel | undefined
  readonly ids?: readonly number[] | undefined
}

const PLAN_MESSAGES = {
  plans_org_code: ['A plan with this code already exists.', { code: 'This code is already in use' }],
  plans_payg_has_no_fee: ['A pay-as-you-go plan has no fixed fee.', { fixedFeeMinor: 'Must be 0 for pay-as-you-go' }],
  subscriptions_plan_id_fkey: ['Subscriptions use this plan, so it cannot be removed. Retire it instead.'],
  discounts_plan_id_fkey: ['Discounts refer to this plan, so it cannot be removed. Retire it instead.'],
} as const

// ---- reading -------------------------------------------------------------------------------------

export async function listPlans(sdb: ScopedDb, filter: PlanFilter = {}): Promise<PlanView[]> {
  let query = sdb.selectShared('plans').selectAll('plans').select(ownerPath('plans').as('owner_path'))
  if (filter.status) query = query.where('plans.status', '=', filter.status)
  if (filter.currency) query = query.where('plans.currency', '=', filter.currency)
  if (filter.model) query = query.where('plans.model', '=', filter.model)
  if (filter.ids) query = query.where('plans.id', 'in', filter.ids.length ? [...filter.ids] : [0])
  const plans = await query.orderBy('plans.name').orderBy('plans.id').execute()
  const prices = plans.length === 0 ? [] : await sdb.selectShared('plan_prices')
    .innerJoin('meters', 'meters.id', 'plan_prices.meter_id')
    .select(['plan_prices.plan_id', 'plan_prices.meter_id', 'plan_prices.unit_price', 'plan_prices.included_quantity', 'meters.code', 'meters.name', 'meters.unit'])
    .where('plan_prices.plan_id', 'in', plans.map((p) => p.id))
    .orderBy('meters.code').execute()
  return plans.map((p) => {
    const mine = ownerInScope(sdb, p.owner_path)
    return {
      id: p.id, ownerOrgId: mine ? p.org_id : null, inherited: !mine, code: p.code, name: p.name, model: p.model, currency: p.currency,
      fixedFeeMinor: p.fixed_fee_minor, status: p.status, description: p.description,
      prices: prices.filter((r) => r.plan_id === p.id).map((r) => ({
        meterId: r.meter_id, meterCode: r.code, meterName: r.name, unit: r.unit, unitPrice: r.unit_price, includedQuantity: r.included_quantity,
      })),
    }
  })
}

/** A plan the caller may read, with its prices, or 404. */
export async function planView(sdb: ScopedDb, id: number): Promise<PlanView> {
  const [plan] = await listPlans(sdb, { ids: [id] })
  if (!plan) throw notFound('plan')
  return plan
}

async function ownPlan(sdb: ScopedDb, id: number) {
  const row = await sdb.selectFrom('plans').selectAll().where('plans.id', '=', id).executeTakeFirst()
  if (!row) throw notFound('plan')
  return row
}

// ---- prices --------------------------------------------------------------------------------------

interface ResolvedPrice {
  readonly meter: MeterView
  readonly unitPrice: string
  readonly includedQuantity: string
}

/** Prices with their meters found among those the plan's owner may use; 422 naming the bad entry. */
async function resolvePrices(sdb: ScopedDb, ownerPath: string, model: PlanModel, prices: readonly PriceInput[]): Promise<ResolvedPrice[]> {
  const usable = await metersUsableBy(sdb, ownerPath)
  const out: ResolvedPrice[] = []
  const seen = new Set<number>()
  prices.forEach((p, index) => {
    const byCode = usable.filter((m) => m.code === p.meter)
    // The same code may exist at several levels; the nearest owner is the one meant (listed last as paths grow).
    const meter = p.meterId !== undefined ? usable.find((m) => m.id === p.meterId) : byCode[byCode.length - 1]
    const field = `prices.${index}`
    if (!meter) throw new HttpProblem(422, `Price ${index + 1} names a meter that does not exist in this catalog.`, { prices: `Unknown meter in price ${index + 1}`, [field]: 'Unknown meter' })
    if (seen.has(meter.id)) throw new HttpProblem(422, `Meter ${meter.code} is priced twice.`, { prices: `Meter ${meter.code} is priced twice`, [field]: 'Priced twice' })
    seen.add(meter.id)
    if (model === 'payg' && !/^0*\.?0*$/.test(p.includedQuantity)) {
      throw new HttpProblem(422, 'A pay-as-you-go plan includes nothing: every included quantity must be 0.', { prices: `Included quantity of ${meter.code} must be 0 for pay-as-you-go`, [field]: 'Must be 0 for pay-as-you-go' })
    }
    out.push({ meter, unitPrice: p.unitPrice, includedQuantity: p.includedQuantity })
  })
  return out
}

function checkFee(model: PlanModel, fixedFeeMinor: string): void {
  if (model === 'payg' && BigInt(fixedFeeMinor) !== 0n) {
    throw new HttpProblem(422, 'A pay-as-you-go plan has no fixed fee.', { fixedFeeMinor: 'Must be 0 for pay-as-you-go' })
  }
}

async function writePrices(trx: ScopedDb, plan: { id: number; org_id: number }, prices: readonly ResolvedPrice[]): Promise<void> {
  await trx.deleteFrom('plan_prices').where('plan_prices.plan_id', '=', plan.id).execute()
  if (prices.length === 0) return
  await (await trx.insertInto('plan_prices', prices.map((p) => ({
    org_id: plan.org_id, plan_id: plan.id, meter_id: p.meter.id, unit_price: p.unitPrice, included_quantity: p.includedQuantity,
  })))).execute()
}

const priceAudit = (prices: readonly { meterCode?: string; meter?: MeterView; unitPrice: string; includedQuantity: string }[]) =>
  prices.map((p) => ({ meter: p.meterCode ?? p.meter?.code, unitPrice: p.unitPrice, includedQuantity: p.includedQuantity }))

// ---- writing -------------------------------------------------------------------------------------

export async function createPlan(sdb: ScopedDb, input: PlanInput): Promise<PlanView> {
  checkFee(input.model, input.fixedFeeMinor)
  const id = await mapConstraints(() => sdb.transaction(async (trx) => {
    const prices = await resolvePrices(trx, trx.scope.path, input.model, input.prices)
    const { prices: _prices, fixedFeeMinor, ...rest } = input
    const plan = await (await trx.insertInto('plans', { org_id: trx.scope.orgId, ...rest, fixed_fee_minor: fixedFeeMinor })).returningAll().executeTakeFirstOrThrow() as PlanRow
    await writePrices(trx, plan, prices)
    await recordAudit(trx, {
      orgId: plan.org_id, action: 'create', subject: 'Catalog', subjectId: `plan:${plan.id}`, summary: `Plan ${plan.code} created`,
      after: { ...planAudit(plan), prices: priceAudit(prices) },
    })
    return plan.id
  }), PLAN_MESSAGES)
  return planView(sdb, id)
}

export async function updatePlan(sdb: ScopedDb, id: number, patch: PlanPatch): Promise<PlanView> {
  await mapConstraints(() => sdb.transaction(async (trx) => {
    const before = await ownPlan(trx, id)
    const next = merged({ code: before.code, name: before.name, model: before.model, currency: before.currency, fixedFeeMinor: before.fixed_fee_minor, status: before.status, description: before.description }, patch)
    checkFee(next.model, next.fixedFeeMinor)
    if (next.model === 'payg') {
      const included = await trx.selectFrom('plan_prices').select('plan_prices.id').where('plan_prices.plan_id', '=', id).where('plan_prices.included_quantity', '>', '0').limit(1).execute()
      if (included.length) throw new HttpProblem(422, 'A pay-as-you-go plan includes nothing: set every included quantity to 0 first.', { model: 'Prices include quantities' })
    }
    if (next.currency !== before.currency) {
      const used = await trx.selectFrom('subscriptions').select('subscriptions.id').where('subscriptions.plan_id', '=', id).limit(1).execute()
      if (used.length) throw new HttpProblem(409, 'Subscriptions use this plan, so its currency cannot change. Create a new plan instead.', { currency: 'Cannot change while subscribed' })
    }
    const { fixedFeeMinor, ...rest } = next
    const after = await trx.updateTable('plans').set({ ...rest, fixed_fee_minor: fixedFeeMinor, updated_at: new Date() }).where('plans.id', '=', id).returningAll().executeTakeFirstOrThrow()
    await recordAudit(trx, { orgId: after.org_id, action: 'update', subject: 'Catalog', subjectId: `plan:${id}`, summary: `Plan ${after.code} updated`, before: planAudit(before), after: planAudit(after) })
  }), PLAN_MESSAGES)
  return planView(sdb, id)
}

/** Replaces every price of a plan the caller owns (in its subtree). */
export async function setPrices(sdb: ScopedDb, id: number, prices: readonly PriceInput[]): Promise<PlanView> {
  await mapConstraints(() => sdb.transaction(async (trx) => {
    const plan = await ownPlan(trx, id)
    const owner = await trx.organisation(plan.org_id)
    const resolved = await resolvePrices(trx, owner!.path, plan.model, prices)
    const before = (await planView(trx, id)).prices
    await writePrices(trx, plan, resolved)
    await trx.updateTable('plans').set({ updated_at: new Date() }).where('plans.id', '=', id).execute()
    await recordAudit(trx, {
      orgId: plan.org_id, action: 'update', subject: 'Catalog', subjectId: `plan:${id}`, summary: `Prices of plan ${plan.code} set`,
      before: { prices: priceAudit(before) }, after: { prices: priceAudit(resolved) },
    })
  }), PLAN_MESSAGES)
  return planView(sdb, id)
}

export async function deletePlan(sdb: ScopedDb, id: number): Promise<void> {
  await mapConstraints(() => sdb.transaction(async (trx) => {
    const before = await ownPlan(trx, id)
    const used = await trx.selectFrom('subscriptions').select('subscriptions.id').where('subscriptions.plan_id', '=', id).limit(1).execute()
    if (used.length) throw new HttpProblem(409, `Subscriptions use plan ${before.code}, so it cannot be removed. Retire it instead.`)
    await trx.deleteFrom('plans').where('plans.id', '=', id).execute()
    await recordAudit(trx, { orgId: before.org_id, action: 'delete', subject: 'Catalog', subjectId: `plan:${id}`, summary: `Plan ${before.code} deleted`, before: planAudit(before) })
  }), PLAN_MESSAGES)
}

function planAudit(row: { code: string; name: string; model: string; currency: string; fixed_fee_minor: string; status: string; description: string }) {
  return { code: row.code, name: row.name, model: row.model, currency: row.currency, fixedFeeMinor: row.fixed_fee_minor, status: row.status, description: row.description }
}
