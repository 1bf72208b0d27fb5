/**
 * Builds the Hono application: security headers, request ids and logs, static assets, health
 * endpoints, sessions and CSRF, sign-in, the dashboard, and every enabled plugin mounted under its
 * own prefix. No socket here: tests call `app.request()`, `core/server.ts` serves it.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Hono, type Context } from 'hono'
import { getCookie } from 'hono/cookie'
import { requestId } from 'hono/request-id'
import { secureHeaders } from 'hono/secure-headers'
import { bodyLimit } from 'hono/body-limit'
import { sql, type Kysely } from 'kysely'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { PgBoss } from 'pg-boss'
import type { Settings } from '../config/settings.ts'
import { abilityForUser, NO_ABILITY, NO_GRANTS } from './access/ability.ts'
import { auditApi } from './api/audit.ts'
import { billingApi } from './api/billing.ts'
import { catalogApi } from './api/catalog.ts'
import { creditApi } from './api/credits.ts'
import { organisationApi } from './api/organisations.ts'
import { roleApi } from './api/roles.ts'
import { subscriptionApi } from './api/subscriptions.ts'
import { usageApi } from './api/usage.ts'
import { userApi } from './api/users.ts'
import { permissionCatalogue } from './access/catalogue.ts'
import { tokenFor, verifyCsrf } from './auth/csrf.ts'
import { authRoutes, safeNext, type AuthRoutesOptions } from './auth/routes.tsx'
import { RUN_NOTICE_PATH } from './reports/run-notice.tsx'
import { findSession, sessionCookieName } from './auth/sessions.ts'
import { bearerToken, findApiToken } from './auth/tokens.ts'
import type { Database } from './db/schema.ts'
import { pendingMigrations, type MigrationSet } from './db/migrate.ts'
import type { AppEnv } from './http/env.ts'
import { dashboardRoutes } from './http/dashboard.tsx'
import { handleError, renderProblem, wantsJson } from './http/errors.tsx'
import { bindFlashSecret } from './http/render.tsx'
import type { Logger } from './log.ts'
import type { NavEntry, PluginDefinition } from './plugins/define.ts'
import { ScopedDb } from './tenancy/scoped-db.ts'
import { ReportRegistry } from './reports/registry.ts'
import { reportApi } from './api/reports.ts'
import { reportRunApi } from './api/report-runs.ts'
import { reportPageRoutes } from './reports/routes.tsx'
import { reportRunRoutes } from './reports/run-routes.tsx'

export interface CreateAppOptions {
  readonly db: Kysely<Database>
  readonly boss?: PgBoss
  /** Enabled plugins, already ordered by {@link resolvePlugins}. */
  readonly plugins: readonly PluginDefinition[]
  readonly migrations: readonly MigrationSet[]
  readonly secret: string
  readonly log: Logger
  /** True when the portal is served over https: `__Host-` Secure cookies. */
  readonly secureCookies: boolean
  /** The address users reach the portal at (PUBLIC_URL), trusted as a same-origin `Origin`. */
  readonly publicUrl?: string | undefined
  readonly throttle?: AuthRoutesOptions['throttle']
  /** The instance's settings, for handlers that read one (the usage time window). */
  readonly settings?: Settings
}

const require = createRequire(import.meta.url)
const ASSETS: Record<string, { body: string; type: string }> = {
  'htmx.js': { body: readFileSync(require.resolve('htmx.org/dist/htmx.min.js'), 'utf8'), type: 'text/javascript; charset=utf-8' },
  'app.js': { body: readFileSync(new URL('../views/assets/app.js', import.meta.url), 'utf8'), type: 'text/javascript; charset=utf-8' },
  'app.css': { body: readFileSync(new URL('../views/assets/app.css', import.meta.url), 'utf8'), type: 'text/css; charset=utf-8' },
}

function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown'
  } catch {
    return 'unknown' // app.request() in tests has no socket
  }
}

