/** Report pages: the catalogue and one report. Being written. */
import { Hono } from 'hono'
import type { AppEnv } from '../http/env.ts'

export function reportPageRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>()
}
