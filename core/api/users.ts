/** JSON API for users: `/api/v1/users`. Same rules as the Users pages (core/access/users.ts). */
import { Hono } from 'hono'
import type { AppEnv } from '../http/env.ts'

export function userApi(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  return app
}