export function createApp(options: CreateAppOptions): Hono<AppEnv> {
  const { db, log, secret, secureCookies } = options
  const app = new Hono<AppEnv>()
  const nav: NavEntry[] = [
    // The engine's own pages; each report plugin is listed in the catalogue, not the menu.
    { section: 'Reports', label: 'All reports', href: '/reports', order: 0 },
    { section: 'Reports', label: 'Generated reports', href: '/reports/archive', order: 1 },
    ...options.plugins.flatMap((p) => p.nav ?? []),
  ]
  const publicOrigin = options.publicUrl ? new URL(options.publicUrl).origin : undefined
  const catalogue = permissionCatalogue(options.plugins)
  const reports = new ReportRegistry(options.plugins)

  app.use(requestId({ headerName: 'X-Request-Id' }))
  app.use(async function requestLog(c, next) {
    const started = performance.now()
    c.set('log', log.child({ requestId: c.var.requestId }))
    await next()
    const fields = { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) }
    if (c.req.path !== '/healthz' && c.req.path !== '/readyz') c.var.log.info('request', fields)
  })
  app.use(secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"], formAction: ["'self'"], frameAncestors: ["'none'"], baseUri: ["'self'"], objectSrc: ["'none'"],
    },
    strictTransportSecurity: secureCookies ? 'max-age=31536000; includeSubDomains' : false,
    referrerPolicy: 'same-origin',
  }))
  app.use(bodyLimit({ maxSize: 10 * 1024 * 1024, onError: (c) => renderProblem(c as Context<AppEnv>, 413, 'The request is too large (10 MB at most).') }))
  app.onError(handleError)
  app.notFound((c) => renderProblem(c, 404, 'That page does not exist, or you cannot see it.'))

  app.get('/assets/:name', (c) => {
    const asset = ASSETS[c.req.param('name')]
    if (!asset) return c.text('Not found', 404)
    c.header('Cache-Control', 'public, max-age=3600')
    return c.body(asset.body, 200, { 'Content-Type': asset.type })
  })
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', async (c) => {
    try {
      await sql`select 1`.execute(db)
      const pending = await pendingMigrations(db, options.migrations)
      if (pending.length) return c.json({ status: 'not ready', reason: `${pending.length} migration(s) pending` }, 503)
      return c.json({ status: 'ready' })
    } catch {
      return c.json({ status: 'not ready', reason: 'database unreachable' }, 503)
    }
  })

  app.use(async function session(c, next) {
    bindFlashSecret(c, secret)
    c.set('secureCookies', secureCookies)
    c.set('settings', options.settings)
    c.set('nav', [])
    c.set('ability', NO_ABILITY)
    c.set('grants', NO_GRANTS)
    c.set('catalogue', catalogue)
    c.set('reports', reports)
    c.set('user', null)
    // A bearer token, when sent, is the only credential looked at: a bad one is a 401, not a fallback to the cookie.
    const bearer = bearerToken(c.req.header('authorization'))
    let identity: (Awaited<ReturnType<typeof findApiToken>> & { sessionId?: string }) | undefined
    if (bearer !== undefined) {
      identity = await findApiToken(db, bearer)
      if (!identity) {
        c.header('WWW-Authenticate', 'Bearer')
        return renderProblem(c, 401, 'The API token is not valid: it is unknown, expired or revoked, or its user is disabled.')
      }
    } else {
      const token = getCookie(c, sessionCookieName(secureCookies))
      // A background poll (the report-ready notice) is not the reader's activity: it does not keep the session alive.
      const session = token ? await findSession(db, token, { touch: c.req.path !== RUN_NOTICE_PATH }) : undefined
      if (session) identity = { ...session, tokenId: 0 }
    }
    if (identity) {
      const { org, userId, grants } = identity
      // Grants are read with the credential on every request, never cached: a changed role or a moved organisation applies at once.
      const ability = abilityForUser(userId, grants)
      c.set('user', { id: userId, email: identity.email, name: identity.name, orgId: org.id, via: bearer === undefined ? 'session' : 'token' })
      c.set('org', org)
      c.set('ability', ability)
      c.set('grants', grants)
      c.set('db', new ScopedDb(db, { orgId: org.id, path: org.path }, options.boss, { userId, email: identity.email, orgId: org.id, requestId: c.var.requestId }))
      c.set('nav', nav.filter((entry) => !entry.requires || ability.can(entry.requires[0], entry.requires[1])))
    }
    c.set('csrfToken', tokenFor(c, secret, identity?.sessionId, secureCookies))
    await verifyCsrf(c, c.var.csrfToken, publicOrigin)
    await next()
  })

  app.route('/', authRoutes({ db, clientAddress, ...(options.throttle ? { throttle: options.throttle } : {}) }))

  /**
   * The path of the page an htmx request was sent from (`HX-Current-URL`). Only its path is kept, and
   * `safeNext` checks it like any `next`, so a forged header can only name a page of this site.
   */
  function currentPage(c: Context<AppEnv>): string | undefined {
    const header = c.req.header('hx-current-url')
    if (!header || !URL.canParse(header)) return undefined
    const url = new URL(header)
    return url.pathname + url.search
  }

  app.use(async function requireLogin(c, next) {
    if (c.var.user) return next()
    if (wantsJson(c)) return renderProblem(c, 401, 'Sign in first.')
    const next_ = safeNext(c.req.method === 'GET' ? c.req.path + (new URL(c.req.url).search) : '/')
    if (c.req.header('hx-request') === 'true') {
      // A background poll (the report-ready notice) stops quietly: a tab left open is not sent away.
      if (c.req.path === RUN_NOTICE_PATH) return c.body('', 200)
      // After signing in, back to the page the reader was on, not to the fragment's own URL.
      c.header('HX-Redirect', `/login?next=${encodeURIComponent(safeNext(currentPage(c) ?? next_))}`)
      return c.body(null, 204)
    }
    return c.redirect(`/login?next=${encodeURIComponent(next_)}`, 303)
  })

  app.route('/', dashboardRoutes())
  app.route('/api/v1', organisationApi())
  app.route('/api/v1', userApi())
  app.route('/api/v1', roleApi())
  app.route('/api/v1', auditApi())
  app.route('/api/v1', catalogApi())
  app.route('/api/v1', subscriptionApi())
  app.route('/api/v1', usageApi())
  app.route('/api/v1', billingApi())
  app.route('/api/v1', creditApi())
  app.route('/api/v1', reportRunApi())
  app.route('/api/v1', reportApi())
  // Runs and the archive first: their paths (/reports/runs/..., /reports/archive) are not report ids.
  app.route('/reports', reportRunRoutes())
  app.route('/reports', reportPageRoutes())
  for (const plugin of options.plugins) {
    if (!plugin.routes) continue
    const sub = new Hono<AppEnv>()
    plugin.routes(sub)
    app.route(`/${plugin.id}`, sub)
  }
  return app
}
