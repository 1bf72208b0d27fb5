/**
 * Roles and delegation. A role belongs to an organisation (or is a system role, shipped with the
 * product) and holds permission pairs plus the roles it may manage: all of them, or a list.
 *
 * The rules, enforced here on the server whatever a form sends:
 * - you see system roles, roles owned in your subtree, and roles your roles list as managed (when
 *   owned by your organisation or one above it: only those can be given in your subtree);
 * - you manage (assign, edit, delete) a role only if one of your roles manages it (all, or by
 *   name), and only if it grants nothing you do not hold yourself: no escalation;
 * - a new or edited role asks for nothing you do not hold, and manages only roles you manage;
 * - a custom role is used only inside its owner's subtree; Super Administrator only in the operator.
 */
import { sql, type ExpressionBuilder, type Kysely, type Transaction } from 'kysely'
import { z } from 'zod'
import type { Database, OrganisationRow, RoleRow } from '../db/schema.ts'
import { recordAudit } from '../audit/audit.ts'
import { HttpProblem, notFound } from '../http/problem.ts'
import { executorOf, type ScopedDb } from '../tenancy/scoped-db.ts'
import { grantAbility, type Grant, type UserGrants } from './ability.ts'
import { isGrantable, type SubjectEntry } from './catalogue.ts'

export interface RoleDetail extends RoleRow {
  readonly permissions: readonly Grant[]
  readonly managedRoleIds: readonly number[]
  /** Users holding the role, counted inside the caller's subtree only. */
  readonly userCount: number
}

/** Who is asking: their organisation and what their roles give them. */
export interface RoleCaller {
  readonly org: OrganisationRow
  readonly grants: UserGrants
}

const SUPER_ADMIN = 'super_admin'

function unscoped(sdb: ScopedDb<any>): Kysely<Database> {
  return executorOf(sdb) as Kysely<Database>
}

/**
 * Which roles the caller can see: system roles, roles owned in its subtree, and roles its roles
 * list as managed, but those only where they can be given (owned by the caller's organisation or
 * one above it): one owned by a sibling could never be assigned here, so naming it would only leak it.
 */
function visible(sdb: ScopedDb<any>, grants: UserGrants) {
  const explicit = grants.managedRoleIds.length ? grants.managedRoleIds : [0]
  return (eb: ExpressionBuilder<Database, 'roles'>) => eb.or([
    eb('roles.org_id', 'is', null),
    eb('roles.org_id', 'in', eb.selectFrom('organisations').select('id').where('path', 'like', sdb.pathPattern)),
    eb.and([
      eb('roles.id', 'in', explicit),
      eb('roles.org_id', 'in', eb.selectFrom('organisations').select('id').where(sql<boolean>`${sdb.scope.path} like path || '%'`)),
    ]),
  ])
}

/** The ids among `ids` of roles the caller can see (as {@link visibleRoles} would list them). */
export async function visibleRoleIds(sdb: ScopedDb<any>, grants: UserGrants, ids: readonly number[]): Promise<Set<number>> {
  const wanted = ids.filter((id) => Number.isSafeInteger(id) && id > 0 && id <= 2_147_483_647)
  if (wanted.length === 0) return new Set()
  const rows = await unscoped(sdb).selectFrom('roles').select('roles.id').where('roles.id', 'in', wanted).where(visible(sdb, grants)).execute()
  return new Set(rows.map((r) => r.id))
}

/** Roles the caller can see, as full rows with permissions, delegation and (scoped) user counts, by name. */
export async function visibleRoles(sdb: ScopedDb<any>, grants: UserGrants): Promise<RoleDetail[]> {
  const roles = await unscoped(sdb).selectFrom('roles')
    .selectAll()
    .where(visible(sdb, grants))
    .orderBy(sql`system_key is null`).orderBy(sql`lower(name)`)
    .execute()
  return withDetails(sdb, roles)
}

