/**
 * API tokens for scripts and the provider's platform: `Authorization: Bearer llt_...`. A token
 * belongs to one organisation (its user's own, or one below it) and acts as the user who made it,
 * with that user's roles as they are at each call, inside the **token's** organisation subtree. It
 * stops at once when it is revoked, when the user is disabled, or when its organisation is no longer
 * inside the user's subtree (moved away, or the user moved). Only the SHA-256 of a token is stored;
 * the token itself is shown once, when it is made.
 */
import { randomBytes } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import { compiledLookup } from '../db/database.ts'
import { grantColumns, grantsFromColumns } from '../access/ability.ts'
import type { Database, OrganisationRow } from '../db/schema.ts'
import { hashToken, type SessionUser } from './sessions.ts'

export const TOKEN_PREFIX = 'llt_'
const TOKEN_SHAPE = /^llt_[A-Za-z0-9_-]{43}$/
const TOUCH_EVERY_MS = 60 * 1000

export function newTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url')
}

export interface NewApiToken {
  readonly orgId: number
  readonly userId: number
  readonly name: string
  readonly expiresAt: Date | null
}

/** Inserts a token and returns its secret (show it once) and its id. */
export async function insertApiToken(db: Kysely<Database>, input: NewApiToken): Promise<{ id: number; token: string; hint: string }> {
  const token = newTokenSecret()
  const hint = token.slice(-4)
  const row = await db.insertInto('api_tokens').values({
    org_id: input.orgId, user_id: input.userId, name: input.name, token_hash: hashToken(token), hint, expires_at: input.expiresAt,
  }).returning('id').executeTakeFirstOrThrow()
  return { id: row.id, token, hint }
}

export interface TokenUser extends Omit<SessionUser, 'sessionId' | 'createdAt'> {
  readonly tokenId: number
}

const tokenByHash = compiledLookup((db, hash) => db.selectFrom('api_tokens as t')
  .innerJoin('users as u', 'u.id', 't.user_id')
  .innerJoin('organisations as uo', 'uo.id', 'u.org_id')
  .innerJoin('organisations as o', 'o.id', 't.org_id')
  .where(sql<boolean>`starts_with(o.path, uo.path)`)
  .select(['t.id as token_id', 't.last_used_at', 't.expires_at', 't.revoked_at', 'u.id as user_id', 'u.email', 'u.name', 'u.status'])
  .select(['o.id', 'o.parent_id', 'o.kind', 'o.name as org_name', 'o.path', 'o.status as org_status', 'o.billing_email', 'o.currency', 'o.created_at', 'o.updated_at'])
  // The user's grants in the same statement; roles are in effect by the user's own organisation.
  .select(grantColumns(sql.ref('u.id'), sql.ref('uo.path')))
  .where('t.token_hash', '=', hash))

/**
 * The token's user, its grants and the organisation it is scoped to (one statement), or undefined
 * if the token is unknown, revoked, expired, its user disabled, or its organisation outside the
 * user's subtree.
 */
export async function findApiToken(db: Kysely<Database>, token: string): Promise<TokenUser | undefined> {
  if (!TOKEN_SHAPE.test(token)) return undefined
  // The scope is the token's organisation, and only while it lies inside the user's own subtree.
  const row = await tokenByHash(db, hashToken(token))
  const now = Date.now()
  if (!row || row.revoked_at || row.status !== 'active' || (row.expires_at && row.expires_at.getTime() <= now)) return undefined
  if (!row.last_used_at || now - row.last_used_at.getTime() > TOUCH_EVERY_MS) {
    await db.updateTable('api_tokens').set({ last_used_at: sql`now()` }).where('id', '=', row.token_id).execute()
  }
  const org: OrganisationRow = {
    id: row.id, parent_id: row.parent_id, kind: row.kind, name: row.org_name, path: row.path, status: row.org_status,
    billing_email: row.billing_email, currency: row.currency, created_at: row.created_at, updated_at: row.updated_at,
  }
  return { tokenId: row.token_id, userId: row.user_id, email: row.email, name: row.name, orgId: row.id, org, grants: grantsFromColumns(row) }
}

/** The token in an `Authorization: Bearer ...` header, if there is one. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return match?.[1]
}
