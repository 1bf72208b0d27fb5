/**
 * Sessions live in the database so every instance shares them. The cookie holds a random token;
 * the table holds its SHA-256, so a copy of the table opens no session.
 */
import { createHash, randomBytes } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import { compiledLookup } from '../db/database.ts'
import { grantColumns, grantsFromColumns, type UserGrants } from '../access/ability.ts'
import type { Database, OrganisationRow } from '../db/schema.ts'

export const SESSION_IDLE_MS = 12 * 60 * 60 * 1000
export const SESSION_MAX_MS = 7 * 24 * 60 * 60 * 1000
/** last_seen_at is written at most this often, not on every request. */
const TOUCH_EVERY_MS = 60 * 1000

export function sessionCookieName(secure: boolean): string {
  return secure ? '__Host-ll_session' : 'll_session'
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url')

export interface SessionUser {
  readonly sessionId: string
  readonly userId: number
  readonly email: string
  readonly name: string
  readonly orgId: number
  readonly createdAt: Date
  /** The user's organisation, read in the same query (every request needs it). */
  readonly org: OrganisationRow
  /** The user's roles in effect and their permissions, read in the same query too. */
  readonly grants: UserGrants
}

export async function createSession(db: Kysely<Database>, userId: number, meta: { ip: string | null; userAgent: string | null }): Promise<string> {
  const token = randomBytes(32).toString('base64url')
  const now = Date.now()
  await db.insertInto('sessions').values({
    id: hashToken(token),
    user_id: userId,
    last_seen_at: new Date(now),
    expires_at: new Date(now + SESSION_IDLE_MS),
    ip: meta.ip,
    user_agent: meta.userAgent?.slice(0, 300) ?? null,
  }).execute()
  return token
}

const sessionById = compiledLookup((db, id) => db.selectFrom('sessions as s')
  .innerJoin('users as u', 'u.id', 's.user_id')
  .innerJoin('organisations as o', 'o.id', 'u.org_id')
  .select(['s.id', 's.created_at', 's.last_seen_at', 's.expires_at', 'u.id as user_id', 'u.email', 'u.name', 'u.org_id', 'u.status'])
  .select(['o.parent_id as org_parent_id', 'o.kind as org_kind', 'o.name as org_name', 'o.path as org_path', 'o.status as org_status',
    'o.billing_email as org_billing_email', 'o.currency as org_currency', 'o.created_at as org_created_at', 'o.updated_at as org_updated_at'])
  .select(grantColumns(sql.ref('u.id'), sql.ref('o.path')))
  .where('s.id', '=', id))

/**
 * The session's user, or undefined when the token is unknown, expired, or the user is disabled.
 * One statement reads the session, its user, the user's organisation and the user's grants, so a
 * signed-in request costs one round trip before the handler runs (plus, at most once a minute, the
 * `last_seen_at` update that renews the idle timeout; `touch: false` leaves it, for background polls).
 */
export async function findSession(db: Kysely<Database>, token: string, options: { touch?: boolean } = {}): Promise<SessionUser | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined
  const id = hashToken(token)
  const row = await sessionById(db, id)
  if (!row) return undefined
  const now = Date.now()
  if (row.status !== 'active' || row.expires_at.getTime() <= now || row.created_at.getTime() + SESSION_MAX_MS <= now) {
    await db.deleteFrom('sessions').where('id', '=', id).execute()
    return undefined
  }
  if (options.touch !== false && now - row.last_seen_at.getTime() > TOUCH_EVERY_MS) {
    await db.updateTable('sessions').set({ last_seen_at: new Date(now), expires_at: new Date(now + SESSION_IDLE_MS) }).where('id', '=', id).execute()
  }
  const org: OrganisationRow = {
    id: row.org_id, parent_id: row.org_parent_id, kind: row.org_kind, name: row.org_name, path: row.org_path, status: row.org_status,
    billing_email: row.org_billing_email, currency: row.org_currency, created_at: row.org_created_at, updated_at: row.org_updated_at,
  }
  return { sessionId: id, userId: row.user_id, email: row.email, name: row.name, orgId: row.org_id, createdAt: row.created_at, org, grants: grantsFromColumns(row) }
}

export async function deleteSession(db: Kysely<Database>, token: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', hashToken(token)).execute()
}

export async function deleteExpiredSessions(db: Kysely<Database>): Promise<number> {
  const result = await db.deleteFrom('sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', sql<Date>`now()`), eb('created_at', '<=', sql<Date>`now() - ${`${SESSION_MAX_MS / 1000} seconds`}::interval`)]))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