async function withDetails(sdb: ScopedDb<any>, roles: RoleRow[]): Promise<RoleDetail[]> {
  if (roles.length === 0) return []
  const db = unscoped(sdb)
  const ids = roles.map((r) => r.id)
  const [perms, manages, counts] = await Promise.all([
    db.selectFrom('role_permissions').select(['role_id', 'subject', 'action']).where('role_id', 'in', ids).execute(),
    db.selectFrom('role_manages').select(['role_id', 'managed_role_id']).where('role_id', 'in', ids).execute(),
    db.selectFrom('user_roles as ur').innerJoin('users as u', 'u.id', 'ur.user_id').innerJoin('organisations as o', 'o.id', 'u.org_id')
      .select(['ur.role_id', sql<string>`count(*)`.as('count')])
      .where('ur.role_id', 'in', ids).where('o.path', 'like', sdb.pathPattern)
      .groupBy('ur.role_id').execute(),
  ])
  return roles.map((role) => ({
    ...role,
    permissions: perms.filter((p) => p.role_id === role.id).map(({ subject, action }) => ({ subject, action })),
    managedRoleIds: manages.filter((m) => m.role_id === role.id).map((m) => m.managed_role_id),
    userCount: Number(counts.find((c) => c.role_id === role.id)?.count ?? 0),
  }))
}

/** One role the caller can see, or undefined (answer 404). */
export async function visibleRole(sdb: ScopedDb<any>, grants: UserGrants, id: number): Promise<RoleDetail | undefined> {
  if (!Number.isSafeInteger(id) || id <= 0 || id > 2_147_483_647) return undefined
  const role = await unscoped(sdb).selectFrom('roles').selectAll().where('roles.id', '=', id).where(visible(sdb, grants)).executeTakeFirst()
  return role ? (await withDetails(sdb, [role]))[0] : undefined
}

/** Permission pairs of `role` the caller does not hold itself (empty: no escalation). */
export function exceedingGrants(caller: UserGrants, permissions: readonly Grant[]): Grant[] {
  const holds = grantAbility(caller.grants)
  return permissions.filter((p) => !holds.can(p.action, p.subject))
}

/** Whether the caller may hand out, edit or delete `role`. */
export function managesRole(caller: RoleCaller, role: RoleDetail): boolean {
  if (role.system_key === SUPER_ADMIN && caller.org.parent_id !== null) return false
  const delegated = caller.grants.managesAll || caller.grants.managedRoleIds.includes(role.id)
  return delegated && exceedingGrants(caller.grants, role.permissions).length === 0
}

/** The roles the caller may assign (from the roles it can see). */
export async function manageableRoles(sdb: ScopedDb<any>, caller: RoleCaller): Promise<RoleDetail[]> {
  return (await visibleRoles(sdb, caller.grants)).filter((role) => managesRole(caller, role))
}

// ---- input ------------------------------------------------------------------------------------

const permissionPair = z.string().regex(/^([A-Z][A-Za-z0-9]*|all):[a-z][a-z-]*$/, 'A permission is written Subject:action')

/** A role as a form or the JSON API sends it. `permissions` are `Subject:action` strings. */
export const roleInput = z.object({
  name: z.string().trim().min(1, 'Enter a name').max(100, 'Use at most 100 characters'),
  description: z.string().trim().max(1000, 'Use at most 1000 characters').default(''),
  permissions: z.array(permissionPair).max(500).default([]),
  manages: z.enum(['all', 'list'], { error: 'Choose "manage all roles" or a list' }).default('list'),
  managedRoleIds: z.array(z.coerce.number().int().positive()).max(500).default([]),
})
export type RoleInput = z.output<typeof roleInput>

function toGrants(pairs: readonly string[]): Grant[] {
  const unique = new Set(pairs)
  return [...unique].map((pair) => {
    const [subject, action] = pair.split(':') as [string, string]
    return { subject, action }
  })
}

/** Checks a role's content against the catalogue and the caller's own grants; throws the problem to show. */
async function checkRoleContent(sdb: ScopedDb<any>, caller: RoleCaller, catalogue: readonly SubjectEntry[], input: RoleInput, selfId?: number): Promise<Grant[]> {
  const permissions = toGrants(input.permissions)
  const unknown = permissions.filter((p) => !isGrantable(catalogue, p.subject, p.action))
  if (unknown.length) throw new HttpProblem(422, `Unknown permission ${unknown.map((p) => `${p.subject}:${p.action}`).join(', ')}.`, { permissions: 'Choose permissions from the matrix' })
  const exceeding = exceedingGrants(caller.grants, permissions)
  if (exceeding.length) {
    throw new HttpProblem(403, `You cannot grant what you do not hold: ${exceeding.map((p) => `${p.action} ${p.subject}`).join(', ')}.`, { permissions: 'Remove the permissions you do not hold' })
  }
  if (input.manages === 'all' && !caller.grants.managesAll) {
    throw new HttpProblem(403, 'Only an administrator who manages all roles can make a role that manages all roles.', { manages: 'Choose a list of roles' })
  }
  if (input.manages === 'list' && input.managedRoleIds.length) {
    const manageable = new Set((await manageableRoles(sdb, caller)).map((r) => r.id))
    if (selfId !== undefined) manageable.add(selfId)
    const outside = input.managedRoleIds.filter((id) => !manageable.has(id))
    if (outside.length) throw new HttpProblem(403, 'A role can only manage roles you manage yourself.', { managedRoleIds: 'Choose among the roles you manage' })
  }
  return permissions
}

