/**
 * JSON API for users and API tokens, mounted at `/api/v1`. Same rules as the Users pages: the
 * domain functions in core/access/users.ts and core/access/api-tokens.ts decide everything;
 * this file only reads JSON in and writes JSON out. Documented in plugins/users/README.md.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { can } from '../access/ability.ts'
import { createApiToken, listApiTokens, revokeApiToken, tokenInput, type ApiTokenSummary } from '../access/api-tokens.ts'
import {
  createUser, inputProblem, listUsers, passwordInput, resetPassword, setUserStatus, updateUser, userCaller, userDetail,
  userInput, userPatch, USER_STATUSES, type UserStatus, type UserWithRoles,
} from '../access/users.ts'
import type { AppEnv } from '../http/env.ts'
import { idParam, jsonBody } from './json.ts'
import { HttpProblem, notFound } from '../http/problem.ts'

export interface UserJson {
  readonly id: number
  readonly email: string
  readonly name: string
  readonly orgId: number
  readonly status: UserStatus
  /** Only roles the caller can see; a role outside that set is never named. */
  readonly roles: readonly { readonly id: number; readonly name: string }[]
  readonly lastLoginAt: string | null
  readonly createdAt: string
}

export function userJson(user: UserWithRoles): UserJson {
  return {
    id: user.id, email: user.email, name: user.name, orgId: user.org_id, status: user.status,
    roles: user.roles.map((r) => ({ id: r.id, name: r.name })),
    lastLoginAt: user.last_login_at?.toISOString() ?? null, createdAt: user.created_at.toISOString(),
  }
}

export interface ApiTokenJson {
  readonly id: number
  readonly name: string
  /** The token's last four characters, shown as `…abcd`. */
  readonly hint: string
  /** The organisation the token is scoped to (always inside the caller's subtree). */
  readonly orgId: number
  readonly createdAt: string
  readonly lastUsedAt: string | null
  readonly expiresAt: string | null
  readonly revokedAt: string | null
}

export function apiTokenJson(token: ApiTokenSummary): ApiTokenJson {
  return {
    id: token.id, name: token.name, hint: token.hint, orgId: token.org_id, createdAt: token.created_at.toISOString(),
    lastUsedAt: token.last_used_at?.toISOString() ?? null, expiresAt: token.expires_at?.toISOString() ?? null, revokedAt: token.revoked_at?.toISOString() ?? null,
  }
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw inputProblem(parsed.error, 'Some fields are not valid.')
  return parsed.data
}


const listQuery = z.object({
  org: z.string().regex(/^\d{1,10}$/, 'Use an organisation id').transform(Number).optional(),
  status: z.enum(USER_STATUSES, { error: 'Use active or disabled' }).optional(),
  q: z.string().trim().max(100, 'Use at most 100 characters').optional(),
  limit: z.coerce.number().int().min(1).max(500, 'Use at most 500').default(100),
  offset: z.coerce.number().int().min(0).default(0),
})

export function userApi(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()

  app.get('/users', can('read', 'User'), async (c) => {
    // An empty parameter (`?org=`) means no filter, as it does on the page.
    const query = parse(listQuery, Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v.trim() !== '')))
    if (query.org !== undefined && !(await c.var.db.organisation(query.org))) throw notFound('organisation')
    const { users, total } = await listUsers(c.var.db, c.var, { orgId: query.org, status: query.status, q: query.q }, { limit: query.limit, offset: query.offset })
    return c.json({ users: users.map(userJson), total, limit: query.limit, offset: query.offset })
  })

  app.post('/users', can('create', 'User'), async (c) => {
    const input = parse(userInput, await jsonBody(c))
    const { user, generatedPassword } = await createUser(c.var.db, userCaller(c.var), input)
    c.var.log.info('user created', { userId: user.id, orgId: user.org_id })
    const detail = await userDetail(c.var.db, c.var.grants, user.id)
    return c.json({ user: userJson(detail), ...(generatedPassword ? { password: generatedPassword } : {}) }, 201)
  })

  app.get('/users/:id', can('read', 'User'), async (c) => {
    return c.json({ user: userJson(await userDetail(c.var.db, c.var.grants, idParam(c, 'user'))) })
  })

  app.patch('/users/:id', can('update', 'User'), async (c) => {
    const id = idParam(c, 'user')
    const patch = parse(userPatch, await jsonBody(c))
    await updateUser(c.var.db, userCaller(c.var), id, patch)
    return c.json({ user: userJson(await userDetail(c.var.db, c.var.grants, id)) })
  })

  for (const [action, status] of [['disable', 'disabled'], ['enable', 'active']] as const) {
    app.post(`/users/:id/${action}`, can('update', 'User'), async (c) => {
      const id = idParam(c, 'user')
      await setUserStatus(c.var.db, userCaller(c.var), id, status)
      c.var.log.info(`user ${action}d`, { userId: id })
      return c.json({ user: userJson(await userDetail(c.var.db, c.var.grants, id)) })
    })
  }

  app.post('/users/:id/password', can('update', 'User'), async (c) => {
    const id = idParam(c, 'user')
    const { password } = parse(passwordInput, await jsonBody(c, { emptyOk: true }))
    const { generatedPassword } = await resetPassword(c.var.db, userCaller(c.var), id, password)
    c.var.log.info('password reset', { userId: id })
    return c.json(generatedPassword ? { password: generatedPassword } : {})
  })

  app.get('/api-tokens', can('read', 'ApiToken'), async (c) => {
    return c.json({ tokens: (await listApiTokens(c.var.db, userCaller(c.var).userId)).map(apiTokenJson) })
  })

  app.post('/api-tokens', can('create', 'ApiToken'), async (c) => {
    // A leaked token must not be able to mint a longer-lived one: only a signed-in person makes tokens.
    if (c.var.user?.via === 'token') throw new HttpProblem(403, 'API tokens are made by a signed-in person, not by another token.')
    const input = parse(tokenInput, await jsonBody(c))
    const { token, secret } = await createApiToken(c.var.db, userCaller(c.var), input)
    c.var.log.info('api token created', { tokenId: token.id })
    const { id, name, hint, orgId, expiresAt } = apiTokenJson(token)
    return c.json({ token: { id, name, hint, orgId, expiresAt }, secret }, 201)
  })

  app.delete('/api-tokens/:id', can('delete', 'ApiToken'), async (c) => {
    const token = await revokeApiToken(c.var.db, userCaller(c.var), idParam(c, 'API token'))
    c.var.log.info('api token revoked', { tokenId: token.id })
    return c.json({ token: apiTokenJson(token) })
  })

  return app
}
