/**
 * A browser stand-in for `app.request()`: keeps cookies, finds the CSRF token on our pages and
 * sends it back the way our forms and htmx do.
 */
import type { Hono } from 'hono'
import type { AppEnv } from '../../core/http/env.ts'
import { TEST_PASSWORD } from './fixture.ts'

export class Agent {
  readonly app: Hono<AppEnv>
  readonly cookies = new Map<string, string>()
  /** Every Set-Cookie header received, as sent (for flag checks). */
  readonly setCookies: string[] = []
  readonly origin: string

  constructor(app: Hono<AppEnv>, origin = 'http://localhost') {
    this.app = app
    this.origin = origin
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.cookies.size && !headers.has('cookie')) headers.set('cookie', this.cookieHeader())
    const response = await this.app.request(new URL(path, this.origin).toString(), { ...init, headers })
    for (const line of response.headers.getSetCookie()) {
      this.setCookies.push(line)
      const [pair, ...attrs] = line.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      const value = pair!.slice(eq + 1).trim()
      const expired = attrs.some((a) => /^\s*max-age=0\b/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a))
      if (expired || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return response
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.request(path, { headers })
  }

  /** The CSRF token our pages embed (meta tag), as a page would see it. */
  async csrf(path = '/login'): Promise<string> {
    const html = await (await this.get(path)).text()
    const match = /<meta name="csrf-token" content="([^"]+)"/.exec(html)
    if (!match) throw new Error(`no csrf meta tag on ${path}`)
    return match[1]!
  }

  /** Posts a form the way a browser does: same-origin, with the token in `_csrf`. */
  async postForm(path: string, fields: Record<string, string>, options: { csrf?: string | null; headers?: Record<string, string> } = {}): Promise<Response> {
    const token = options.csrf === undefined ? await this.csrf(this.cookies.size ? '/' : '/login') : options.csrf
    const body = new URLSearchParams(token === null ? fields : { _csrf: token, ...fields })
    return this.request(path, {
      method: 'POST',
      body: body.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', ...options.headers },
    })
  }

  async login(email: string, password = TEST_PASSWORD): Promise<Response> {
    const token = await this.csrf('/login')
    return this.postForm('/login', { email, password }, { csrf: token })
  }
}

/** A signed-in agent; fails loudly if the login does not succeed. */
export async function signedIn(app: Hono<AppEnv>, email: string): Promise<Agent> {
  const agent = new Agent(app)
  const response = await agent.login(email)
  if (response.status !== 303) throw new Error(`login as ${email} failed with ${response.status}`)
  return agent
}