function duplicateName(error: unknown, name: string): unknown {
  const code = (error as { code?: string }).code
  if (code === '23505' || String((error as Error).message).includes('roles_name')) {
    return new HttpProblem(409, `A role named "${name}" already exists.`, { name: 'Choose another name' })
  }
  return error
}

async function writeContent(db: Transaction<Database> | Kysely<Database>, roleId: number, permissions: readonly Grant[], input: RoleInput): Promise<void> {
  await db.deleteFrom('role_permissions').where('role_id', '=', roleId).execute()
  await db.deleteFrom('role_manages').where('role_id', '=', roleId).execute()
  if (permissions.length) await db.insertInto('role_permissions').values(permissions.map((p) => ({ role_id: roleId, ...p }))).execute()
  const managed = input.manages === 'list' ? [...new Set(input.managedRoleIds)] : []
  if (managed.length) await db.insertInto('role_manages').values(managed.map((id) => ({ role_id: roleId, managed_role_id: id }))).execute()
}

function snapshot(role: Pick<RoleRow, 'name' | 'description' | 'manages_all'>, permissions: readonly Grant[], managedRoleIds: readonly number[]) {
  return {
    name: role.name, description: role.description, managesAll: role.manages_all,
    permissions: permissions.map((p) => `${p.subject}:${p.action}`).sort(), managedRoleIds: [...managedRoleIds].sort((a, b) => a - b),
  }
}

/** Creates a custom role owned by the caller's organisation. */
export async function createRole(sdb: ScopedDb<any>, caller: RoleCaller, catalogue: readonly SubjectEntry[], input: RoleInput): Promise<RoleRow> {
  const permissions = await checkRoleContent(sdb, caller, catalogue, input)
  return sdb.transaction(async (trx) => {
    const db = unscoped(trx)
    let role: RoleRow
    try {
      role = await db.insertInto('roles')
        .values({ org_id: caller.org.id, name: input.name, description: input.description, manages_all: input.manages === 'all' })
        .returningAll().executeTakeFirstOrThrow()
    } catch (error) {
      throw duplicateName(error, input.name)
    }
    await writeContent(db, role.id, permissions, input)
    await recordAudit(trx, {
      orgId: caller.org.id, action: 'create', subject: 'Role', subjectId: role.id, summary: `Role "${role.name}" created`,
      after: snapshot(role, permissions, input.manages === 'list' ? input.managedRoleIds : []),
    })
    return role
  })
}

/**
 * Why the caller may not edit or delete `role`, or undefined when it may. `ownedInScope` says
 * whether the role's owner organisation is in the caller's subtree (pages know it already).
 */
export function changeRefusal(caller: RoleCaller, role: RoleDetail, ownedInScope: boolean): string | undefined {
  if (role.system_key) return 'System roles are part of the product and cannot be changed.'
  if (!ownedInScope) return 'This role is shared with you by an organisation above yours; only it can change the role.'
  if (!managesRole(caller, role)) return 'You do not manage this role.'
  return undefined
}

/** A custom role the caller may change: visible, owned in scope, not a system role, and managed by the caller. */
async function changeableRole(sdb: ScopedDb<any>, caller: RoleCaller, id: number): Promise<RoleDetail> {
  const role = await visibleRole(sdb, caller.grants, id)
  if (!role) throw notFound('role')
  const owned = role.org_id === null ? undefined : await sdb.organisation(role.org_id)
  const refusal = changeRefusal(caller, role, owned !== undefined)
  if (refusal) throw new HttpProblem(403, refusal)
  return role
}

