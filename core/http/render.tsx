/**
 * One URL, two shapes: a full page on navigation, just the content for an htmx swap. This helper
 * is the only place that decides, and it always answers `Vary: HX-Request` so caches keep both.
 */
import type { Context } from 'hono'
import type { Child } from 'hono/jsx'
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { AppShell, Document } from '../../views/AppShell.tsx'
import { FlashMessage, type Flash } from '../../views/Flash.tsx'
import { RunNoticeRegion, runNoticeDue } from '../reports/run-notice.tsx'
import type { AppEnv } from './env.ts'

/**
 * Whether to answer with the content alone. htmx 4 marks a request `HX-Request-Type: full` when the
 * target is the body *or* when it selects parts of the response (`hx-select`); the second kind still
 * names its target (`HX-Target: div#report-results`), and the content holds every selected part,
 * so only a body-targeted request (a boosted link) gets the whole page.
 */
export function isFragmentRequest(c: Context): boolean {
  if (c.req.header('hx-request') !== 'true') return false
  if (c.req.header('hx-request-type') !== 'full') return true
  const target = c.req.header('hx-target')
  return target !== undefined && target !== '' && !/^body\b/i.test(target)
}

/**
 * The id of the element an htmx request will swap (`HX-Target: div#report-results` gives
 * `report-results`), so a handler can render just that part and the parts it selects out of band.
 */
export function htmxTargetId(c: Context): string | undefined {
  if (c.req.header('hx-request') !== 'true') return undefined
  return /#([\w-]+)$/.exec(c.req.header('hx-target') ?? '')?.[1]
}

export interface PageOptions {
  readonly title: string
  readonly body: Child
  readonly status?: ContentfulStatusCode
}

/** Renders the app shell around `body`, or `body` alone for an htmx fragment request. */
export async function page(c: Context<AppEnv>, options: PageOptions): Promise<Response> {
  c.header('Vary', 'HX-Request', { append: true })
  c.header('Cache-Control', 'no-store')
  const flash = await takeFlash(c)
  if (isFragmentRequest(c)) {
    return c.html(<><title>{options.title} · Ledgerlite</title><FlashMessage flash={flash} />{options.body}</>, options.status ?? 200)
  }
  const user = c.var.user
  return c.html(
    <AppShell
      title={options.title}
      csrfToken={c.var.csrfToken}
      user={user}
      orgName={user ? c.var.org?.name : undefined}
      nav={user ? c.var.nav : []}
      currentPath={c.req.path}
      flash={flash}
      notices={user && runNoticeDue(c, user.id) ? <RunNoticeRegion /> : undefined}
    >
      {options.body}
    </AppShell>,
    options.status ?? 200,
  )
}

/** A page outside the app shell (login, errors before sign-in). */
export async function publicPage(c: Context<AppEnv>, options: PageOptions): Promise<Response> {
  c.header('Cache-Control', 'no-store')
  const flash = await takeFlash(c)
  return c.html(
    <Document title={options.title} csrfToken={c.var.csrfToken} bodyClass="login">
      <div>
        <FlashMessage flash={flash} />
        {options.body}
      </div>
    </Document>,
    options.status ?? 200,
  )
}

const FLASH_COOKIE = 'll_flash'
const secrets = new WeakMap<Context, string>()

/** Core-internal: the secret flash cookies are signed with, set once per request. */
export function bindFlashSecret(c: Context, secret: string): void {
  secrets.set(c, secret)
}

/** Shows `text` on the next page this browser renders (typically after a redirect). */
export async function flash(c: Context<AppEnv>, kind: Flash['kind'], text: string): Promise<void> {
  await setSignedCookie(c, FLASH_COOKIE, JSON.stringify({ kind, text: text.slice(0, 500) }), secrets.get(c)!, {
    httpOnly: true, sameSite: 'Lax', path: '/', secure: c.var.secureCookies, maxAge: 60,
  })
}

async function takeFlash(c: Context<AppEnv>): Promise<Flash | undefined> {
  const secret = secrets.get(c)
  // Reading a signed cookie imports the key first: not worth it on the many requests that carry no flash.
  if (!secret || !c.req.header('cookie')?.includes(`${FLASH_COOKIE}=`)) return undefined
  const value = await getSignedCookie(c, secret, FLASH_COOKIE)
  if (!value) return undefined
  deleteCookie(c, FLASH_COOKIE, { path: '/', secure: c.var.secureCookies })
  try {
    const parsed = JSON.parse(value) as Flash
    return ['success', 'info', 'error'].includes(parsed.kind) && typeof parsed.text === 'string' ? parsed : undefined
  } catch {
    return undefined
  }
}

/** Redirect that also works for htmx requests (which follow HX-Location instead of a 3xx body). */
export function redirect(c: Context, location: string): Response {
  if (c.req.header('hx-request') === 'true') {
    c.header('HX-Redirect', location)
    return c.body(null, 204)
  }
  return c.redirect(location, 303)
}
