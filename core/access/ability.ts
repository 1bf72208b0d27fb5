/**
 * CASL abilities, built on every request from the user's roles (no cache: a changed role or a
 * disabled user takes effect on the next request). The subtree a user may see is not a rule here:
 * the scoped database handle enforces it. Rules say which actions on which subjects, plus a few
 * conditions that hold for everyone (system roles are read-only; nobody edits their own account).
 */
import { createMongoAbility, type MongoAbility, type RawRuleOf } from '@casl/ability'
import type { MiddlewareHandler } from 'hono'
import { sql, type Kysely } from 'kysely'
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
 * The user's roles that are in effect: system roles, and custom roles owned by the user's
 * organisation or one above it. A custom role works only inside its owner's subtree; after the
 * user's organisation is moved elsewhere, the assignment stays in the table but gives nothing.
 */
function rolesInEffect(db: Kysely<Database>, userId: number) {
  return db.selectFrom('user_roles as ur')
    .innerJoin('roles as r', 'r.id', 'ur.role_id')
    .innerJoin('users as u', 'u.id', 'ur.user_id')
    .innerJoin('organisations as uo', 'uo.id', 'u.org_id')
    .leftJoin('organisations as ro', 'ro.id', 'r.org_id')
    .select('ur.role_id')
    .where('ur.user_id', '=', userId)
    .where(sql<boolean>`(r.org_id is null or uo.path like ro.path || '%')`)
}

/** Reads the user's roles in effect, their permissions and delegation: two small indexed queries. */
export async function loadGrants(db: Kysely<Database>, userId: number): Promise<UserGrants> {
  const [perms, manages] = await Promise.all([
    db.selectFrom('roles as r')
      .leftJoin('role_permissions as p', 'p.role_id', 'r.id')
      .select(['r.id', 'r.manages_all', 'p.subject', 'p.action'])
      .where('r.id', 'in', rolesInEffect(db, userId))
      .execute(),
    db.selectFrom('role_manages as m')
      .select('m.managed_role_id')
      .where('m.role_id', 'in', rolesInEffect(db, userId))
      .execute(),
  ])
  const grants = new Map<string, Grant>()
  for (const p of perms) if (p.subject && p.action) grants.set(`${p.subject}:${p.action}`, { subject: p.subject, action: p.action })
  return {
    roleIds: [...new Set(perms.map((p) => p.id))],
    grants: [...grants.values()],
    managesAll: perms.some((p) => p.manages_all),
    managedRoleIds: [...new Set(manages.map((m) => m.managed_role_id))],
  }
}

/** The ability granted by permission pairs alone: used to check that a role asks for no more than its giver holds. */
export function grantAbility(grants: readonly Grant[]): AppAbility {
  return abilityFor(grants.map((g) => ({ action: g.action, subject: g.subject })))
}

/**
 * The request's ability: the user's grants, then the conditions that hold for everyone.
 * Inverted rules come last so they win over any grant.
 */
export function abilityForUser(userId: number, grants: UserGrants): AppAbility {
  if (grants.grants.length === 0) return NO_ABILITY
  return abilityFor([
    ...grants.grants.map((g): AppRule => ({ action: g.action, subject: g.subject })),
    { action: ['update', 'delete'], subject: 'Role', conditions: { system: true }, inverted: true, reason: 'System roles are part of the product and cannot be changed.' },
    { action: ['update', 'delete'], subject: 'User', conditions: { id: userId }, inverted: true, reason: 'Your own account is changed by another administrator.' },
  ])
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
