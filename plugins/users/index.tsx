/**
 * Users of the organisations in scope, their roles, password resets, and API tokens. The rules
 * live in core/access/users.ts and core/access/api-tokens.ts; this file turns forms into calls
 * and results into pages. Everything goes through the caller's scoped handle, so a user outside
 * the caller's subtree is simply not found.
 */
import type { Context } from 'hono'
import { can } from '../../core/access/ability.ts'
import { listApiTokens, mayRevokeTokensOf } from '../../core/access/api-tokens.ts'
import { manageableRoles } from '../../core/access/roles.ts'
import {
  createUser, inputProblem, listUsers, organisationChoices, passwordInput, resetPassword, setUserStatus, updateUser, userCaller,
  userDetail, userInput, userPatch, USER_STATUSES, whyNotChangeable, type UserStatus,
} from '../../core/access/users.ts'
import type { AppEnv } from '../../core/http/env.ts'
import { HttpProblem, notFound } from '../../core/http/problem.ts'
import { flash, page, redirect } from '../../core/http/render.tsx'
import { definePlugin } from '../../core/plugins/define.ts'
import { postedForm } from './form.ts'
import { tokenRoutes } from './tokens.tsx'
import { DetailPage, ListPage, PasswordShown, UserForm, type ListFilter, type UserFormValues } from './views.tsx'

const PAGE_SIZE = 50
/**
 * A user id from the path: digits only, within `integer`; anything else is "not found". The
 * `/tokens` and `/new` routes are registered first, so they are never read as ids.
 */
function idFrom(c: Context<AppEnv>): number {
  const raw = c.req.param('id') ?? ''
  const id = /^\d{1,10}$/.test(raw) ? Number(raw) : 0
  if (id <= 0 || id > 2_147_483_647) throw notFound('user')
  return id
}

/** A problem worth showing on the form it came from (a field to fix), rather than as an error page. */
function formProblem(error: unknown): (HttpProblem & { status: 403 | 409 | 422 }) | undefined {
  return error instanceof HttpProblem && error.fields && (error.status === 403 || error.status === 409 || error.status === 422)
    ? (error as HttpProblem & { status: 403 | 409 | 422 })
    : undefined
}

interface FormState {
  readonly status?: 403 | 409 | 422
  readonly values?: UserFormValues
  readonly errors?: Record<string, string>
  readonly message?: string
}

async function createForm(c: Context<AppEnv>, state: FormState): Promise<Response> {
  const [orgs, roles] = await Promise.all([organisationChoices(c.var.db), manageableRoles(c.var.db, userCaller(c.var))])
  return page(c, {
    title: 'New user',
    ...(state.status ? { status: state.status } : {}),
    body: <UserForm csrf={c.var.csrfToken} mode="create" action="/users" cancelHref="/users" values={state.values ?? {}}
      orgs={orgs} roles={roles} errors={state.errors ?? {}} message={state.message} />,
  })
}

async function editForm(c: Context<AppEnv>, id: number, state: FormState): Promise<Response> {
  const user = await userDetail(c.var.db, c.var.grants, id)
  const caller = userCaller(c.var)
  const refusal = await whyNotChangeable(c.var.db, caller, user)
  if (refusal) throw new HttpProblem(403, refusal)
  return page(c, {
    title: `Edit ${user.name}`,
    ...(state.status ? { status: state.status } : {}),
    body: <UserForm csrf={c.var.csrfToken} mode="edit" action={`/users/${id}`} cancelHref={`/users/${id}`} user={user}
      values={state.values ?? { name: user.name, roleIds: user.roles.map((r) => r.id) }}
      orgs={[]} roles={await manageableRoles(c.var.db, caller)} errors={state.errors ?? {}} message={state.message} />,
  })
}

async function detailPage(c: Context<AppEnv>, id: number, passwordError?: { status: 422; message: string }): Promise<Response> {
  const user = await userDetail(c.var.db, c.var.grants, id)
  const caller = userCaller(c.var)
  const canUpdate = c.var.ability.can('update', 'User')
  const refusal = canUpdate ? await whyNotChangeable(c.var.db, caller, user) : undefined
  const tokens = c.var.ability.can('read', 'ApiToken') ? await listApiTokens(c.var.db, id) : undefined
  return page(c, {
    title: user.name,
    ...(passwordError ? { status: passwordError.status } : {}),
    body: <DetailPage user={user} csrf={c.var.csrfToken} refusal={refusal} canUpdate={canUpdate} linkOrg={c.var.ability.can('read', 'Organisation')}
      tokens={tokens} canRevokeTokens={tokens ? await mayRevokeTokensOf(c.var.db, caller, id) : false} passwordError={passwordError?.message} />,
  })
}

