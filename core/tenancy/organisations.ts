/**
 * The organisation tree: operator (root) -> resellers (may nest) -> customers. Functions take the
 * caller's scoped handle first; a parent or target outside the scope is "not found".
 */
import { sql, type Kysely, type Transaction } from 'kysely'
import { z } from 'zod'
import type { Database, NewOrganisation, OrganisationKind, OrganisationRow } from '../db/schema.ts'
import { recordAudit } from '../audit/audit.ts'
import { HttpProblem, notFound } from '../http/problem.ts'
import { executorOf, type ScopedDb } from './scoped-db.ts'

const currencyField = z.string().trim().toUpperCase().regex(/^[A-Z]{3}$/, 'Use a three-letter ISO currency code, e.g. EUR')
const statusField = z.enum(['active', 'suspended'], { error: 'Choose active or suspended' })

export const organisationInput = z.object({
  name: z.string().trim().min(1, 'Enter a name').max(200, 'Use at most 200 characters'),
  kind: z.enum(['reseller', 'customer'], { error: 'Choose reseller or customer' }),
  parentId: z.coerce.number({ error: 'Choose a parent organisation' }).int().positive('Choose a parent organisation'),
  billingEmail: z.union([z.literal(''), z.email('Enter a valid email address')]).optional().transform((v) => v || null),
  currency: currencyField.default('EUR'),
  status: statusField.default('active'),
})
export type OrganisationInput = z.output<typeof organisationInput>

/**
 * Fields a caller may change; `parentId` moves the organisation (and its subtree). No defaults:
 * zod 4 applies a default even inside `.partial()`, which would reset an omitted status/currency.
 */
export const organisationPatch = organisationInput.omit({ kind: true }).extend({ currency: currencyField, status: statusField }).partial()
export type OrganisationPatch = z.output<typeof organisationPatch>

const canHaveChildren = (kind: OrganisationKind) => kind !== 'customer'

function pathOf(parentPath: string, id: number): string {
  return `${parentPath}${id}/`
}

export async function createOrganisation(sdb: ScopedDb, input: OrganisationInput): Promise<OrganisationRow> {
  return sdb.transaction(async (trx) => {
    const parent = await trx.organisation(input.parentId)
    if (!parent) throw new HttpProblem(422, 'The parent organisation does not exist, or you cannot see it.', { parentId: 'Choose a parent organisation you manage' })
    if (!canHaveChildren(parent.kind)) throw new HttpProblem(422, `${parent.name} is a customer; customers cannot have organisations under them.`, { parentId: 'Choose a reseller or the operator' })
    const db = executorOf(trx) as Transaction<Database>
    let org: OrganisationRow
    try {
      org = await insertOrganisation(db, parent, { kind: input.kind, name: input.name, status: input.status, billing_email: input.billingEmail, currency: input.currency })
    } catch (error) {
      throw duplicateNameProblem(error, input.name, parent.name)
    }
    await recordAudit(trx, { orgId: org.id, action: 'create', subject: 'Organisation', subjectId: org.id, summary: `${org.kind === 'reseller' ? 'Reseller' : 'Customer'} "${org.name}" created under "${parent.name}"`, after: auditView(org) })
    return org
  })
}

export async function updateOrganisation(sdb: ScopedDb, id: number, patch: OrganisationPatch): Promise<OrganisationRow> {
  return sdb.transaction(async (trx) => {
    const current = await trx.organisation(id)
    if (!current) throw notFound('organisation')
    const db = executorOf(trx) as Transaction<Database>
    let path = current.path
    let parentId = current.parent_id
    if (patch.parentId !== undefined && patch.parentId !== current.parent_id) {
      if (current.id === trx.scope.orgId || current.kind === 'operator') throw new HttpProblem(422, 'Your own organisation cannot be moved.', { parentId: 'Only organisations below yours can be moved' })
      const parent = await trx.organisation(patch.parentId)
      if (!parent) throw new HttpProblem(422, 'The new parent does not exist, or you cannot see it.', { parentId: 'Choose a parent organisation you manage' })
      if (!canHaveChildren(parent.kind)) throw new HttpProblem(422, `${parent.name} is a customer; customers cannot have organisations under them.`, { parentId: 'Choose a reseller or the operator' })
      if (parent.path.startsWith(current.path)) throw new HttpProblem(422, 'An organisation cannot be moved under itself or one of its own.', { parentId: 'Choose a parent outside this organisation' })
      path = pathOf(parent.path, current.id)
      parentId = parent.id
      // Re-root the whole subtree: every descendant's path starts with the old path.
      await db.updateTable('organisations')
        .set({ path: sql`${path} || substr(path, ${current.path.length + 1})`, updated_at: sql`now()` })
        .where('path', 'like', `${current.path}_%`)
        .execute()
    }
    let updated: OrganisationRow
    try {
      updated = await db.updateTable('organisations')
        .set({
          parent_id: parentId,
          path,
          name: patch.name ?? current.name,
          status: patch.status ?? current.status,
          billing_email: patch.billingEmail === undefined ? current.billing_email : patch.billingEmail,
          currency: patch.currency ?? current.currency,
          updated_at: sql`now()`,
        })
        .where('id', '=', current.id)
        .returningAll()
        .executeTakeFirstOrThrow()
    } catch (error) {
      throw duplicateNameProblem(error, patch.name ?? current.name, 'the same parent')
    }
    const moved = updated.parent_id !== current.parent_id
    await recordAudit(trx, {
      orgId: updated.id, action: moved ? 'move' : 'update', subject: 'Organisation', subjectId: updated.id,
      summary: `Organisation "${updated.name}" ${moved ? 'moved' : 'changed'}`, before: auditView(current), after: auditView(updated),
    })
    return updated
  })
}

