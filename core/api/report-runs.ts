/** JSON API of background report runs and the archive. Being written. */
import { Hono } from 'hono'
import type { AppEnv } from '../http/env.ts'

export function reportRunApi(): Hono<AppEnv> {
  return new Hono<AppEnv>()
}
