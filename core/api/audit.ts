/**
 * JSON API for the audit log: `GET /api/v1/audit-log`. Same scope, filters, masking and keyset
 * paging as the Audit log page; a bad parameter is a 400 whose `fields` name it.
 */
import { Hono } from 'hono'
import { can } from '../access/ability.ts'
import { auditPage, parseAuditQuery, type AuditEntryView } from '../audit/query.ts'
import type { AppEnv } from '../http/env.ts'

/** An actor in JSON: a user of the caller's subtree, `null` for the system, or an outside administrator. */
export type AuditActorJson = { readonly email: string | null; readonly userId: number | null } | { readonly external: true } | null

export interface AuditEntryJson {
  readonly id: string
  readonly at: string
  readonly orgId: number
  readonly orgName: string
  readonly actor: AuditActorJson
  readonly action: string
  readonly subject: string
  readonly subjectId: string | null
  readonly summary: string
  readonly before: unknown
  readonly after: unknown
}

export function auditEntryJson(e: AuditEntryView): AuditEntryJson {
  const actor: AuditActorJson = e.actor.kind === 'system' ? null
    : e.actor.kind === 'external' ? { external: true } : { email: e.actor.email, userId: e.actor.userId }
  return {
    id: e.id, at: e.at.toISOString(), orgId: e.orgId, orgName: e.orgName, actor, action: e.action,
    subject: e.subject, subjectId: e.subjectId, summary: e.summary, before: e.before ?? null, after: e.after ?? null,
  }
}

export function auditApi(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  app.get('/audit-log', can('read', 'AuditLog'), async (c) => {
    const { entries, next } = await auditPage(c.var.db, parseAuditQuery(c.req.query()), c.var.grants)
    return c.json({ entries: entries.map(auditEntryJson), next })
  })
  return app
}