/** The fields of an organisation the audit log keeps. */
function auditView(org: OrganisationRow) {
  return { name: org.name, kind: org.kind, parentId: org.parent_id, status: org.status, billingEmail: org.billing_email, currency: org.currency }
}

function duplicateNameProblem(error: unknown, name: string, parentName: string): unknown {
  const code = (error as { code?: string }).code
  const message = String((error as Error).message ?? '')
  if (code === '23505' || message.includes('organisations_sibling_name')) {
    return new HttpProblem(409, `An organisation named "${name}" already exists under ${parentName}.`, { name: 'Choose another name' })
  }
  return error
}

/**
 * Core-internal: inserts one organisation under `parent` (or as the root when null), taking its id
 * from the sequence first so the path is right in the same statement.
 */
export async function insertOrganisation(
  db: Kysely<Database>,
  parent: Pick<OrganisationRow, 'id' | 'path'> | null,
  values: Omit<NewOrganisation, 'id' | 'parent_id' | 'path'>,
): Promise<OrganisationRow> {
  const { rows } = await sql<{ id: number }>`select nextval(pg_get_serial_sequence('organisations', 'id'))::int as id`.execute(db)
  const id = rows[0]!.id
  return db.insertInto('organisations')
    .values({ ...values, id, parent_id: parent?.id ?? null, path: parent ? pathOf(parent.path, id) : `/${id}/` })
    .returningAll()
    .executeTakeFirstOrThrow() as Promise<OrganisationRow>
}

/** Creates the operator, the root of the tree (CLI and seed). Fails if one exists. */
export function createOperator(db: Kysely<Database>, name: string, currency = 'EUR'): Promise<OrganisationRow> {
  return insertOrganisation(db, null, { kind: 'operator', name, currency })
}

export interface TreeNode {
  readonly org: OrganisationRow
  readonly depth: number
}

/** The caller's subtree in depth-first order, for an indented tree view. */
export async function organisationTree(sdb: ScopedDb, filter: { search?: string; kind?: OrganisationKind } = {}): Promise<TreeNode[]> {
  let query = sdb.organisations().selectAll()
  if (filter.kind) query = query.where('organisations.kind', '=', filter.kind)
  if (filter.search) query = query.where(sql<boolean>`organisations.name ilike ${'%' + filter.search.replace(/[\\%_]/g, '\\$&') + '%'}`)
  const rows = (await query.execute()) as OrganisationRow[]
  // A filtered list hides parents, so it is flat: by name.
  if (filter.kind || filter.search) {
    return rows.sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id).map((org) => ({ org, depth: 0 }))
  }
  const rootDepth = sdb.scope.path.split('/').length
  // Sort by the chain of names along the path so children follow parents alphabetically.
  const byId = new Map(rows.map((r) => [r.id, r]))
  const keyOf = (org: OrganisationRow) => org.path.split('/').filter(Boolean).map((id) => (byId.get(Number(id))?.name ?? '').toLowerCase() + '\u0000' + id).join('\u0001')
  return rows
    .map((org) => ({ org, depth: org.path.split('/').length - rootDepth, key: keyOf(org) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ org, depth }) => ({ org, depth }))
}

/** Ancestors of an organisation that are inside the caller's scope, root first (breadcrumbs). */
export async function ancestorsInScope(sdb: ScopedDb, org: OrganisationRow): Promise<OrganisationRow[]> {
  const ids = org.path.split('/').filter(Boolean).map(Number).filter((id) => id !== org.id)
  if (ids.length === 0) return []
  const rows = (await sdb.organisations().selectAll().where('organisations.id', 'in', ids).execute()) as OrganisationRow[]
  return rows.sort((a, b) => a.path.length - b.path.length)
}
