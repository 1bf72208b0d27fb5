/** Pages of the users module: the list, one user, the create and edit forms, a password shown once. */
import type { ApiTokenSummary } from '../../core/access/api-tokens.ts'
import type { RoleDetail } from '../../core/access/roles.ts'
import type { UserRecord, UserWithRoles } from '../../core/access/users.ts'
import { PASSWORD_RULES } from '../../core/auth/password.ts'
import { CsrfField, ErrorSummary, Field, Select } from '../../views/forms.tsx'
import { TokenTable, when } from './token-views.tsx'
import { Pager } from '../../views/Pager.tsx'

export function StatusBadge(props: { status: string }) {
  return <span class={`badge user-${props.status}`}>{props.status}</span>
}

export interface OrgChoice {
  readonly id: number
  readonly name: string
  readonly depth: number
}

const indented = (o: OrgChoice) => '\u2003'.repeat(o.depth) + o.name

function RoleList(props: { user: Pick<UserWithRoles, 'roles' | 'hiddenRoleCount'> }) {
  const { roles, hiddenRoleCount } = props.user
  if (roles.length === 0 && hiddenRoleCount === 0) return <span class="muted">none</span>
  return (
    <>
      {roles.map((r, i) => <>{i > 0 && ', '}{r.name}</>)}
      {hiddenRoleCount > 0 && <span class="muted">{roles.length ? ' + ' : ''}{hiddenRoleCount} you cannot see</span>}
    </>
  )
}

// ---- the list ---------------------------------------------------------------------------------

export interface ListFilter {
  readonly q: string
  readonly org: number | undefined
  readonly status: string
  readonly page: number
}

/** The list URL for a filter and page: the URL reproduces the view. */
export function listHref(filter: ListFilter, page = filter.page): string {
  const params = new URLSearchParams()
  if (filter.q) params.set('q', filter.q)
  if (filter.org !== undefined) params.set('org', String(filter.org))
  if (filter.status) params.set('status', filter.status)
  if (page > 1) params.set('page', String(page))
  const query = params.toString()
  return query ? `/users?${query}` : '/users'
}

export function ListPage(props: {
  users: readonly UserWithRoles[]; total: number; pageSize: number; filter: ListFilter; orgs: readonly OrgChoice[]; canCreate: boolean; linkOrgs: boolean
}) {
  const { filter } = props
  return (
    <>
      <h1>Users</h1>
      <form class="toolbar" method="get" action="/users" role="search"
        hx-get="/users" hx-trigger="input delay:300ms, change" hx-target="#user-table" hx-select="#user-table" hx-swap="outerHTML" hx-push-url="true">
        <input type="search" name="q" value={filter.q} placeholder="Search name or email" aria-label="Search name or email" maxlength={100} />
        <select name="org" aria-label="Organisation">
          <option value="" selected={filter.org === undefined}>All organisations</option>
          {props.orgs.map((o) => <option value={String(o.id)} selected={filter.org === o.id}>{indented(o)}</option>)}
        </select>
        <select name="status" aria-label="Status">
          <option value="" selected={filter.status === ''}>Any status</option>
          <option value="active" selected={filter.status === 'active'}>Active</option>
          <option value="disabled" selected={filter.status === 'disabled'}>Disabled</option>
        </select>
        <noscript><button type="submit">Filter</button></noscript>
        <span class="spacer" />
        {props.canCreate && <a class="button" href="/users/new">New user</a>}
      </form>
      <UserTable {...props} />
    </>
  )
}

