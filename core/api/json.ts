/** Reading JSON request bodies for `/api/v1`: one place for the 400 and 422 answers. */
import type { Context } from 'hono'
import type { z } from 'zod'
import { HttpProblem, notFound } from '../http/problem.ts'

/** The body as a JSON object: 400 when it is not JSON or not an object. An empty body is `{}` when `emptyOk`. */
export async function jsonBody(c: Context, options: { emptyOk?: boolean } = {}): Promise<Record<string, unknown>> {
  const text = await c.req.text()
  if (options.emptyOk && text.trim() === '') return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new HttpProblem(400, 'The request body is not valid JSON.')
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpProblem(400, 'The request body must be a JSON object.')
  return value as Record<string, unknown>
}

/** The first message per field, keyed by the field's top-level name. */
export function fieldErrors(error: z.ZodError): Record<string, string> {
  const out: Record<string, string> = {}
  for (const issue of error.issues) out[String(issue.path[0] ?? 'body')] ??= issue.message
  return out
}

/** `value` checked against `schema`, or a 422 with per-field messages. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw new HttpProblem(422, 'Some fields are not valid.', fieldErrors(parsed.error))
  return parsed.data
}

/** `:id` as a positive 32-bit integer, or a 404 naming `what`. */
export function idParam(c: Context, what: string): number {
  const raw = c.req.param('id') ?? ''
  const id = /^\d{1,10}$/.test(raw) ? Number(raw) : 0
  if (id <= 0 || id > 2_147_483_647) throw notFound(what)
  return id
}
