/**
 * What providing the catalog costs its owner: per unit of a meter, or per month of a plan. Costs
 * are read with `selectFrom`, never `selectShared`: a reseller sees its own costs and those of
 * its subtree, never the operator's (which are the reseller's purchase prices' margin).
 *
 * @example
 * await replaceCosts(c.var.db, [{ meter: 'vcpu-hours', amount: '0.008', currency: 'EUR' }])
 */
import { z } from 'zod'
import { recordAudit } from '../audit/audit.ts'
import { HttpProblem } from '../http/problem.ts'
import { sql } from 'kysely'
import { executorOf, type ScopedDb } from '../tenancy/scoped-db.ts'
import { currencyField, decimalField, idField, mapConstraints, ownedAboveOrAt } from './catalog-rules.ts'

export const costInput = z.object({
  meterId: idField('a meter').optional(),
  meter: z.string().trim().min(1).max(64).optional(),
  planId: idField('a plan').optional(),
  plan: z.string().trim().min(1).max(64).optional(),
  amount: decimalField('the cost', 20, 6),
  currency: currencyField,
}).refine((c) => [c.meterId ?? c.meter, c.planId ?? c.plan].filter((v) => v !== undefined).length === 1,
  { message: 'Name either a meter or a plan (meterId / meter, or planId / plan)', path: ['meterId'] })
export type CostInput = z.output<typeof costInput>
export const costsInput = z.object({ costs: z.array(costInput, { error: 'Send costs as a list' }).max(1000, 'Use at most 1000 costs') })

export interface CostView {
  readonly id: number
  readonly ownerOrgId: number
  readonly meterId: number | null
  readonly meterCode: string | null
  readonly planId: number | null
  readonly planCode: string | null
  readonly amount: string
  readonly currency: string
}

/** Costs owned in the caller's subtree. `ownerOrgId` narrows to one owner. */
export async function listCosts(sdb: ScopedDb, filter: { ownerOrgId?: number } = {}): Promise<CostView[]> {
  let query = sdb.selectFrom('catalog_costs')
    .leftJoin('meters', 'meters.id', 'catalog_costs.meter_id')
    .leftJoin('plans', 'plans.id', 'catalog_costs.plan_id')
    .select(['catalog_costs.id', 'catalog_costs.org_id', 'catalog_costs.meter_id', 'catalog_costs.plan_id', 'catalog_costs.amount', 'catalog_costs.currency',
      'meters.code as meter_code', 'plans.code as plan_code'])
  if (filter.ownerOrgId !== undefined) query = query.where('catalog_costs.org_id', '=', filter.ownerOrgId)
  const rows = await query.orderBy('catalog_costs.org_id').orderBy('meters.code').orderBy('plans.code').execute()
  return rows.map((r) => ({
    id: r.id, ownerOrgId: r.org_id, meterId: r.meter_id, meterCode: r.meter_code, planId: r.plan_id, planCode: r.plan_code, amount: r.amount, currency: r.currency,
  }))
}

/**
 * Replaces the costs owned by the caller's organisation with `costs` (a PUT of the whole set).
 * Meters and plans must be ones the caller's organisation may use (owned by it or above it).
 */
export async function replaceCosts(sdb: ScopedDb, costs: readonly CostInput[]): Promise<CostView[]> {
  await mapConstraints(() => sdb.transaction(async (trx) => {
    const orgId = trx.scope.orgId
    const meters = await trx.selectShared('meters').select(['meters.id', 'meters.code', 'meters.org_id']).where(ownedAboveOrAt('meters', trx.scope.path)).execute()
    const plans = await trx.selectShared('plans').select(['plans.id', 'plans.code']).where(ownedAboveOrAt('plans', trx.scope.path)).execute()
    const rows = costs.map((c, index) => {
      const meter = c.meterId !== undefined ? meters.find((m) => m.id === c.meterId) : c.meter !== undefined ? meters.filter((m) => m.code === c.meter).at(-1) : undefined
      const plan = c.planId !== undefined ? plans.find((p) => p.id === c.planId) : c.plan !== undefined ? plans.filter((p) => p.code === c.plan).at(-1) : undefined
      if (!meter && !plan) throw new HttpProblem(422, `Cost ${index + 1} names a meter or plan that does not exist in this catalog.`, { costs: `Unknown meter or plan in cost ${index + 1}` })
      return { org_id: orgId, meter_id: meter?.id ?? null, plan_id: plan?.id ?? null, amount: c.amount, currency: c.currency }
    })
    const keys = rows.map((r) => (r.meter_id !== null ? `m${r.meter_id}` : `p${r.plan_id}`))
    const twice = keys.findIndex((k, i) => keys.indexOf(k) !== i)
    if (twice >= 0) throw new HttpProblem(422, `Cost ${twice + 1} repeats a meter or plan already costed.`, { costs: `Cost ${twice + 1} is a duplicate` })
    const before = await listCosts(trx, { ownerOrgId: orgId })
    await trx.deleteFrom('catalog_costs').where('catalog_costs.org_id', '=', orgId).execute()
    if (rows.length) await (await trx.insertInto('catalog_costs', rows)).execute()
    const after = await listCosts(trx, { ownerOrgId: orgId })
    await recordAudit(trx, {
      orgId, action: 'update', subject: 'Catalog', subjectId: 'costs', summary: `Catalog costs set (${rows.length})`,
      before: before.map(costAudit), after: after.map(costAudit),
    })
  }), {})
  // A catalog has a few dozen costs: far below autovacuum's analyze threshold, so without this the
  // planner guesses the table's size and picks nested loops for the cost report's joins.
  await sql`analyze catalog_costs`.execute(executorOf(sdb))
  return listCosts(sdb, { ownerOrgId: sdb.scope.orgId })
}

function costAudit(c: CostView) {
  return { meter: c.meterCode, plan: c.planCode, amount: c.amount, currency: c.currency }
}
