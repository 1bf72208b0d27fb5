/**
 * The one typed request context. Everything a handler needs is on `c.var`; nothing is looked up
 * by string from a container.
 */
import type { Logger } from '../log.ts'
import type { AppAbility } from '../access/ability.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import type { OrganisationRow } from '../db/schema.ts'
import type { NavEntry } from '../plugins/define.ts'

export interface CurrentUser {
  readonly id: number
  readonly email: string
  readonly name: string
  readonly orgId: number
}

export interface AppVariables {
  readonly requestId: string
  readonly log: Logger
  /** Token for unsafe requests; forms carry it as `_csrf`, htmx and fetch as `X-CSRF-Token`. */
  readonly csrfToken: string
  /** The signed-in user; null on public pages. */
  readonly user: CurrentUser | null
  /** The user's own organisation, the root of everything they may see. */
  readonly org: OrganisationRow
  readonly ability: AppAbility
  /** The database, already limited to the user's subtree. There is no unscoped handle here. */
  readonly db: ScopedDb
  /** Navigation entries of the enabled plugins. */
  readonly nav: readonly NavEntry[]
  /** Whether cookies are `Secure` with the `__Host-` prefix. */
  readonly secureCookies: boolean
}

export interface AppEnv {
  Variables: AppVariables
}
