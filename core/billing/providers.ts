/**
 * Infrastructure providers: capacity pools (CPU, memory, storage) that subscriptions draw on.
 * Owned like the catalog: read from below (a reseller picks one for its customer's
 * subscription), written in the owner's subtree, retired rather than removed once used.
 *
 * @example
 * await createProvider(c.var.db, { name: 'Frankfurt 1', region: 'eu-central', cpuCapacity: '512', memoryGb: '2048', storageGb: '100000', status: 'active' })
 */
import { z } from 'zod'
import { recordAudit } from '../audit/audit.ts'
import { HttpProblem, notFound } from '../http/problem.ts'
import type { ProviderRow } from '../db/schema.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import { decimalField, mapConstraints, nameField, ownedAboveOrAt, ownerInScope, ownerPath } from './catalog-rules.ts'

export const PROVIDER_STATUSES = ['active', 'retired'] as const
export type ProviderStatus = (typeof PROVIDER_STATUSES)[number]

const providerFields = {
  name: nameField,
  region: z.string({ error: 'Use text' }).trim().max(100, 'Use at most 100 characters'),
  cpuCapacity: decimalField('the CPU capacity', 14, 3),
  memoryGb: decimalField('the memory', 14, 3),
  storageGb: decimalField('the storage', 16, 3),
  status: z.enum(PROVIDER_STATUSES, { error: 'Choose active or retired' }),
}
export const providerInput = z.object({
  ...providerFields,
  region: providerFields.region.default(''),
  cpuCapacity: providerFields.cpuCapacity.default('0'),
  memoryGb: providerFields.memoryGb.default('0'),
  storageGb: providerFields.storageGb.default('0'),
  status: providerFields.status.default('active'),
})
export const providerPatch = z.object(providerFields).partial()
export type ProviderInput = z.output<typeof providerInput>
export type ProviderPatch = z.output<typeof providerPatch>

export interface ProviderView {
  readonly id: number
  readonly ownerOrgId: number | null
  readonly inherited: boolean
  readonly name: string
  readonly region: string
  readonly cpuCapacity: string
  readonly memoryGb: string
  readonly storageGb: string
  readonly status: ProviderStatus
}

const MESSAGES = {
  providers_org_name: ['A provider with this name already exists.', { name: 'This name is already in use' }],
  subscriptions_provider_id_fkey: ['Subscriptions use this provider, so it cannot be removed. Retire it instead.'],
} as const

export async function listProviders(sdb: ScopedDb, filter: { status?: ProviderStatus | undefined; usableBy?: string | undefined; ids?: readonly number[] } = {}): Promise<ProviderView[]> {
  let query = sdb.selectShared('providers').selectAll('providers').select(ownerPath('providers').as('owner_path'))
  if (filter.status) query = query.where('providers.status', '=', filter.status)
  if (filter.usableBy) query = query.where(ownedAboveOrAt('providers', filter.usableBy))
  if (filter.ids) query = query.where('providers.id', 'in', filter.ids.length ? [...filter.ids] : [0])
  const rows = await query.orderBy('providers.name').orderBy('providers.id').execute()
  return rows.map((r) => {
    const mine = ownerInScope(sdb, r.owner_path)
    return {
      id: r.id, ownerOrgId: mine ? r.org_id : null, inherited: !mine, name: r.name, region: r.region,
      cpuCapacity: r.cpu_capacity, memoryGb: r.memory_gb, storageGb: r.storage_gb, status: r.status,
    }
  })
}

export async function providerView(sdb: ScopedDb, id: number): Promise<ProviderView> {
  const [found] = await listProviders(sdb, { ids: [id] })
  if (!found) throw notFound('provider')
  return found
}

async function ownProvider(sdb: ScopedDb, id: number) {
  const row = await sdb.selectFrom('providers').selectAll().where('providers.id', '=', id).executeTakeFirst()
  if (!row) throw notFound('provider')
  return row
}

const columns = (p: ProviderPatch) => ({
  ...(p.name !== undefined ? { name: p.name } : {}),
  ...(p.region !== undefined ? { region: p.region } : {}),
  ...(p.cpuCapacity !== undefined ? { cpu_capacity: p.cpuCapacity } : {}),
  ...(p.memoryGb !== undefined ? { memory_gb: p.memoryGb } : {}),
  ...(p.storageGb !== undefined ? { storage_gb: p.storageGb } : {}),
  ...(p.status !== undefined ? { status: p.status } : {}),
})

export async function createProvider(sdb: ScopedDb, input: ProviderInput): Promise<ProviderView> {
  const id = await mapConstraints(() => sdb.transaction(async (trx) => {
    const row = await (await trx.insertInto('providers', { org_id: trx.scope.orgId, name: input.name, ...columns(input) })).returningAll().executeTakeFirstOrThrow() as ProviderRow
    await recordAudit(trx, { orgId: row.org_id, action: 'create', subject: 'Catalog', subjectId: `provider:${row.id}`, summary: `Provider ${row.name} created`, after: audit(row) })
    return row.id
  }), MESSAGES)
  return providerView(sdb, id)
}

export async function updateProvider(sdb: ScopedDb, id: number, patch: ProviderPatch): Promise<ProviderView> {
  await mapConstraints(() => sdb.transaction(async (trx) => {
    const before = await ownProvider(trx, id)
    const after = await trx.updateTable('providers').set({ ...columns(patch), updated_at: new Date() }).where('providers.id', '=', id).returningAll().executeTakeFirstOrThrow()
    await recordAudit(trx, { orgId: after.org_id, action: 'update', subject: 'Catalog', subjectId: `provider:${id}`, summary: `Provider ${after.name} updated`, before: audit(before), after: audit(after) })
  }), MESSAGES)
  return providerView(sdb, id)
}

export async function deleteProvider(sdb: ScopedDb, id: number): Promise<void> {
  await mapConstraints(() => sdb.transaction(async (trx) => {
    const before = await ownProvider(trx, id)
    const used = await trx.selectFrom('subscriptions').select('subscriptions.id').where('subscriptions.provider_id', '=', id).limit(1).execute()
    if (used.length) throw new HttpProblem(409, `Subscriptions use provider ${before.name}, so it cannot be removed. Retire it instead.`)
    await trx.deleteFrom('providers').where('providers.id', '=', id).execute()
    await recordAudit(trx, { orgId: before.org_id, action: 'delete', subject: 'Catalog', subjectId: `provider:${id}`, summary: `Provider ${before.name} deleted`, before: audit(before) })
  }), MESSAGES)
}

function audit(row: { name: string; region: string; cpu_capacity: string; memory_gb: string; storage_gb: string; status: string }) {
  return { name: row.name, region: row.region, cpuCapacity: row.cpu_capacity, memoryGb: row.memory_gb, storageGb: row.storage_gb, status: row.status }
}
