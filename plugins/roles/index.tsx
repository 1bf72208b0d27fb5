/**
 * Roles: the roles a user can see, their permission matrix, delegation (which roles a role may hand
 * out) and who holds them; create, edit and delete custom roles. The rules (no escalation, only
 * roles you manage, system roles read-only) live in core/access/roles.ts and hold whatever a form
 * sends; the pages only avoid offering what would be refused.
 */
import type { Context } from 'hono'
import type { z } from 'zod'
import { can, grantAbility } from '../../core/access/ability.ts'
import {
  changeRefusal, createRole, deleteRole, manageableRoles, roleInput, updateRole, visibleRoles, type RoleCaller, type RoleDetail,
} from '../../core/access/roles.ts'
import type { AppEnv } from '../../core/http/env.ts'
import { HttpProblem, notFound } from '../../core/http/problem.ts'
import { flash, page, redirect } from '../../core/http/render.tsx'
import { definePlugin } from '../../core/plugins/define.ts'
import {
  formValuesOf, RoleDetailPage, RoleForm, RoleListPage, type RoleFormValues, type RoleHolder, type RoleOwner, type RoleView,
} from './views.tsx'

type Ctx = Context<AppEnv>

const callerOf = (c: Ctx): RoleCaller => ({ org: c.var.org, grants: c.var.grants })

/** Names of the roles' owner organisations that are in the caller's subtree; the others stay unnamed. */
async function ownersInScope(c: Ctx, roles: readonly RoleDetail[]): Promise<Map<number, string>> {
  const ids = [...new Set(roles.flatMap((r) => (r.org_id === null ? [] : [r.org_id])))]
  if (ids.length === 0) return new Map()
  const rows = await c.var.db.organisations().select(['organisations.id', 'organisations.name']).where('organisations.id', 'in', ids).execute()
  return new Map(rows.map((r) => [r.id, r.name]))
}

function viewOf(c: Ctx, role: RoleDetail, visible: ReadonlyMap<number, RoleDetail>, owners: ReadonlyMap<number, string>): RoleView {
  const ownerName = role.org_id === null ? undefined : owners.get(role.org_id)
  const owner: RoleOwner = role.org_id === null ? { kind: 'system' } : ownerName === undefined ? { kind: 'shared' } : { kind: 'org', id: role.org_id, name: ownerName }
  const managed = role.managedRoleIds.flatMap((id) => {
    const other = visible.get(id)
    return other ? [{ id, name: other.name }] : []
  })
  return { role, owner, managed, hiddenManaged: role.managedRoleIds.length - managed.length, refusal: changeRefusal(callerOf(c), role, owner.kind === 'org') }
}

/** Every role the caller can see, described for the pages. */
async function roleViews(c: Ctx): Promise<RoleView[]> {
  const roles = await visibleRoles(c.var.db, c.var.grants)
  const visible = new Map(roles.map((r) => [r.id, r]))
  const owners = await ownersInScope(c, roles)
  return roles.map((role) => viewOf(c, role, visible, owners))
}

/** The role named by `:id`, or 404 (malformed, unknown and out-of-scope ids alike). */
async function roleFromParam(c: Ctx): Promise<RoleView> {
  const id = c.req.param('id') ?? ''
  const view = /^\d{1,10}$/.test(id) ? (await roleViews(c)).find((v) => v.role.id === Number(id)) : undefined
  if (!view) throw notFound('role')
  return view
}

/** Users in the caller's subtree who hold the role. */
async function holdersOf(c: Ctx, roleId: number): Promise<RoleHolder[]> {
  return c.var.db.selectFrom('users')
    .innerJoin('user_roles', 'user_roles.user_id', 'users.id')
    .innerJoin('organisations', 'organisations.id', 'users.org_id')
    .select(['users.id', 'users.name', 'users.email', 'organisations.name as orgName'])
    .where('user_roles.role_id', '=', roleId)
    .orderBy('users.name').orderBy('users.id')
    .execute()
}

function holdsOf(c: Ctx) {
  const held = grantAbility(c.var.grants.grants)
  return (action: string, subject: string) => held.can(action, subject)
}

async function renderDetail(c: Ctx, view: RoleView, problem?: { status: 409 | 422; message: string; errors?: Readonly<Record<string, string>> | undefined }) {
  const [holders, manageable] = await Promise.all([holdersOf(c, view.role.id), manageableRoles(c.var.db, callerOf(c))])
  const included = grantAbility(view.role.permissions)
  const canEdit = c.var.ability.can('update', 'Role')
  const canDelete = c.var.ability.can('delete', 'Role')
  return page(c, {
    title: view.role.name,
    ...(problem ? { status: problem.status } : {}),
    body: (
      <RoleDetailPage
        view={canEdit || canDelete ? view : { ...view, refusal: undefined }}
        catalogue={c.var.catalogue} includes={(a, s) => included.can(a, s)} holders={holders}
        canEdit={canEdit} canDelete={canDelete} replacements={manageable.filter((r) => r.id !== view.role.id)}
        csrf={c.var.csrfToken} message={problem?.message} errors={problem?.errors} />
    ),
  })
}

interface FormState {
  readonly mode: 'create' | 'edit'
  readonly action: string
  readonly cancelHref: string
  readonly values: RoleFormValues
  readonly status?: 403 | 409 | 422
  readonly errors?: Readonly<Record<string, string>> | undefined
  readonly message?: string | undefined
}

