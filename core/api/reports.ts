/** JSON API of the report engine (catalogue, rows, streamed downloads). Being written. */
import { Hono } from 'hono'
import type { AppEnv } from '../http/env.ts'

export function reportApi(): Hono<AppEnv> {
  return new Hono<AppEnv>()
}
