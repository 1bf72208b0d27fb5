/** JSON API (stub: being written). */
import { Hono } from 'hono'
import type { AppEnv } from '../http/env.ts'

export function catalogApi(): Hono<AppEnv> {
  return new Hono<AppEnv>()
}
