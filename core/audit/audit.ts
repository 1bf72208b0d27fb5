/**
 * The audit log: who changed what, in which organisation, with the row before and after. Written
 * through the caller's handle inside the caller's transaction, so a change and its audit row
 * commit or roll back together.
 *
 * @example
 * await c.var.db.transaction(async (trx) => {
 *   const role = await createRole(trx, input)
 *   await recordAudit(trx, { orgId: role.org_id, action: 'create', subject: 'Role', subjectId: role.id, summary: `Role ${role.name} created`, after: role })
 * })
 */
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { executorOf, type ScopedDb } from '../tenancy/scoped-db.ts'

export interface AuditEntry {
  /** The organisation the changed row belongs to; the entry is visible in that organisation's subtree. */
  readonly orgId: number
  /** Lowercase verb: create, update, delete, disable, enable, assign, reset-password, ... */
  readonly action: string
  /** The CASL subject of the changed row, e.g. `Role`. */
  readonly subject: string
  readonly subjectId?: string | number | null
  /** One line for people, e.g. `User ann@example.com disabled`. */
  readonly summary: string
  readonly before?: unknown
  readonly after?: unknown
}

/** Keys never written to the log, at any depth: `password`, `newPassword`, `password_hash`, `apiToken`, `tokenHash`, `secret`... */
const SECRET_KEY = /(password|secret|token)(_?hash)?$/i

function redact(value: unknown): unknown {
  if (value === undefined) return undefined
  return JSON.parse(JSON.stringify(value, (key, inner) => (SECRET_KEY.test(key) ? '[redacted]' : inner)))
}

function jsonb(value: unknown) {
  const clean = redact(value)
  // Cast from text: drivers then send one string and never re-encode it. The inner cast matters:
  // with `cast($1 as jsonb)` PostgreSQL types the parameter jsonb, and postgres.js then encodes the
  // string as JSON again (a jsonb string, not an object).
  return clean === undefined ? null : sql<unknown>`cast(cast(${JSON.stringify(clean)} as text) as jsonb)`
}

/** Writes one audit row with the handle's actor. Call it inside the transaction that made the change. */
export async function recordAudit(sdb: ScopedDb<any>, entry: AuditEntry): Promise<void> {
  const db = executorOf(sdb) as Kysely<Database>
  const { actor } = sdb
  await db.insertInto('audit_log').values({
    org_id: entry.orgId,
    actor_user_id: actor.userId,
    actor_email: actor.email,
    actor_org_id: actor.orgId,
    action: entry.action,
    subject: entry.subject,
    subject_id: entry.subjectId === undefined || entry.subjectId === null ? null : String(entry.subjectId),
    summary: entry.summary.slice(0, 500),
    before: jsonb(entry.before) as unknown as string | null,
    after: jsonb(entry.after) as unknown as string | null,
    request_id: actor.requestId ?? null,
  }).execute()
}
