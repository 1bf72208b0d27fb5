/**
 * Pieces shared by the catalog, providers and subscriptions: input checks for codes, decimals and
 * minor-unit amounts, the "visible to an organisation" predicate for shared rows, and turning
 * constraint violations into 409s with a message a person can act on.
 */
import { sql, type RawBuilder } from 'kysely'
import { z } from 'zod'
import { HttpProblem } from '../http/problem.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import { isDecimal } from './money.ts'

export const CODE_RULE = 'Use 1–64 lowercase letters, digits, dots, dashes or underscores, starting with a letter or digit'

export const codeField = z.string({ error: 'Enter a code' }).trim().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, CODE_RULE)
export const nameField = z.string({ error: 'Enter a name' }).trim().min(1, 'Enter a name').max(200, 'Use at most 200 characters')
export const descriptionField = z.string({ error: 'Use text' }).trim().max(2000, 'Use at most 2000 characters')
export const currencyField = z.string({ error: 'Enter a currency' }).trim().toUpperCase().regex(/^[A-Z]{3}$/, 'Use a three-letter ISO code, e.g. EUR')
export const idField = (what: string) => z.union([z.number(), z.string()], { error: `Choose ${what}` })
  .transform((v) => String(v).trim())
  .refine((v) => /^\d{1,10}$/.test(v) && Number(v) > 0 && Number(v) <= 2_147_483_647, `Choose ${what}`)
  .transform(Number)

/**
 * A non-negative decimal that fits `numeric(precision, scale)`, as a string. Numbers are accepted
 * from JSON but read through their decimal text, never used for arithmetic.
 */
export function decimalField(label: string, precision: number, scale: number) {
  return z.union([z.string(), z.number()], { error: `Enter ${label} as a number` })
    .transform((v) => String(v).trim())
    .superRefine((v, ctx) => {
      if (!isDecimal(v)) return ctx.addIssue({ code: 'custom', message: `Enter ${label} as a plain number, e.g. 12.5` })
      if (v.startsWith('-')) return ctx.addIssue({ code: 'custom', message: `${capital(label)} cannot be negative` })
      const [whole = '', fraction = ''] = v.split('.')
      if (fraction.length > scale) ctx.addIssue({ code: 'custom', message: `Use at most ${scale} decimals` })
      if (whole.replace(/^0+(?=\d)/, '').length > precision - scale) ctx.addIssue({ code: 'custom', message: `${capital(label)} is too large` })
    })
}

/** A whole non-negative count that fits `integer`. */
export function countField(label: string) {
  return z.union([z.string(), z.number()], { error: `Enter ${label} as a whole number` })
    .transform((v) => String(v).trim())
    .refine((v) => /^\d{1,10}$/.test(v) && Number(v) <= 2_147_483_647, `Enter ${label} as a whole number, 0 or more`)
    .transform(Number)
}

/** Minor units of money (`"12000"` = 120.00 EUR) as a decimal string; 15 digits at most. */
export const minorField = z.union([z.string(), z.number()], { error: 'Enter an amount in minor units, e.g. "12000"' })
  .transform((v) => String(v).trim())
  .refine((v) => /^\d{1,15}$/.test(v), 'Enter a whole, non-negative amount in minor units, e.g. "12000"')
  .transform((v) => BigInt(v).toString())

export const dateField = (label: string) => z.iso.date(`Use a date like 2025-12-31 for ${label}`)

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/**
 * Rows owned by the organisation at `orgPath` or one of its ancestors: the catalog an
 * organisation may use (plans for its subscriptions, meters for its prices).
 */
export function ownedAboveOrAt(table: string, orgPath: string): RawBuilder<boolean> {
  return sql<boolean>`${sql.ref(`${table}.org_id`)} in (select o.id from organisations o where ${orgPath} like o.path || '%')`
}

/** Whether the owner of a shared row is inside the caller's subtree (so its id may be shown). */
export function ownerInScope(sdb: ScopedDb, ownerPath: string): boolean {
  return ownerPath.startsWith(sdb.scope.path)
}

/** The owner's path, selected next to a shared row: `.select(ownerPath('plans').as('owner_path'))`. */
export const ownerPath = (table: string) => sql<string>`(select o.path from organisations o where o.id = ${sql.ref(`${table}.org_id`)})`

/**
 * A unique or foreign-key violation as a 409, or the error unchanged. `messages` maps a constraint
 * name to what to tell the person; the check is by name because both drivers put it in the text.
 */
export function constraintProblem(error: unknown, messages: Readonly<Record<string, readonly [string, Record<string, string>?]>>): unknown {
  const { code, constraint_name: constraint, constraint: constraint2, message } = error as { code?: string; constraint_name?: string; constraint?: string; message?: string }
  if (code !== '23505' && code !== '23503' && code !== '23514') return error
  for (const [name, [text, fields]] of Object.entries(messages)) {
    if (constraint === name || constraint2 === name || String(message ?? '').includes(name)) return new HttpProblem(code === '23514' ? 422 : 409, text, fields)
  }
  if (code === '23503') return new HttpProblem(409, 'This is still in use elsewhere, so it cannot be removed.')
  return error
}

/** Runs `fn` and converts known constraint violations with {@link constraintProblem}. */
export async function mapConstraints<R>(fn: () => Promise<R>, messages: Parameters<typeof constraintProblem>[1]): Promise<R> {
  try {
    return await fn()
  } catch (error) {
    throw constraintProblem(error, messages)
  }
}

/** `patch` over `base`: keys the patch leaves undefined keep the stored value. */
export function merged<T extends object>(base: T, patch: Partial<T>): T {
  const out = { ...base }
  for (const [k, v] of Object.entries(patch)) if (v !== undefined) (out as Record<string, unknown>)[k] = v
  return out
}