export const usersPlugin = definePlugin({
  id: 'users',
  title: 'Users',
  description: 'Users, their roles, password resets, and API tokens.',
  nav: [
    { section: 'Administration', label: 'Users', href: '/users', requires: ['read', 'User'], order: 20 },
    { section: 'Administration', label: 'API tokens', href: '/users/tokens', requires: ['read', 'ApiToken'], order: 50 },
  ],
  routes: (app) => {
    tokenRoutes(app)

    app.get('/', can('read', 'User'), async (c) => {
      const orgs = await organisationChoices(c.var.db)
      const orgParam = c.req.query('org') ?? ''
      const statusParam = c.req.query('status') ?? ''
      const pageParam = Number(c.req.query('page') ?? '1')
      const filter: ListFilter = {
        q: (c.req.query('q') ?? '').trim().slice(0, 100),
        // An organisation outside the choices (outside scope, or nonsense) is no filter at all.
        org: orgs.find((o) => String(o.id) === orgParam)?.id,
        status: (USER_STATUSES as readonly string[]).includes(statusParam) ? statusParam : '',
        page: Number.isSafeInteger(pageParam) && pageParam >= 1 && pageParam <= 100_000 ? pageParam : 1,
      }
      const { users, total } = await listUsers(c.var.db, c.var,
        { orgId: filter.org, status: (filter.status || undefined) as UserStatus | undefined, q: filter.q },
        { limit: PAGE_SIZE, offset: (filter.page - 1) * PAGE_SIZE })
      return page(c, {
        title: 'Users',
        body: <ListPage users={users} total={total} pageSize={PAGE_SIZE} filter={filter} orgs={orgs}
          canCreate={c.var.ability.can('create', 'User')} linkOrgs={c.var.ability.can('read', 'Organisation')} />,
      })
    })

    app.get('/new', can('create', 'User'), async (c) => {
      const org = c.req.query('org')
      return createForm(c, { values: { orgId: org && /^\d{1,10}$/.test(org) ? org : c.var.org.id } })
    })

    app.post('/', can('create', 'User'), async (c) => {
      const { fields, lists } = await postedForm(c)
      const values: UserFormValues = { name: fields.name, email: fields.email, orgId: fields.orgId, roleIds: lists.roleIds ?? [] }
      const parsed = userInput.safeParse({ ...values, password: fields.password })
      if (!parsed.success) {
        const problem = inputProblem(parsed.error)
        return createForm(c, { status: 422, values, errors: { ...problem.fields }, message: problem.message })
      }
      try {
        const { user, generatedPassword } = await createUser(c.var.db, userCaller(c.var), parsed.data)
        c.var.log.info('user created', { userId: user.id, orgId: user.org_id })
        if (generatedPassword) return page(c, { title: 'User created', body: <PasswordShown user={user} password={generatedPassword} created /> })
        await flash(c, 'success', `${user.name} was created.`)
        return redirect(c, `/users/${user.id}`)
      } catch (error) {
        const problem = formProblem(error)
        if (problem) return createForm(c, { status: problem.status, values, errors: { ...problem.fields }, message: problem.message })
        throw error
      }
    })

    app.get('/:id', can('read', 'User'), (c) => detailPage(c, idFrom(c)))

    app.get('/:id/edit', can('update', 'User'), (c) => editForm(c, idFrom(c), {}))

    app.post('/:id', can('update', 'User'), async (c) => {
      const id = idFrom(c)
      const { fields, lists } = await postedForm(c)
      // The form always carries `rolesShown`: with it, no checked box means "none of the roles I manage".
      const roleIds = fields.rolesShown || lists.roleIds ? lists.roleIds ?? [] : undefined
      const values: UserFormValues = { name: fields.name, roleIds }
      const parsed = userPatch.safeParse({ name: fields.name, roleIds })
      if (!parsed.success) {
        const problem = inputProblem(parsed.error)
        return editForm(c, id, { status: 422, values, errors: { ...problem.fields }, message: problem.message })
      }
      try {
        const user = await updateUser(c.var.db, userCaller(c.var), id, parsed.data)
        c.var.log.info('user updated', { userId: id })
        await flash(c, 'success', `${user.name} was saved.`)
        return redirect(c, `/users/${id}`)
      } catch (error) {
        const problem = formProblem(error)
        if (problem) return editForm(c, id, { status: problem.status, values, errors: { ...problem.fields }, message: problem.message })
        throw error
      }
    })

    for (const [action, status] of [['disable', 'disabled'], ['enable', 'active']] as const) {
      app.post(`/:id/${action}`, can('update', 'User'), async (c) => {
        const user = await setUserStatus(c.var.db, userCaller(c.var), idFrom(c), status)
        c.var.log.info(`user ${action}d`, { userId: user.id })
        await flash(c, 'success', status === 'disabled' ? `${user.name} was disabled and signed out everywhere.` : `${user.name} was enabled.`)
        return redirect(c, `/users/${user.id}`)
      })
    }

    app.post('/:id/password', can('update', 'User'), async (c) => {
      const id = idFrom(c)
      const { fields } = await postedForm(c)
      const parsed = passwordInput.safeParse({ password: fields.password })
      try {
        if (!parsed.success) throw inputProblem(parsed.error, 'Check the password.')
        const { user, generatedPassword } = await resetPassword(c.var.db, userCaller(c.var), id, parsed.data.password)
        c.var.log.info('password reset', { userId: id })
        if (generatedPassword) return page(c, { title: 'Password reset', body: <PasswordShown user={user} password={generatedPassword} created={false} /> })
        await flash(c, 'success', `The password of ${user.name} was changed; they were signed out everywhere.`)
        return redirect(c, `/users/${id}`)
      } catch (error) {
        if (error instanceof HttpProblem && error.status === 422) return detailPage(c, id, { status: 422, message: error.fields?.password ?? error.message })
        throw error
      }
    })
  },
})
