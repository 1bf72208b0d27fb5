/**
 * The catalog's services and meters. Rows are owned by an organisation (normally the operator)
 * and read by its whole subtree through `selectShared`; only the owner's subtree may change them,
 * so every write first finds the row with `selectFrom` (a row owned above is "not found").
 *
 * @example
 * const service = await createService(c.var.db, { code: 'compute', name: 'Compute', category: 'compute', description: '' })
 */
import { z } from 'zod'
import { recordAudit } from '../audit/audit.ts'
import { METER_AGGREGATIONS, SERVICE_CATEGORIES, type MeterAggregation, type MeterRow, type ServiceCategory, type ServiceRow } from '../db/schema.ts'
import { HttpProblem, notFound } from '../http/problem.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import { codeField, descriptionField, idField, mapConstraints, nameField, ownedAboveOrAt, ownerInScope, ownerPath } from './catalog-rules.ts'

export const serviceInput = z.object({
  code: codeField,
  name: nameField,
  category: z.enum(SERVICE_CATEGORIES, { error: `Choose one of ${SERVICE_CATEGORIES.join(', ')}` }),
  description: descriptionField.default(''),
})
export const servicePatch = serviceInput.partial().extend({ description: descriptionField.optional() })
export type ServiceInput = z.output<typeof serviceInput>
export type ServicePatch = z.output<typeof servicePatch>

const unitField = z.string({ error: 'Enter a unit' }).trim().min(1, 'Enter a unit, e.g. GB').max(32, 'Use at most 32 characters')

export const meterInput = z.object({
  serviceId: idField('a service'),
  code: codeField,
  name: nameField,
  unit: unitField,
  aggregation: z.enum(METER_AGGREGATIONS, { error: 'Choose sum, max or last' }),
})
export const meterPatch = meterInput.partial()
export type MeterInput = z.output<typeof meterInput>
export type MeterPatch = z.output<typeof meterPatch>

/** A row seen from the caller: `ownerOrgId` only when the owner is in the caller's subtree. */
interface Owned {
  readonly id: number
  readonly ownerOrgId: number | null
  /** Owned above the caller: read-only here. */
  readonly inherited: boolean
}

export interface ServiceView extends Owned {
  readonly code: string
  readonly name: string
  readonly category: ServiceCategory
  readonly description: string
}

export interface MeterView extends Owned {
  readonly serviceId: number
  readonly code: string
  readonly name: string
  readonly unit: string
  readonly aggregation: MeterAggregation
}

function owned(sdb: ScopedDb, row: { id: number; org_id: number; owner_path: string }): Owned {
  const mine = ownerInScope(sdb, row.owner_path)
  return { id: row.id, ownerOrgId: mine ? row.org_id : null, inherited: !mine }
}

const SERVICE_MESSAGES = {
  services_org_code: ['A service with this code already exists.', { code: 'This code is already in use' }],
  meters_service_id_fkey: ['This service still has meters. Remove or move them first.'],
  discounts_service_id_fkey: ['Discounts refer to this service, so it cannot be removed.'],
} as const
const METER_MESSAGES = {
  meters_org_code: ['A meter with this code already exists.', { code: 'This code is already in use' }],
  plan_prices_meter_id_fkey: ['Plans price this meter. Remove it from their prices first.'],
  usage_events_meter_id_fkey: ['Usage has been recorded for this meter, so it cannot be removed.'],
  discounts_meter_id_fkey: ['Discounts refer to this meter, so it cannot be removed.'],
} as const

// ---- services ------------------------------------------------------------------------------------

export async function listServices(sdb: ScopedDb): Promise<ServiceView[]> {
  const rows = await sdb.selectShared('services')
    .select(['services.id', 'services.org_id', 'services.code', 'services.name', 'services.category', 'services.description', ownerPath('services').as('owner_path')])
    .orderBy('services.name').orderBy('services.id').execute()
  return rows.map((r) => ({ ...owned(sdb, r), code: r.code, name: r.name, category: r.category, description: r.description }))
}

/** A service the caller may read (owned above, at, or below it), or 404. */
export async function serviceView(sdb: ScopedDb, id: number): Promise<ServiceView> {
  const found = (await listServices(sdb)).find((s) => s.id === id)
  if (!found) throw notFound('service')
  return found
}