async function renderForm(c: Ctx, state: FormState) {
  const manageable = await manageableRoles(c.var.db, callerOf(c))
  return page(c, {
    title: state.mode === 'create' ? 'New role' : `Edit ${state.values.name}`,
    ...(state.status ? { status: state.status } : {}),
    body: (
      <RoleForm csrf={c.var.csrfToken} action={state.action} mode={state.mode} values={state.values} catalogue={c.var.catalogue}
        holds={holdsOf(c)} callerManagesAll={c.var.grants.managesAll} manageable={manageable}
        errors={state.errors ?? {}} message={state.message} cancelHref={state.cancelHref} />
    ),
  })
}

/** The posted form, repeated fields as lists (one checked box arrives as a single string). */
async function postedRole(c: Ctx): Promise<RoleFormValues> {
  const body = await c.req.parseBody({ all: true })
  const many = (key: string) => {
    const value = body[key]
    return (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter((v): v is string => typeof v === 'string')
  }
  const one = (key: string) => many(key)[0] ?? ''
  return { name: one('name'), description: one('description'), manages: one('manages') || 'list', permissions: many('permissions'), managedRoleIds: many('managedRoleIds') }
}

function fieldErrors(error: z.ZodError): Record<string, string> {
  const out: Record<string, string> = {}
  for (const issue of error.issues) out[String(issue.path[0] ?? 'form')] ??= issue.message
  return out
}

/** Problems the form can show next to its fields; anything else goes to the error page. */
function formProblem(error: unknown): error is HttpProblem & { status: 403 | 409 | 422 } {
  return error instanceof HttpProblem && (error.status === 403 || error.status === 409 || error.status === 422)
}

export const rolesPlugin = definePlugin({
  id: 'roles',
  title: 'Roles',
  description: 'Custom roles with a permission matrix and delegation.',
  nav: [{ section: 'Administration', label: 'Roles', href: '/roles', requires: ['read', 'Role'], order: 30 }],
  routes: (app) => {
    app.get('/', can('read', 'Role'), async (c) => {
      return page(c, { title: 'Roles', body: <RoleListPage views={await roleViews(c)} canCreate={c.var.ability.can('create', 'Role')} /> })
    })

    const blank: RoleFormValues = { name: '', description: '', permissions: [], manages: 'list', managedRoleIds: [] }
    app.get('/new', can('create', 'Role'), (c) => renderForm(c, { mode: 'create', action: '/roles', cancelHref: '/roles', values: blank }))

    app.post('/', can('create', 'Role'), async (c) => {
      const values = await postedRole(c)
      const state = { mode: 'create', action: '/roles', cancelHref: '/roles', values } as const
      const parsed = roleInput.safeParse(values)
      if (!parsed.success) return renderForm(c, { ...state, status: 422, errors: fieldErrors(parsed.error), message: 'Check the highlighted fields.' })
      try {
        // The owner is always the caller's organisation: nothing posted can place it elsewhere.
        const role = await createRole(c.var.db, callerOf(c), c.var.catalogue, parsed.data)
        c.var.log.info('role created', { roleId: role.id })
        await flash(c, 'success', `The role ${role.name} was created.`)
        return redirect(c, `/roles/${role.id}`)
      } catch (error) {
        if (formProblem(error)) return renderForm(c, { ...state, status: error.status, errors: error.fields, message: error.message })
        throw error
      }
    })

    app.get('/:id', can('read', 'Role'), async (c) => renderDetail(c, await roleFromParam(c)))

    app.get('/:id/edit', can('update', 'Role'), async (c) => {
      const view = await roleFromParam(c)
      if (view.refusal) throw new HttpProblem(403, view.refusal)
      return renderForm(c, { mode: 'edit', action: `/roles/${view.role.id}`, cancelHref: `/roles/${view.role.id}`, values: formValuesOf(view.role) })
    })

    app.post('/:id', can('update', 'Role'), async (c) => {
      const view = await roleFromParam(c)
      if (view.refusal) throw new HttpProblem(403, view.refusal)
      const values = await postedRole(c)
      const state = { mode: 'edit', action: `/roles/${view.role.id}`, cancelHref: `/roles/${view.role.id}`, values } as const
      const parsed = roleInput.safeParse(values)
      if (!parsed.success) return renderForm(c, { ...state, status: 422, errors: fieldErrors(parsed.error), message: 'Check the highlighted fields.' })
      try {
        const role = await updateRole(c.var.db, callerOf(c), c.var.catalogue, view.role.id, parsed.data)
        c.var.log.info('role updated', { roleId: role.id })
        await flash(c, 'success', `The role ${role.name} was saved.`)
        return redirect(c, '/roles')
      } catch (error) {
        if (formProblem(error)) return renderForm(c, { ...state, status: error.status, errors: error.fields, message: error.message })
        throw error
      }
    })

    app.post('/:id/delete', can('delete', 'Role'), async (c) => {
      const view = await roleFromParam(c)
      if (view.refusal) throw new HttpProblem(403, view.refusal)
      const body = await c.req.parseBody()
      const raw = typeof body.reassignTo === 'string' ? body.reassignTo.trim() : ''
      if (raw !== '' && !/^\d{1,10}$/.test(raw)) {
        return renderDetail(c, view, { status: 422, message: 'Choose a role for its users.', errors: { reassignTo: 'Choose a role from the list' } })
      }
      try {
        const { reassigned } = await deleteRole(c.var.db, callerOf(c), view.role.id, raw === '' ? undefined : Number(raw))
        c.var.log.info('role deleted', { roleId: view.role.id, reassigned })
        await flash(c, 'success', `The role ${view.role.name} was deleted${reassigned ? `; its ${reassigned} user(s) hold the other role now` : ''}.`)
        return redirect(c, '/roles')
      } catch (error) {
        if (error instanceof HttpProblem && (error.status === 409 || error.status === 422)) {
          return renderDetail(c, view, { status: error.status, message: error.message, errors: error.fields })
        }
        throw error
      }
    })
  },
})
