/** JSON API for roles: `/api/v1/roles`. Same rules as the Roles pages (core/access/roles.ts). */
import { Hono } from 'hono'
import type { AppEnv } from '../http/env.ts'

export function roleApi(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  return app
}
