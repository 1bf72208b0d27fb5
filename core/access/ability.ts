/**
 * CASL abilities, from the user's roles as read on every request, in the same statement as the
 * session or API token (no cache of grants: a changed role or a disabled user takes effect on the
 * next request; only the CASL object built from identical grants is reused). The subtree a user
 * may see is not a rule here: the scoped database handle enforces it. Rules say which actions on
 * which subjects, plus a few conditions that hold for everyone (system roles are read-only; nobody
 * edits their own account).
 */
import { createMongoAbility, type MongoAbility, type RawRuleOf } from '@casl/ability'
import type { MiddlewareHandler } from 'hono'
import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { Database } from '../db/schema.ts'
import type { AppEnv } from '../http/env.ts'
import { HttpProblem } from '../http/problem.ts'

export type AppAbility = MongoAbility<[string, string | object]>
export type AppRule = RawRuleOf<AppAbility>

export function abilityFor(rules: AppRule[]): AppAbility {
  return createMongoAbility<AppAbility>(rules)
}

export const NO_ABILITY: AppAbility = abilityFor([])

export interface Grant {
  readonly subject: string
  readonly action: string
}

/** What a user's roles give them: the permission pairs and the roles they may hand out. */
export interface UserGrants {
  readonly roleIds: readonly number[]
  readonly grants: readonly Grant[]
  /** One of the user's roles may manage every role the user can see. */
  readonly managesAll: boolean
  /** Roles listed by the user's roles as manageable (the explicit delegation). */
  readonly managedRoleIds: readonly number[]
}

export const NO_GRANTS: UserGrants = Object.freeze({ roleIds: [], grants: [], managesAll: false, managedRoleIds: [] })

/**
 * The user's roles that are in effect, for the user `userId` whose organisation path is
 * `userPath` (SQL expressions of the outer query), as the condition on `user_roles ur` joined to
 * `roles r` and the role's owner `organisations ro`: system roles, and custom roles owned by the
 * user's organisation or one above it. A custom role works only inside its owner's subtree; after
 * the user's organisation is moved elsewhere, the assignment stays in the table but gives nothing.
 */
function inEffect(userId: RawBuilder<unknown>, userPath: RawBuilder<unknown>) {
  return sql`ur.user_id = ${userId} and (r.org_id is null or ${userPath} like ro.path || '%')`
}

const PERMS = 'grants_perms'
const MANAGES = 'grants_manages'

/** The columns {@link grantsFromColumns} reads. */
export interface GrantColumns {
  readonly grants_perms: unknown
  readonly grants_manages: unknown
}

/**
 * Two columns holding a user's grants, for a user id and that user's organisation path given as
 * SQL expressions of the outer query: the roles in effect with their permission pairs, and the
 * roles they delegate, each one JSON array. Selected beside the session or API token look-up,
 * the grants are read in the same statement as the credential, so both are equally fresh.
 */
export function grantColumns(userId: RawBuilder<unknown>, userPath: RawBuilder<unknown>) {
  return [
    sql<unknown>`(select coalesce(json_agg(json_build_array(r.id, r.manages_all, p.subject, p.action) order by r.id, p.subject, p.action), '[]')
      from user_roles ur join roles r on r.id = ur.role_id left join organisations ro on ro.id = r.org_id
      left join role_permissions p on p.role_id = r.id
      where ${inEffect(userId, userPath)})`.as(PERMS),
    sql<unknown>`(select coalesce(json_agg(m.managed_role_id order by m.managed_role_id), '[]')
      from user_roles ur join roles r on r.id = ur.role_id left join organisations ro on ro.id = r.org_id
      join role_manages m on m.role_id = r.id
      where ${inEffect(userId, userPath)})`.as(MANAGES),
  ] as const
}

const json = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value)

/** The {@link UserGrants} in the columns of {@link grantColumns}. */
export function grantsFromColumns(row: GrantColumns): UserGrants {
  const perms = json(row.grants_perms) as Array<[number, boolean, string | null, string | null]>
  const manages = json(row.grants_manages) as number[]
  const grants = new Map<string, Grant>()
  for (const [, , subject, action] of perms) if (subject && action) grants.set(`${subject}:${action}`, { subject, action })
  return {
    roleIds: [...new Set(perms.map((p) => p[0]))],
    grants: [...grants.values()],
    managesAll: perms.some((p) => p[1]),
    managedRoleIds: [...new Set(manages)],
  }
}

/** Reads the user's roles in effect, their permissions and delegation, in one indexed statement. */
export async function loadGrants(db: Kysely<Database>, userId: number): Promise<UserGrants> {
  const row = await db.selectFrom('users as u')
    .innerJoin('organisations as uo', 'uo.id', 'u.org_id')
    .select(grantColumns(sql.ref('u.id'), sql.ref('uo.path')))
    .where('u.id', '=', userId)
    .executeTakeFirst()
  return row ? grantsFromColumns(row) : NO_GRANTS
}

/** The ability granted by permission pairs alone: used to check that a role asks for no more than its giver holds. */
export function grantAbility(grants: readonly Grant[]): AppAbility {
  return abilityFor(grants.map((g) => ({ action: g.action, subject: g.subject })))
}

/** Abilities by what they are built from; see {@link abilityForUser}. */
const abilities = new Map<string, AppAbility>()
const ABILITY_CACHE_SIZE = 1000

/**
 * The request's ability: the user's grants, then the conditions that hold for everyone.
 * Inverted rules come last so they win over any grant.
 *
 * The grants are read on every request; only the CASL object built from them is reused. It is
 * kept under a key made of everything it is built from (the user id and the permission pairs),
 * so a changed role gives a different key and a new ability on the very next request: there is
 * nothing to invalidate. Callers must not `update()` the ability they get.
 */
export function abilityForUser(userId: number, grants: UserGrants): AppAbility {
  if (grants.grants.length === 0) return NO_ABILITY
  const key = `${userId}|${grants.grants.map((g) => `${g.subject}:${g.action}`).join(',')}`
  const cached = abilities.get(key)
  if (cached) {
    // The key keeps the grants' order (the rules' order); least recently used first: a hit moves to the end.
    abilities.delete(key)
    abilities.set(key, cached)
    return cached
  }
  const ability = abilityFor([
    ...grants.grants.map((g): AppRule => ({ action: g.action, subject: g.subject })),
    { action: ['update', 'delete'], subject: 'Role', conditions: { system: true }, inverted: true, reason: 'System roles are part of the product and cannot be changed.' },
    { action: ['update', 'delete'], subject: 'User', conditions: { id: userId }, inverted: true, reason: 'Your own account is changed by another administrator.' },
  ])
  abilities.set(key, ability)
  if (abilities.size > ABILITY_CACHE_SIZE) abilities.delete(abilities.keys().next().value!)
  return ability
}

/**
 * Route guard: lets the request through when the user may do `action` on `subject`.
 * @example app.get('/', can('read', 'Organisation'), (c) => ...)
 */
export function can(action: string, subject: string): MiddlewareHandler<AppEnv> {
  return async function canMiddleware(c, next) {
    if (!c.var.ability.can(action, subject)) {
      throw new HttpProblem(403, 'You do not have permission to do this.')
    }
    await next()
  }
}
