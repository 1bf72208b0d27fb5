/** Reading posted forms: single fields as strings, repeated fields (checkboxes) as lists. */
import type { Context } from 'hono'
import type { AppEnv } from '../../core/http/env.ts'

export interface PostedForm {
  /** The last value of each field, files and `_csrf` left out. */
  readonly fields: Record<string, string>
  /** Every value of a repeated field, e.g. checked `roleIds`. */
  readonly lists: Record<string, string[]>
}

export async function postedForm(c: Context<AppEnv>): Promise<PostedForm> {
  const body = await c.req.parseBody({ all: true })
  const fields: Record<string, string> = {}
  const lists: Record<string, string[]> = {}
  for (const [key, value] of Object.entries(body)) {
    if (key === '_csrf') continue
    const strings = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string')
    lists[key] = strings
    if (strings.length) fields[key] = strings[strings.length - 1]!
  }
  return { fields, lists }
}
