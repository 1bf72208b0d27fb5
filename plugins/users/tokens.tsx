/**
 * API token pages under `/users/tokens`: your own tokens, making one (the secret is shown once),
 * revoking. Registered before `/users/:id` so `tokens` is never read as a user id.
 */
import type { Context, Hono } from 'hono'
import { can } from '../../core/access/ability.ts'
import { createApiToken, listApiTokens, revokeApiToken, tokenInput } from '../../core/access/api-tokens.ts'
import { inputProblem, userCaller } from '../../core/access/users.ts'
import type { AppEnv } from '../../core/http/env.ts'
import { flash, page, redirect } from '../../core/http/render.tsx'
import { postedForm } from './form.ts'
import { TokenShown, TokensPage, type TokenFormValues } from './token-views.tsx'

export function tokenRoutes(app: Hono<AppEnv>): void {
  const tokensPage = async (c: Context<AppEnv>, form: { status?: 422; values?: TokenFormValues; errors?: Record<string, string>; message?: string } = {}) => {
    const caller = userCaller(c.var)
    // Tokens may be scoped to any organisation of the caller's subtree; indent names by depth.
    const orgs = await c.var.db.organisations().select(['organisations.id', 'organisations.name', 'organisations.path']).orderBy('organisations.path').execute()
    const depth = (path: string) => path.split('/').length - c.var.org.path.split('/').length
    const organisations = orgs.map((o) => ({ value: o.id, label: `${'\u00a0\u00a0'.repeat(Math.max(0, depth(o.path)))}${o.name}` }))
    return page(c, {
      title: 'API tokens',
      ...(form.status ? { status: form.status } : {}),
      body: <TokensPage tokens={await listApiTokens(c.var.db, caller.userId)} csrf={c.var.csrfToken} organisations={organisations}
        orgNames={new Map(orgs.map((o) => [o.id, o.name]))} defaultOrgId={c.var.org.id}
        canCreate={c.var.ability.can('create', 'ApiToken')} canRevoke={c.var.ability.can('delete', 'ApiToken')}
        values={form.values ?? {}} errors={form.errors ?? {}} message={form.message} />,
    })
  }

  app.get('/tokens', can('read', 'ApiToken'), (c) => tokensPage(c))

  app.post('/tokens', can('create', 'ApiToken'), async (c) => {
    const { fields } = await postedForm(c)
    const values = { name: fields.name, expiresInDays: fields.expiresInDays, orgId: fields.orgId }
    const parsed = tokenInput.safeParse(values)
    if (!parsed.success) {
      const problem = inputProblem(parsed.error)
      return tokensPage(c, { status: 422, values, errors: { ...problem.fields }, message: problem.message })
    }
    const { token, secret } = await createApiToken(c.var.db, userCaller(c.var), parsed.data)
    c.var.log.info('api token created', { tokenId: token.id })
    return page(c, { title: 'Token created', body: <TokenShown token={token} secret={secret} /> })
  })

  app.post('/tokens/:id/revoke', can('delete', 'ApiToken'), async (c) => {
    const caller = userCaller(c.var)
    const raw = c.req.param('id') ?? ''
    // Digits only: anything else is "not found", like an id that is not ours.
    const token = await revokeApiToken(c.var.db, caller, /^\d{1,10}$/.test(raw) ? Number(raw) : 0)
    c.var.log.info('api token revoked', { tokenId: token.id })
    await flash(c, 'success', `The token "${token.name}" was revoked.`)
    return redirect(c, token.user_id === caller.userId ? '/users/tokens' : `/users/${token.user_id}`)
  })
}
