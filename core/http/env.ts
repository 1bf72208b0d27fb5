/**
 * The one typed request context. Everything a handler needs is on `c.var`; nothing is looked up
 * by string from a container.
 */
import type { Settings } from '../../config/settings.ts'
import type { Logger } from '../log.ts'
import type { AppAbility, UserGrants } from '../access/ability.ts'
import type { SubjectEntry } from '../access/catalogue.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import type { OrganisationRow } from '../db/schema.ts'
import type { NavEntry } from '../plugins/define.ts'
import type { ReportRegistry } from '../reports/registry.ts'

export interface CurrentUser {
  readonly id: number
  readonly email: string
  readonly name: string
  readonly orgId: number
  /** How this request signed in: a browser session or an API token. */
  readonly via: 'session' | 'token'
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
  /** The user's roles, permission pairs and delegation, as read for this request. */
  readonly grants: UserGrants
  /** Every subject a role can be granted: the core's and the enabled plugins'. */
  readonly catalogue: readonly SubjectEntry[]
  /** The database, already limited to the user's subtree. There is no unscoped handle here. */
  readonly db: ScopedDb
  /** The reports of the enabled plugins. */
  readonly reports: ReportRegistry
  /** Navigation entries of the enabled plugins. */
  readonly nav: readonly NavEntry[]
  /** Whether cookies are `Secure` with the `__Host-` prefix. */
  readonly secureCookies: boolean
  /** The instance's settings; undefined only for an app built without them (a bare test app): use defaults. */
  readonly settings: Settings | undefined
}

export interface AppEnv {
  Variables: AppVariables
}