async function ownService(sdb: ScopedDb, id: number) {
  const row = await sdb.selectFrom('services').selectAll().where('services.id', '=', id).executeTakeFirst()
  if (!row) throw notFound('service')
  return row
}

export async function createService(sdb: ScopedDb, input: ServiceInput): Promise<ServiceView> {
  const row = await mapConstraints(() => sdb.transaction(async (trx) => {
    const created = await (await trx.insertInto('services', { org_id: trx.scope.orgId, ...input })).returningAll().executeTakeFirstOrThrow() as ServiceRow
    await recordAudit(trx, { orgId: created.org_id, action: 'create', subject: 'Catalog', subjectId: `service:${created.id}`, summary: `Service ${created.code} created`, after: serviceAudit(created) })
    return created
  }), SERVICE_MESSAGES)
  return serviceView(sdb, row.id)
}

export async function updateService(sdb: ScopedDb, id: number, patch: ServicePatch): Promise<ServiceView> {
  await mapConstraints(() => sdb.transaction(async (trx) => {
    const before = await ownService(trx, id)
    const after = await trx.updateTable('services').set({ ...patch, updated_at: new Date() }).where('services.id', '=', id).returningAll().executeTakeFirstOrThrow()
    await recordAudit(trx, { orgId: after.org_id, action: 'update', subject: 'Catalog', subjectId: `service:${id}`, summary: `Service ${after.code} updated`, before: serviceAudit(before), after: serviceAudit(after) })
  }), SERVICE_MESSAGES)
  return serviceView(sdb, id)
}

export async function deleteService(sdb: ScopedDb, id: number): Promise<void> {
  await mapConstraints(() => sdb.transaction(async (trx) => {
    const before = await ownService(trx, id)
    const meters = await trx.selectFrom('meters').select('meters.id').where('meters.service_id', '=', id).limit(1).execute()
    if (meters.length) throw new HttpProblem(409, `Service ${before.code} still has meters. Remove or move them first.`)
    await trx.deleteFrom('services').where('services.id', '=', id).execute()
    await recordAudit(trx, { orgId: before.org_id, action: 'delete', subject: 'Catalog', subjectId: `service:${id}`, summary: `Service ${before.code} deleted`, before: serviceAudit(before) })
  }), SERVICE_MESSAGES)
}

function serviceAudit(row: { code: string; name: string; category: string; description: string }) {
  return { code: row.code, name: row.name, category: row.category, description: row.description }
}

// ---- meters --------------------------------------------------------------------------------------

export async function listMeters(sdb: ScopedDb, filter: { serviceId?: number | undefined } = {}): Promise<MeterView[]> {
  let query = sdb.selectShared('meters')
    .select(['meters.id', 'meters.org_id', 'meters.service_id', 'meters.code', 'meters.name', 'meters.unit', 'meters.aggregation', ownerPath('meters').as('owner_path')])
  if (filter.serviceId !== undefined) query = query.where('meters.service_id', '=', filter.serviceId)
  const rows = await query.orderBy('meters.code').orderBy('meters.id').execute()
  return rows.map((r) => ({ ...owned(sdb, r), serviceId: r.service_id, code: r.code, name: r.name, unit: r.unit, aggregation: r.aggregation }))
}

/** Meters an organisation's plans may price: owned by it or one of its ancestors. */
export async function metersUsableBy(sdb: ScopedDb, orgPath: string): Promise<MeterView[]> {
  const rows = await sdb.selectShared('meters')
    .select(['meters.id', 'meters.org_id', 'meters.service_id', 'meters.code', 'meters.name', 'meters.unit', 'meters.aggregation', ownerPath('meters').as('owner_path')])
    .where(ownedAboveOrAt('meters', orgPath))
    .orderBy('meters.code').orderBy('meters.id').execute()
  return rows.map((r) => ({ ...owned(sdb, r), serviceId: r.service_id, code: r.code, name: r.name, unit: r.unit, aggregation: r.aggregation }))
}

export async function meterView(sdb: ScopedDb, id: number): Promise<MeterView> {
  const found = (await listMeters(sdb)).find((m) => m.id === id)
  if (!found) throw notFound('meter')
  return found
}

async function ownMeter(sdb: ScopedDb, id: number) {
  const row = await sdb.selectFrom('meters').selectAll().where('meters.id', '=', id).executeTakeFirst()
  if (!row) throw notFound('meter')
  return row
}

