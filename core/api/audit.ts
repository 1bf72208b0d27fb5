/** JSON API for the audit log: `/api/v1/audit-log`. Same scope and filters as the Audit log page. */
import { Hono } from 'hono'
import type { AppEnv } from '../http/env.ts'

export function auditApi(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  return app
}
