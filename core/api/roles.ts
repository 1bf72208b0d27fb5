/**
 * JSON API for roles: `/api/v1/roles` (list, one, create, update, delete) and
 * `/api/v1/permissions` (the catalogue a role's permissions come from). Same rules as the Roles
 * pages: they live in core/access/roles.ts and hold for sessions and API tokens alike.
 */
import { Hono, type Context } from 'hono'
import { can } from '../access/ability.ts'
import { ACTIONS } from '../access/catalogue.ts'
import { createRole, deleteRole, managesRole, roleInput, updateRole, visibleRoles, type RoleCaller, type RoleDetail } from '../access/roles.ts'
import type { AppEnv } from '../http/env.ts'
import { idParam, jsonBody, parseInput } from './json.ts'
import { HttpProblem, notFound } from '../http/problem.ts'

export interface RoleJson {
  readonly id: number
  readonly name: string
  readonly description: string
  readonly system: boolean
  readonly systemKey: string | null
  /** The owner organisation; null for system roles and for roles owned outside the caller's subtree (shared with it). */
  readonly ownerOrgId: number | null
  readonly managesAll: boolean
  /** Roles it may hand out, among those the caller can see. */
  readonly managedRoleIds: readonly number[]
  /** `Subject:action` pairs, sorted. */
  readonly permissions: readonly string[]
  /** Users holding it inside the caller's subtree. */
  readonly userCount: number
  /** Whether the caller may give this role to users (and, for a custom role it owns, edit or delete it). */
  readonly manageable: boolean
}

type Ctx = Context<AppEnv>

const callerOf = (c: Ctx): RoleCaller => ({ org: c.var.org, grants: c.var.grants })

/** Every role the caller can see, as JSON. */
async function rolesJson(c: Ctx): Promise<RoleJson[]> {
  const roles = await visibleRoles(c.var.db, c.var.grants)
  const visible = new Set(roles.map((r) => r.id))
  const ownerIds = [...new Set(roles.flatMap((r) => (r.org_id === null ? [] : [r.org_id])))]
  const inScope = new Set(ownerIds.length
    ? (await c.var.db.organisations().select('organisations.id').where('organisations.id', 'in', ownerIds).execute()).map((o) => o.id)
    : [])
  const caller = callerOf(c)
  return roles.map((role: RoleDetail): RoleJson => ({
    id: role.id,
    name: role.name,
    description: role.description,
    system: role.system_key !== null,
    systemKey: role.system_key,
    ownerOrgId: role.org_id !== null && inScope.has(role.org_id) ? role.org_id : null,
    managesAll: role.manages_all,
    managedRoleIds: role.managedRoleIds.filter((id) => visible.has(id)).sort((a, b) => a - b),
    permissions: role.permissions.map((p) => `${p.subject}:${p.action}`).sort(),
    userCount: role.userCount,
    manageable: managesRole(caller, role),
  }))
}

async function roleJson(c: Ctx, id: number): Promise<RoleJson> {
  const role = (await rolesJson(c)).find((r) => r.id === id)
  if (!role) throw notFound('role')
  return role
}

/** The request body checked against `roleInput`: 400 when it is not JSON, 422 with per-field messages when it does not fit. */
async function bodyOf(c: Ctx) {
  return parseInput(roleInput, await jsonBody(c))
}

export function roleApi(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()

  app.get('/permissions', can('read', 'Role'), (c) => c.json({
    actions: ACTIONS,
    subjects: c.var.catalogue.map(({ subject, label, actions }) => ({ subject, label, actions })),
  }))

  app.get('/roles', can('read', 'Role'), async (c) => c.json({ roles: await rolesJson(c) }))

  app.get('/roles/:id', can('read', 'Role'), async (c) => c.json({ role: await roleJson(c, idParam(c, 'role')) }))

  app.post('/roles', can('create', 'Role'), async (c) => {
    const input = await bodyOf(c)
    const role = await createRole(c.var.db, callerOf(c), c.var.catalogue, input)
    c.var.log.info('role created', { roleId: role.id })
    return c.json({ role: await roleJson(c, role.id) }, 201)
  })

  app.put('/roles/:id', can('update', 'Role'), async (c) => {
    const id = idParam(c, 'role')
    await roleJson(c, id) // 404 before any word about the body
    const input = await bodyOf(c)
    await updateRole(c.var.db, callerOf(c), c.var.catalogue, id, input)
    c.var.log.info('role updated', { roleId: id })
    return c.json({ role: await roleJson(c, id) })
  })

  app.delete('/roles/:id', can('delete', 'Role'), async (c) => {
    const id = idParam(c, 'role')
    const raw = c.req.query('reassignTo')
    if (raw !== undefined && raw !== '' && !/^\d{1,10}$/.test(raw)) {
      throw new HttpProblem(422, 'reassignTo must be the id of a role.', { reassignTo: 'Give the id of a role you manage' })
    }
    const { reassigned } = await deleteRole(c.var.db, callerOf(c), id, raw ? Number(raw) : undefined)
    c.var.log.info('role deleted', { roleId: id, reassigned })
    return c.json({ deleted: true, reassigned })
  })

  return app
}
