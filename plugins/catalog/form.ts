/** Posted forms for the catalog and subscription pages: strings in, zod in the middle, field messages out. */
import type { Context } from 'hono'
import type { z } from 'zod'
import type { AppEnv } from '../../core/http/env.ts'
import { HttpProblem } from '../../core/http/problem.ts'

export type FormValues = Record<string, string>

/** The posted fields (last value of each), without `_csrf` and files. */
export async function postedFields(c: Context<AppEnv>): Promise<FormValues> {
  const body = await c.req.parseBody()
  const out: FormValues = {}
  for (const [key, value] of Object.entries(body)) if (key !== '_csrf' && typeof value === 'string') out[key] = value
  return out
}

/** Fields left empty mean "not given" (so defaults apply), except those listed in `keep`. */
export function nonEmpty(values: FormValues, keep: readonly string[] = []): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([k, v]) => v.trim() !== '' || keep.includes(k)))
}

/** A problem the form that caused it should show (a field to fix, or a conflict), else undefined. */
export function formProblem(error: unknown): (HttpProblem & { status: 409 | 422 }) | undefined {
  return error instanceof HttpProblem && (error.status === 409 || error.status === 422) ? (error as HttpProblem & { status: 409 | 422 }) : undefined
}

/** `schema` applied to `value`, or a 422 problem with the first message per field (dotted paths joined). */
export function parseForm<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value)
  if (parsed.success) return parsed.data
  const fields: Record<string, string> = {}
  for (const issue of parsed.error.issues) fields[issue.path.map(String).join('.') || 'form'] ??= issue.message
  throw new HttpProblem(422, 'Check the highlighted fields.', fields)
}

/** A positive id from a path or query value, or undefined. */
export function idValue(raw: string | undefined): number | undefined {
  if (!raw || !/^\d{1,10}$/.test(raw)) return undefined
  const id = Number(raw)
  return id > 0 && id <= 2_147_483_647 ? id : undefined
}
