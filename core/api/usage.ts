/** JSON API (stub: being written). */
import { Hono } from 'hono'
import type { AppEnv } from '../http/env.ts'

export function usageApi(): Hono<AppEnv> {
  return new Hono<AppEnv>()
}