function UserTable(props: { users: readonly UserWithRoles[]; total: number; pageSize: number; filter: ListFilter; linkOrgs: boolean }) {
  const { filter, total, pageSize } = props
  return (
    <div id="user-table">
      <div class="table-wrap">
        <table class="data">
          <thead><tr><th>Name</th><th>Email</th><th>Organisation</th><th>Roles</th><th>Status</th><th>Last sign-in</th></tr></thead>
          <tbody>
            {props.users.length === 0 && <tr><td colspan={6} class="empty">No users match.</td></tr>}
            {props.users.map((u) => (
              <tr data-user-id={String(u.id)}>
                <td><a href={`/users/${u.id}`}>{u.name}</a></td>
                <td>{u.email}</td>
                <td>{props.linkOrgs ? <a href={`/organisations/${u.org_id}`}>{u.org_name}</a> : u.org_name}</td>
                <td><RoleList user={u} /></td>
                <td><StatusBadge status={u.status} /></td>
                <td>{when(u.last_login_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager page={filter.page} pageSize={pageSize} shown={props.users.length} total={total} target="user-table" href={(page) => listHref(filter, page)} />
    </div>
  )
}

// ---- one user ---------------------------------------------------------------------------------

export function DetailPage(props: {
  user: UserWithRoles; csrf: string; refusal: string | undefined; canUpdate: boolean; linkOrg: boolean
  tokens: readonly ApiTokenSummary[] | undefined; canRevokeTokens: boolean; passwordError?: string | undefined
}) {
  const { user } = props
  const changeable = props.canUpdate && !props.refusal
  return (
    <>
      <div class="breadcrumbs"><a href="/users">Users</a><span>{user.name}</span></div>
      <h1>{user.name} <StatusBadge status={user.status} /></h1>
      {changeable && (
        <div class="toolbar">
          <a class="button secondary" href={`/users/${user.id}/edit`}>Edit</a>
          <form method="post" action={`/users/${user.id}/${user.status === 'active' ? 'disable' : 'enable'}`} class="inline">
            <CsrfField token={props.csrf} />
            <button type="submit" class={user.status === 'active' ? 'danger' : undefined}>{user.status === 'active' ? 'Disable' : 'Enable'}</button>
          </form>
        </div>
      )}
      {props.canUpdate && props.refusal && <p class="muted">{props.refusal}</p>}
      <section class="panel">
        <dl class="props">
          <dt>Email</dt><dd>{user.email}</dd>
          <dt>Organisation</dt><dd>{props.linkOrg ? <a href={`/organisations/${user.org_id}`}>{user.org_name}</a> : user.org_name}</dd>
          <dt>Roles</dt><dd><RoleList user={user} /></dd>
          <dt>Status</dt><dd>{user.status}</dd>
          <dt>Created</dt><dd>{when(user.created_at)}</dd>
          <dt>Last sign-in</dt><dd>{when(user.last_login_at)}</dd>
        </dl>
      </section>
      {changeable && (
        <>
          <h2>Reset password</h2>
          <form method="post" action={`/users/${user.id}/password`} class="stacked panel">
            <CsrfField token={props.csrf} />
            <Field label="New password" name="password" type="password" autocomplete="new-password" maxlength={1024} error={props.passwordError}
              hint={`Use ${PASSWORD_RULES}. Leave empty and a password is made for you, shown once.`} />
            <p class="muted">Resetting signs the user out everywhere.</p>
            <div class="actions"><button type="submit">Reset password</button></div>
          </form>
        </>
      )}
      {props.tokens && (
        <>
          <h2>API tokens ({props.tokens.length})</h2>
          <TokenTable tokens={props.tokens} csrf={props.csrf} canRevoke={props.canRevokeTokens} brief />
        </>
      )}
    </>
  )
}

// ---- forms ------------------------------------------------------------------------------------

export interface UserFormValues {
  readonly name?: string | undefined
  readonly email?: string | undefined
  readonly orgId?: string | number | undefined
  readonly roleIds?: readonly (string | number)[] | undefined
}

function RoleChecks(props: { roles: readonly RoleDetail[]; checked: readonly (string | number)[]; error: string | undefined }) {
  const checked = new Set(props.checked.map(String))
  return (
    <fieldset class={props.error ? 'field checks has-error' : 'field checks'}>
      <legend>Roles</legend>
      <input type="hidden" name="rolesShown" value="1" />
      {props.roles.length === 0 && <p class="muted">You do not manage any role.</p>}
      {props.roles.map((r) => (
        <label>
          <input type="checkbox" name="roleIds" value={String(r.id)} checked={checked.has(String(r.id))} />
          <span>{r.name}{r.description && <small class="hint"> — {r.description}</small>}</span>
        </label>
      ))}
      {props.error && <small class="error">{props.error}</small>}
    </fieldset>
  )
}

export function UserForm(props: {
  csrf: string; mode: 'create' | 'edit'; action: string; cancelHref: string; values: UserFormValues
  orgs: readonly OrgChoice[]; roles: readonly RoleDetail[]; errors: Readonly<Record<string, string>>; message?: string | undefined
  user?: UserRecord | undefined
}) {
  const v = props.values
  return (
    <>
      <h1>{props.mode === 'create' ? 'New user' : `Edit ${props.user?.name ?? ''}`}</h1>
      <ErrorSummary message={props.message} />
      <form method="post" action={props.action} class="stacked panel" novalidate>
        <CsrfField token={props.csrf} />
        {props.mode === 'create'
          ? <Select label="Organisation" name="orgId" value={v.orgId} error={props.errors.orgId} options={props.orgs.map((o) => ({ value: o.id, label: indented(o) }))} />
          : <p><span class="muted">Organisation:</span> {props.user?.org_name} <span class="muted">(users do not move between organisations)</span></p>}
        <Field label="Name" name="name" value={v.name} error={props.errors.name} required maxlength={200} />
        {props.mode === 'create'
          ? <Field label="Email" name="email" type="email" value={v.email} error={props.errors.email} required maxlength={320} autocomplete="off" />
          : <p><span class="muted">Email:</span> {props.user?.email}</p>}
        <RoleChecks roles={props.roles} checked={v.roleIds ?? []} error={props.errors.roleIds} />
        {props.mode === 'create' && (
          <Field label="Initial password" name="password" type="password" error={props.errors.password} autocomplete="new-password" maxlength={1024}
            hint={`Use ${PASSWORD_RULES}. Leave empty and a password is made for you, shown once.`} />
        )}
        <div class="actions">
          <button type="submit">{props.mode === 'create' ? 'Create user' : 'Save'}</button>
          <a class="button secondary" href={props.cancelHref}>Cancel</a>
        </div>
      </form>
    </>
  )
}

/** A password the server made, shown this once. The page is `no-store`; nothing else keeps it. */
export function PasswordShown(props: { user: UserRecord; password: string; created: boolean }) {
  return (
    <>
      <h1>{props.created ? 'User created' : 'Password reset'}</h1>
      <section class="panel secret-panel">
        <p>The password for <strong>{props.user.email}</strong> is:</p>
        <p><code class="secret" data-secret="password">{props.password}</code></p>
        <p><strong>Copy it now.</strong> It is shown only this once and cannot be shown again; if it is lost, reset it.</p>
      </section>
      <div class="actions"><a class="button" href={`/users/${props.user.id}`}>Go to {props.user.name}</a></div>
    </>
  )
}