export async function updateRole(sdb: ScopedDb<any>, caller: RoleCaller, catalogue: readonly SubjectEntry[], id: number, input: RoleInput): Promise<RoleRow> {
  const current = await changeableRole(sdb, caller, id)
  const permissions = await checkRoleContent(sdb, caller, catalogue, input, id)
  return sdb.transaction(async (trx) => {
    const db = unscoped(trx)
    let role: RoleRow
    try {
      role = await db.updateTable('roles')
        .set({ name: input.name, description: input.description, manages_all: input.manages === 'all', updated_at: sql`now()` })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    } catch (error) {
      throw duplicateName(error, input.name)
    }
    await writeContent(db, id, permissions, input)
    await recordAudit(trx, {
      orgId: current.org_id!, action: 'update', subject: 'Role', subjectId: id, summary: `Role "${role.name}" changed`,
      before: snapshot(current, current.permissions, current.managedRoleIds),
      after: snapshot(role, permissions, input.manages === 'list' ? input.managedRoleIds : []),
    })
    return role
  })
}

/**
 * Deletes a custom role. While users hold it, `reassignTo` must name another role the caller
 * manages; those users get it instead, in the same transaction.
 */
export async function deleteRole(sdb: ScopedDb<any>, caller: RoleCaller, id: number, reassignTo?: number): Promise<{ reassigned: number }> {
  const role = await changeableRole(sdb, caller, id)
  return sdb.transaction(async (trx) => {
    const db = unscoped(trx)
    // Locked first: an assignment made meanwhile is then either among the holders below, or waits
    // and fails on the deleted role; it is never dropped unseen.
    await db.selectFrom('roles').select('id').where('id', '=', id).forUpdate().execute()
    // Holders in the caller's subtree. The role's owner is in that subtree and a custom role works
    // only inside its owner's subtree, so an assignment outside it (left by a moved organisation)
    // gives nothing: it goes with the role, and is neither counted, named nor reassigned.
    const holders = await db.selectFrom('user_roles as ur').innerJoin('users as u', 'u.id', 'ur.user_id').innerJoin('organisations as o', 'o.id', 'u.org_id')
      .select(['ur.user_id', 'o.path', 'o.parent_id']).where('ur.role_id', '=', id).where('o.path', 'like', trx.pathPattern).execute()
    if (holders.length && reassignTo === undefined) {
      throw new HttpProblem(409, `${holders.length} user${holders.length === 1 ? ' holds' : 's hold'} this role. Choose a role to give them instead, or remove it from them first.`, { reassignTo: 'Choose a role for its users' })
    }
    if (holders.length && reassignTo !== undefined) {
      const target = reassignTo === id ? undefined : await visibleRole(trx, caller.grants, reassignTo)
      if (!target || !managesRole(caller, target)) throw new HttpProblem(422, 'Choose a different role that you manage.', { reassignTo: 'Choose a role you manage' })
      // The same limits as assigning by hand (setUserRoles): Super Administrator stays in the
      // operator, and a custom role stays inside its owner's subtree.
      const owners = await ownerPaths(db, [target])
      if (holders.some((holder) => !roleFits(target, holder, owners))) {
        throw new HttpProblem(422, `"${target.name}" cannot be given to every user of this role: it is not available in their organisation.`, { reassignTo: 'Choose a role available to all its users' })
      }
      await db.insertInto('user_roles')
        .columns(['user_id', 'role_id'])
        .expression((eb) => eb.selectFrom('user_roles').select(['user_id', eb.val(reassignTo).as('role_id')])
          .where('role_id', '=', id)
          .where('user_id', 'in', eb.selectFrom('users as u').innerJoin('organisations as o', 'o.id', 'u.org_id').select('u.id').where('o.path', 'like', trx.pathPattern)))
        .onConflict((oc) => oc.doNothing())
        .execute()
    }
    await db.deleteFrom('user_roles').where('role_id', '=', id).execute()
    await db.deleteFrom('roles').where('id', '=', id).execute()
    await recordAudit(trx, {
      orgId: role.org_id!, action: 'delete', subject: 'Role', subjectId: id,
      summary: `Role "${role.name}" deleted${holders.length ? `; its ${holders.length} user(s) now hold another role` : ''}`,
      before: snapshot(role, role.permissions, role.managedRoleIds),
      ...(holders.length ? { after: { reassignedTo: reassignTo, users: holders.map((h) => h.user_id) } } : {}),
    })
    return { reassigned: holders.length }
  })
}

