/**
 * CSRF protection for every unsafe request, forms and JSON alike: the browser must say the request
 * is same-origin (Sec-Fetch-Site or Origin), and it must carry a token bound to its session (or,
 * before login, to a random cookie) in the `_csrf` form field or the `X-CSRF-Token` header.
 * Requests authenticated only by a bearer token carry no ambient credentials and are exempt.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Context } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { HttpProblem } from '../http/problem.ts'

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

export const csrfCookieName = (secure: boolean) => (secure ? '__Host-ll_csrf' : 'll_csrf')

export function csrfToken(secret: string, binding: string): string {
  return createHmac('sha256', secret).update(`csrf:${binding}`).digest('base64url')
}

// A session's token is the same on every request it makes: worked out once, not one HMAC per request.
const SESSION_TOKENS_KEPT = 5000
const sessionTokens = new Map<string, Map<string, string>>()

function sessionToken(secret: string, sessionId: string): string {
  let tokens = sessionTokens.get(secret)
  if (!tokens) sessionTokens.set(secret, (tokens = new Map()))
  let token = tokens.get(sessionId)
  if (token === undefined) {
    if (tokens.size >= SESSION_TOKENS_KEPT) tokens.clear()
    token = csrfToken(secret, `session:${sessionId}`)
    tokens.set(sessionId, token)
  }
  return token
}

/**
 * The token for this request: bound to the session when there is one, else to a random
 * anonymous cookie (set here if missing) so the login form is protected too.
 */
export function tokenFor(c: Context, secret: string, sessionId: string | undefined, secure: boolean): string {
  if (sessionId) return sessionToken(secret, sessionId)
  const name = csrfCookieName(secure)
  let nonce = getCookie(c, name)
  if (!nonce || !/^[A-Za-z0-9_-]{22,64}$/.test(nonce)) {
    nonce = randomBytes(18).toString('base64url')
    setCookie(c, name, nonce, { httpOnly: true, sameSite: 'Lax', path: '/', secure })
  }
  return csrfToken(secret, `anon:${nonce}`)
}

function sameOrigin(c: Context, publicOrigin: string | undefined): boolean {
  const site = c.req.header('sec-fetch-site')
  if (site) return site === 'same-origin' || site === 'none'
  const origin = c.req.header('origin')
  if (!origin) return true // not a browser request the attacker can shape; the token still decides
  // Behind a TLS-terminating proxy the request URL says http://; PUBLIC_URL names the real origin.
  return origin === new URL(c.req.url).origin || origin === publicOrigin
}

const FORM_TYPES = /^(application\/x-www-form-urlencoded|multipart\/form-data)/i

/** Throws a 403 {@link HttpProblem} unless the unsafe request proves it came from our own pages. */
export async function verifyCsrf(c: Context, expected: string, publicOrigin?: string): Promise<void> {
  if (SAFE.has(c.req.method)) return
  if (isBearerOnly(c)) return
  if (!sameOrigin(c, publicOrigin)) throw new HttpProblem(403, 'This request came from another site and was refused.')
  let sent = c.req.header('x-csrf-token')
  if (!sent && FORM_TYPES.test(c.req.header('content-type') ?? '')) {
    const body = await c.req.parseBody()
    sent = typeof body._csrf === 'string' ? body._csrf : undefined
  }
  if (!sent || !equal(sent, expected)) {
    throw new HttpProblem(403, 'Your form expired or did not come from this portal. Reload the page and try again.')
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** A bearer-token API call with no cookies: nothing a third-party page could have forged. */
export function isBearerOnly(c: Context): boolean {
  return /^Bearer\s+\S+/i.test(c.req.header('authorization') ?? '') && !c.req.header('cookie')
}
