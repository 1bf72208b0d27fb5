/**
 * Sign-in and sign-out. Unknown account, wrong password and disabled user all get the same
 * answer; throttling is per account and per client address; the session id is new on every login.
 */
import { Hono } from 'hono'
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import type { AppEnv } from '../http/env.ts'
import { flash, publicPage, redirect } from '../http/render.tsx'
import { CsrfField, ErrorSummary, Field } from '../../views/forms.tsx'
import { decoyHash, verifyPassword } from './password.ts'
import { SESSION_MAX_MS, createSession, deleteSession, sessionCookieName } from './sessions.ts'
import { ACCOUNT_POLICY, ADDRESS_POLICY, accountKey, addressKey, clearFailures, lockedUntil, recordFailure, type ThrottlePolicy } from './throttle.ts'

export interface AuthRoutesOptions {
  readonly db: Kysely<Database>
  readonly clientAddress: (c: Context) => string
  readonly throttle?: { readonly account?: ThrottlePolicy; readonly address?: ThrottlePolicy }
}

export const BAD_LOGIN = 'Email or password is incorrect.'

/** Only same-site paths, so `?next=` cannot send a user to another site. */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(value) ? value : '/'
}

function LoginForm(props: { csrf: string; email?: string; next: string; error?: string }) {
  return (
    <div class="panel">
      <div class="brand">Ledgerlite</div>
      <h1>Sign in</h1>
      <ErrorSummary message={props.error} />
      <form method="post" action="/login" class="stacked">
        <CsrfField token={props.csrf} />
        <input type="hidden" name="next" value={props.next} />
        <Field label="Email" name="email" type="email" value={props.email} required autocomplete="username" maxlength={320} />
        <Field label="Password" name="password" type="password" required autocomplete="current-password" maxlength={1024} />
        <div class="actions"><button type="submit">Sign in</button></div>
      </form>
    </div>
  )
}

export function authRoutes(options: AuthRoutesOptions): Hono<AppEnv> {
  const { db } = options
  const accountPolicy = options.throttle?.account ?? ACCOUNT_POLICY
  const addressPolicy = options.throttle?.address ?? ADDRESS_POLICY
  const app = new Hono<AppEnv>()

  app.get('/login', async (c) => {
    if (c.var.user) return c.redirect(safeNext(c.req.query('next')), 303)
    return publicPage(c, { title: 'Sign in', body: <LoginForm csrf={c.var.csrfToken} next={safeNext(c.req.query('next'))} /> })
  })

  app.post('/login', async (c) => {
    const body = await c.req.parseBody()
    const email = typeof body.email === 'string' ? body.email.trim().toLowerCase().slice(0, 320) : ''
    const password = typeof body.password === 'string' ? body.password : ''
    const next = safeNext(body.next)
    const fail = (status: 401 | 422 | 429, error: string) =>
      publicPage(c, { title: 'Sign in', status, body: <LoginForm csrf={c.var.csrfToken} email={email} next={next} error={error} /> })
    if (!email || !password) return fail(422, 'Enter your email and password.')

    const keys = [{ ...accountKey(email), policy: accountPolicy }, { ...addressKey(options.clientAddress(c)), policy: addressPolicy }]
    const until = await lockedUntil(db, keys)
    if (until) {
      const minutes = Math.max(1, Math.ceil((until.getTime() - Date.now()) / 60000))
      c.header('Retry-After', String(minutes * 60))
      return fail(429, `Too many sign-in attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`)
    }

    const user = await db.selectFrom('users').select(['id', 'password_hash', 'status']).where('email', '=', email).executeTakeFirst()
    const passwordOk = await verifyPassword(password, user?.password_hash ?? (await decoyHash()))
    if (!user || !passwordOk || user.status !== 'active') {
      await recordFailure(db, keys)
      c.var.log.info('login refused', { reason: !user ? 'unknown account' : !passwordOk ? 'bad password' : 'disabled' })
      return fail(401, BAD_LOGIN)
    }

    await clearFailures(db, keys[0]!)
    const cookieName = sessionCookieName(c.var.secureCookies)
    const previous = getCookie(c, cookieName)
    if (previous) await deleteSession(db, previous)
    const token = await createSession(db, user.id, { ip: options.clientAddress(c), userAgent: c.req.header('user-agent') ?? null })
    await db.updateTable('users').set({ last_login_at: new Date() }).where('id', '=', user.id).execute()
    setCookie(c, cookieName, token, { httpOnly: true, sameSite: 'Lax', path: '/', secure: c.var.secureCookies, maxAge: SESSION_MAX_MS / 1000 })
    c.var.log.info('login', { userId: user.id })
    return c.redirect(next, 303)
  })

  app.post('/logout', async (c) => {
    const cookieName = sessionCookieName(c.var.secureCookies)
    const token = getCookie(c, cookieName)
    if (token) await deleteSession(db, token)
    deleteCookie(c, cookieName, { path: '/', secure: c.var.secureCookies })
    await flash(c, 'info', 'You have signed out.')
    return redirect(c, '/login')
  })

  return app
}
