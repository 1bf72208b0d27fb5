/**
 * CASL abilities. This foundation grants a signed-in administrator everything inside its own
 * subtree (the subtree itself is enforced by the scoped database handle); custom roles replace
 * these rules when the access-control module lands.
 */
import { createMongoAbility, type MongoAbility, type RawRuleOf } from '@casl/ability'
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../http/env.ts'
import { HttpProblem } from '../http/problem.ts'

export type AppAbility = MongoAbility<[string, string]>

export function abilityFor(rules: RawRuleOf<AppAbility>[]): AppAbility {
  return createMongoAbility<AppAbility>(rules)
}

export const NO_ABILITY: AppAbility = abilityFor([])

export function administratorAbility(): AppAbility {
  return abilityFor([{ action: 'manage', subject: 'all' }])
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