/** The service a meter of `ownerPath` may belong to: owned by that organisation or above it. */
async function usableService(sdb: ScopedDb, serviceId: number, ownerOrgPath: string): Promise<void> {
  const found = await sdb.selectShared('services').select('services.id').where('services.id', '=', serviceId).where(ownedAboveOrAt('services', ownerOrgPath)).executeTakeFirst()
  if (!found) throw new HttpProblem(422, 'Some fields are not valid.', { serviceId: 'Choose a service of the catalog' })
}

/** Whether usage was recorded for the meter (raw events or rollups). */
async function meterHasUsage(sdb: ScopedDb, meterId: number): Promise<boolean> {
  const events = await sdb.selectFrom('usage_events').select('usage_events.id').where('usage_events.meter_id', '=', meterId).limit(1).execute()
  if (events.length) return true
  const rolled = await sdb.selectFrom('usage_monthly').select('usage_monthly.meter_id').where('usage_monthly.meter_id', '=', meterId).limit(1).execute()
  return rolled.length > 0
}

export async function createMeter(sdb: ScopedDb, input: MeterInput): Promise<MeterView> {
  const row = await mapConstraints(() => sdb.transaction(async (trx) => {
    await usableService(trx, input.serviceId, trx.scope.path)
    const { serviceId, ...rest } = input
    const created = await (await trx.insertInto('meters', { org_id: trx.scope.orgId, service_id: serviceId, ...rest })).returningAll().executeTakeFirstOrThrow() as MeterRow
    await recordAudit(trx, { orgId: created.org_id, action: 'create', subject: 'Catalog', subjectId: `meter:${created.id}`, summary: `Meter ${created.code} created`, after: meterAudit(created) })
    return created
  }), METER_MESSAGES)
  return meterView(sdb, row.id)
}

export async function updateMeter(sdb: ScopedDb, id: number, patch: MeterPatch): Promise<MeterView> {
  await mapConstraints(() => sdb.transaction(async (trx) => {
    const before = await ownMeter(trx, id)
    if (patch.serviceId !== undefined && patch.serviceId !== before.service_id) {
      const owner = await trx.organisation(before.org_id)
      await usableService(trx, patch.serviceId, owner!.path)
    }
    if (patch.aggregation !== undefined && patch.aggregation !== before.aggregation && await meterHasUsage(trx, id)) {
      throw new HttpProblem(409, `Usage has been recorded for meter ${before.code}, so its aggregation cannot change: the rollups already hold ${before.aggregation} values. Create a new meter instead.`, { aggregation: 'Cannot change once usage exists' })
    }
    const { serviceId, ...rest } = patch
    const after = await trx.updateTable('meters').set({ ...rest, ...(serviceId !== undefined ? { service_id: serviceId } : {}), updated_at: new Date() })
      .where('meters.id', '=', id).returningAll().executeTakeFirstOrThrow()
    await recordAudit(trx, { orgId: after.org_id, action: 'update', subject: 'Catalog', subjectId: `meter:${id}`, summary: `Meter ${after.code} updated`, before: meterAudit(before), after: meterAudit(after) })
  }), METER_MESSAGES)
  return meterView(sdb, id)
}

export async function deleteMeter(sdb: ScopedDb, id: number): Promise<void> {
  await mapConstraints(() => sdb.transaction(async (trx) => {
    const before = await ownMeter(trx, id)
    const priced = await trx.selectFrom('plan_prices').select('plan_prices.id').where('plan_prices.meter_id', '=', id).limit(1).execute()
    if (priced.length) throw new HttpProblem(409, `Plans price meter ${before.code}. Remove it from their prices first.`)
    if (await meterHasUsage(trx, id)) throw new HttpProblem(409, `Usage has been recorded for meter ${before.code}, so it cannot be removed.`)
    await trx.deleteFrom('meters').where('meters.id', '=', id).execute()
    await recordAudit(trx, { orgId: before.org_id, action: 'delete', subject: 'Catalog', subjectId: `meter:${id}`, summary: `Meter ${before.code} deleted`, before: meterAudit(before) })
  }), METER_MESSAGES)
}

function meterAudit(row: { service_id: number; code: string; name: string; unit: string; aggregation: string }) {
  return { serviceId: row.service_id, code: row.code, name: row.name, unit: row.unit, aggregation: row.aggregation }
}