/** Paths of the organisations owning `roles` (custom roles only), by organisation id. */
async function ownerPaths(db: Kysely<Database>, roles: readonly Pick<RoleRow, 'org_id'>[]): Promise<Map<number, string>> {
  const ids = [...new Set(roles.flatMap((r) => (r.org_id === null ? [] : [r.org_id])))]
  if (ids.length === 0) return new Map()
  const rows = await db.selectFrom('organisations').select(['id', 'path']).where('id', 'in', ids).execute()
  return new Map(rows.map((r) => [r.id, r.path]))
}

/** Whether `role` may be held in `org`: Super Administrator only in the operator, a custom role only inside its owner's subtree. */
function roleFits(role: Pick<RoleRow, 'system_key' | 'org_id'>, org: Pick<OrganisationRow, 'path' | 'parent_id'>, owners: ReadonlyMap<number, string>): boolean {
  if (role.system_key === SUPER_ADMIN) return org.parent_id === null
  if (role.org_id === null) return true
  const owner = owners.get(role.org_id)
  return owner !== undefined && org.path.startsWith(owner)
}

/**
 * Sets which of the roles the caller manages `user` holds. Roles the user holds that the caller
 * does not manage are kept as they are; asking for a role outside the managed set is refused.
 * Call inside the transaction that audits the change.
 */
export async function setUserRoles(
  sdb: ScopedDb<any>, caller: RoleCaller, user: { id: number; org_id: number }, roleIds: readonly number[],
): Promise<{ added: number[]; removed: number[] }> {
  const db = unscoped(sdb)
  const manageable = await manageableRoles(sdb, caller)
  const byId = new Map(manageable.map((r) => [r.id, r]))
  const wanted = [...new Set(roleIds)]
  const outside = wanted.filter((id) => !byId.has(id))
  if (outside.length) throw new HttpProblem(403, 'You can only give roles you manage.', { roleIds: 'Choose among the roles you manage' })
  const userOrg = await sdb.organisation(user.org_id)
  if (!userOrg) throw notFound('user')
  const owners = await ownerPaths(db, wanted.map((id) => byId.get(id)!))
  for (const id of wanted) {
    const role = byId.get(id)!
    if (roleFits(role, userOrg, owners)) continue
    throw role.system_key === SUPER_ADMIN
      ? new HttpProblem(422, 'Super Administrator is for the operator’s own users.', { roleIds: 'Choose another role' })
      : new HttpProblem(422, `The role "${role.name}" can only be given inside the organisation that owns it.`, { roleIds: 'Choose another role' })
  }
  const held = (await db.selectFrom('user_roles').select('role_id').where('user_id', '=', user.id).execute()).map((r) => r.role_id)
  const added = wanted.filter((id) => !held.includes(id))
  const removed = held.filter((id) => byId.has(id) && !wanted.includes(id))
  if (added.length) await db.insertInto('user_roles').values(added.map((role_id) => ({ user_id: user.id, role_id }))).execute()
  if (removed.length) await db.deleteFrom('user_roles').where('user_id', '=', user.id).where('role_id', 'in', removed).execute()
  return { added, removed }
}

/** True when the caller manages every role `userId` holds: needed to disable them, reset their password or edit them. */
export async function managesAllRolesOf(sdb: ScopedDb<any>, caller: RoleCaller, userId: number): Promise<boolean> {
  const held = (await unscoped(sdb).selectFrom('user_roles').select('role_id').where('user_id', '=', userId).execute()).map((r) => r.role_id)
  if (held.length === 0) return true
  const manageable = new Set((await manageableRoles(sdb, caller)).map((r) => r.id))
  return held.every((id) => manageable.has(id))
}

export type SystemRoleKey = 'super_admin' | 'reseller_admin' | 'customer_admin' | 'auditor'

/** The administrator role that fits an organisation's kind (first users, the CLI, seeds). */
export function adminRoleFor(kind: OrganisationRow['kind']): SystemRoleKey {
  return kind === 'operator' ? 'super_admin' : kind === 'reseller' ? 'reseller_admin' : 'customer_admin'
}

/** Core-internal: gives users a system role, unscoped (CLI, seeds, tests' fixtures). */
export async function grantSystemRole(db: Kysely<Database>, userIds: readonly number[], key: SystemRoleKey): Promise<void> {
  if (userIds.length === 0) return
  await db.insertInto('user_roles')
    .columns(['user_id', 'role_id'])
    .expression((eb) => eb.selectFrom('roles').select([sql<number>`unnest(${sql.val([...userIds])}::int[])`.as('user_id'), 'id']).where('system_key', '=', key))
    .onConflict((oc) => oc.doNothing())
    .execute()
}
