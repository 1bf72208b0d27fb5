/** Pages of background runs and the archive of generated reports. Being written. */
import { Hono } from 'hono'
import type { AppEnv } from '../http/env.ts'

export function reportRunRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>()
}
