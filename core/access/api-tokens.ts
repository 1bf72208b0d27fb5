/**
 * API tokens as people manage them: list your own, make one (its secret is returned once), revoke
 * your own or those of users you manage in your subtree. Functions take the caller's scoped
 * handle first. Checking a presented token is `core/auth/tokens.ts`.
 *
 * @example
 * const { token, secret } = await createApiToken(c.var.db, userCaller(c.var), tokenInput.parse(body))
 */
import { sql, type Kysely } from 'kysely'
import { z } from 'zod'
import { recordAudit } from '../audit/audit.ts'
import { insertApiToken } from '../auth/tokens.ts'
import type { ApiTokenRow, Database } from '../db/schema.ts'
import { HttpProblem, notFound } from '../http/problem.ts'
import { executorOf, type ScopedDb } from '../tenancy/scoped-db.ts'
import { managesAllRolesOf } from './roles.ts'
import type { UserCaller } from './users.ts'

/** A token as pages and the API show it: never its hash. */
export type ApiTokenSummary = Omit<ApiTokenRow, 'token_hash'>

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * A new token: a name, an expiry in days (1–365) or none, and the organisation it is scoped to
 * (default: the caller's own; it must be in the caller's subtree). Empty form fields mean none.
 */
export const tokenInput = z.object({
  name: z.string().trim().min(1, 'Enter a name').max(100, 'Use at most 100 characters'),
  orgId: z.preprocess(
    (v) => (v === '' || v === null ? undefined : v),
    z.coerce.number({ error: 'Choose an organisation' }).int('Choose an organisation').min(1, 'Choose an organisation').max(2_147_483_647, 'Choose an organisation').optional(),
  ),
  expiresInDays: z.preprocess(
    (v) => (v === '' || v === null ? undefined : v),
    z.coerce.number({ error: 'Enter a number of days' }).int('Enter whole days').min(1, 'Use 1 to 365 days').max(365, 'Use 1 to 365 days').optional(),
  ),
})
export type TokenInput = z.output<typeof tokenInput>

const TOKEN_COLUMNS = ['api_tokens.id', 'api_tokens.org_id', 'api_tokens.user_id', 'api_tokens.name', 'api_tokens.hint', 'api_tokens.created_at',
  'api_tokens.last_used_at', 'api_tokens.expires_at', 'api_tokens.revoked_at'] as const

/** Whether a token works now: not revoked and not expired (its user's status is checked at use). */
export function tokenState(token: Pick<ApiTokenSummary, 'revoked_at' | 'expires_at'>, now = Date.now()): 'active' | 'revoked' | 'expired' {
  if (token.revoked_at) return 'revoked'
  if (token.expires_at && token.expires_at.getTime() <= now) return 'expired'
  return 'active'
}

/** Tokens of one user in scope, newest first. */
export async function listApiTokens(sdb: ScopedDb<any>, userId: number): Promise<ApiTokenSummary[]> {
  return (sdb as ScopedDb).selectFrom('api_tokens').select(TOKEN_COLUMNS)
    .where('api_tokens.user_id', '=', userId)
    .orderBy('api_tokens.created_at', 'desc').orderBy('api_tokens.id', 'desc')
    .execute()
}

/**
 * Makes a token for the caller, scoped to `input.orgId` (default: the caller's organisation; outside
 * the caller's subtree it is "not found"). The secret is returned once: show it, never store or log it.
 */
export async function createApiToken(sdb: ScopedDb<any>, caller: UserCaller, input: TokenInput): Promise<{ token: ApiTokenSummary; secret: string }> {
  if (!caller.ability.can('create', 'ApiToken')) throw new HttpProblem(403, 'You do not have permission to do this.')
  return issueApiToken(sdb, { userId: caller.userId, orgId: input.orgId ?? caller.org.id, name: input.name, expiresInDays: input.expiresInDays })
}

/**
 * Inserts a token for `userId` scoped to `orgId` (which must be in the handle's scope) with its
 * audit row; no permission check (the CLI and {@link createApiToken} decide who may).
 */
export async function issueApiToken(sdb: ScopedDb<any>, input: { userId: number; orgId: number; name: string; expiresInDays?: number | undefined }): Promise<{ token: ApiTokenSummary; secret: string }> {
  const expiresAt = input.expiresInDays === undefined ? null : new Date(Date.now() + input.expiresInDays * DAY_MS)
  return sdb.transaction(async (trx) => {
    const org = await trx.organisation(input.orgId)
    if (!org) throw notFound('organisation')
    const made = await insertApiToken(executorOf(trx) as Kysely<Database>, { orgId: org.id, userId: input.userId, name: input.name, expiresAt })
    await recordAudit(trx, {
      orgId: org.id, action: 'create', subject: 'ApiToken', subjectId: made.id, summary: `API token "${input.name}" created`,
      after: { name: input.name, userId: input.userId, orgId: org.id, expiresAt: expiresAt?.toISOString() ?? null },
    })
    const token = await (trx as ScopedDb).selectFrom('api_tokens').select(TOKEN_COLUMNS).where('api_tokens.id', '=', made.id).executeTakeFirstOrThrow()
    return { token, secret: made.token }
  })
}

/**
 * Revokes a token: the caller's own, or one of a user in scope whose every role the caller
 * manages. Anything else is "not found", so a token id tells nothing about other users.
 * Revoking a revoked token changes nothing.
 */
export async function revokeApiToken(sdb: ScopedDb<any>, caller: UserCaller, id: number): Promise<ApiTokenSummary> {
  if (!caller.ability.can('delete', 'ApiToken')) throw new HttpProblem(403, 'You do not have permission to do this.')
  if (!Number.isSafeInteger(id) || id <= 0 || id > 2_147_483_647) throw notFound('API token')
  return sdb.transaction(async (trx) => {
    const token = await (trx as ScopedDb).selectFrom('api_tokens').select(TOKEN_COLUMNS).where('api_tokens.id', '=', id).executeTakeFirst()
    if (!token) throw notFound('API token')
    if (token.user_id !== caller.userId && !(await managesAllRolesOf(trx, caller, token.user_id))) throw notFound('API token')
    if (token.revoked_at) return token
    const revoked = await (trx as ScopedDb).updateTable('api_tokens').set({ revoked_at: sql`now()` })
      .where('api_tokens.id', '=', id).returning(TOKEN_COLUMNS).executeTakeFirstOrThrow()
    await recordAudit(trx, {
      orgId: token.org_id, action: 'revoke', subject: 'ApiToken', subjectId: id,
      summary: `API token "${token.name}" revoked${token.user_id === caller.userId ? '' : ' (of another user)'}`,
      before: { name: token.name, userId: token.user_id, revokedAt: null }, after: { revokedAt: revoked.revoked_at?.toISOString() },
    })
    return revoked
  })
}

/** True when the caller may revoke the tokens of `userId` (own, or a user whose every role the caller manages). */
export async function mayRevokeTokensOf(sdb: ScopedDb<any>, caller: UserCaller, userId: number): Promise<boolean> {
  if (!caller.ability.can('delete', 'ApiToken')) return false
  return userId === caller.userId || managesAllRolesOf(sdb, caller, userId)
}
