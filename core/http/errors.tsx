/** Error answers: a page, a fragment or JSON, always with the request id and never a stack trace. */
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { AppEnv } from './env.ts'
import { HttpProblem } from './problem.ts'
import { isFragmentRequest, page, publicPage } from './render.tsx'
import { OutOfScopeError } from '../tenancy/scoped-db.ts'

export function wantsJson(c: Context): boolean {
  return c.req.path.startsWith('/api/') || (c.req.header('accept') ?? '').startsWith('application/json')
}

const TITLES: Record<number, string> = { 400: 'Bad request', 401: 'Sign-in needed', 403: 'Not allowed', 404: 'Not found', 409: 'Conflict', 413: 'Too large', 422: 'Check the form', 429: 'Slow down', 500: 'Something went wrong' }

export async function renderProblem(c: Context<AppEnv>, status: ContentfulStatusCode, message: string, fields?: Readonly<Record<string, string>>): Promise<Response> {
  const requestId = c.var.requestId
  if (wantsJson(c)) return c.json({ error: { status, message, ...(fields ? { fields } : {}), requestId } }, status)
  const body = (
    <div class="error-page">
      <h1>{TITLES[status] ?? 'Error'}</h1>
      <p>{message}</p>
      {fields && <ul>{Object.entries(fields).map(([k, v]) => <li><strong>{k}</strong>: {v}</li>)}</ul>}
      <p class="muted">Reference: {requestId}</p>
      {!isFragmentRequest(c) && <p><a href="/">Back to the dashboard</a></p>}
    </div>
  )
  return c.var.user ? page(c, { title: TITLES[status] ?? 'Error', body, status }) : publicPage(c, { title: TITLES[status] ?? 'Error', body: <div class="panel">{body}</div>, status })
}

export async function handleError(error: Error, c: Context<AppEnv>): Promise<Response> {
  if (error instanceof HttpProblem) return renderProblem(c, error.status, error.message, error.fields)
  if (error instanceof OutOfScopeError) return renderProblem(c, 404, error.message)
  // PostgreSQL cannot store a NUL character (in text, or as \u0000 in jsonb): bad input, not a 500.
  const code = (error as { code?: unknown }).code
  if (code === '22021' || code === '22P05') return renderProblem(c, 400, 'The request contains a character that cannot be stored (a NUL byte).')
  const status = (error as { status?: number }).status
  // Hono's own HTTPException (e.g. a malformed body) carries a 4xx status and a safe message.
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return renderProblem(c, status as ContentfulStatusCode, status === 413 ? 'The request is too large.' : 'The request could not be read.')
  }
  ;(c.var.log ?? console).error('unhandled error', { error, method: c.req.method, path: c.req.path })
  return renderProblem(c, 500, 'Something went wrong on our side. It has been logged; please try again, and quote the reference if it keeps happening.')
}
