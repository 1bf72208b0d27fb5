/** Pages of the roles module: the list, one role, the create/edit form with its permission matrix. */
import type { Child } from 'hono/jsx'
import { ACTIONS, type SubjectEntry } from '../../core/access/catalogue.ts'
import type { RoleDetail } from '../../core/access/roles.ts'
import { CsrfField, ErrorSummary, Field } from '../../views/forms.tsx'

/** Who owns a role, as the caller may be told: never the name of an organisation outside its subtree. */
export type RoleOwner =
  | { readonly kind: 'system' }
  | { readonly kind: 'org'; readonly id: number; readonly name: string }
  | { readonly kind: 'shared' }

/** A role as the pages show it, with what the caller may do with it. */
export interface RoleView {
  readonly role: RoleDetail
  readonly owner: RoleOwner
  /** Roles it manages that the caller can see (by name). */
  readonly managed: readonly { readonly id: number; readonly name: string }[]
  /** Roles it manages that the caller cannot see: counted, never named. */
  readonly hiddenManaged: number
  /** Why the caller may not edit or delete it; undefined when it may. */
  readonly refusal: string | undefined
}

export interface RoleHolder {
  readonly id: number
  readonly name: string
  readonly email: string
  readonly orgName: string
}

/** Tells whether the caller holds `action` on `subject` (the matrix disables what it does not). */
export type Holds = (action: string, subject: string) => boolean

/** The matrix rows: every subject, plus the `all` row first. */
function matrixRows(catalogue: readonly SubjectEntry[]): SubjectEntry[] {
  return [{ subject: 'all', label: 'All subjects', actions: [...ACTIONS], owner: 'core' }, ...catalogue]
}

const ACTION_LABEL: Record<string, string> = { manage: 'All' }
const actionLabel = (action: string) => ACTION_LABEL[action] ?? action.charAt(0).toUpperCase() + action.slice(1)

/** Whether a row offers `action`: its declared actions, and `manage` (every action) always. */
const offers = (entry: SubjectEntry, action: string) => action === 'manage' || entry.actions.includes(action)

export function OwnerLabel(props: { owner: RoleOwner }) {
  const { owner } = props
  if (owner.kind === 'system') return <span class="badge system">system</span>
  if (owner.kind === 'shared') return <span class="muted">shared with you</span>
  return <a href={`/organisations/${owner.id}`}>{owner.name}</a>
}

function ManagesLabel(props: { view: RoleView }) {
  const { role, managed, hiddenManaged } = props.view
  if (role.manages_all) return <strong>All roles</strong>
  if (managed.length === 0 && hiddenManaged === 0) return <span class="muted">none</span>
  return (
    <>
      {managed.map((m, i) => <>{i > 0 && ', '}<a href={`/roles/${m.id}`}>{m.name}</a></>)}
      {hiddenManaged > 0 && <span class="muted">{managed.length ? ', ' : ''}{hiddenManaged} not visible to you</span>}
    </>
  )
}

export function RoleListPage(props: { views: readonly RoleView[]; canCreate: boolean }) {
  return (
    <>
      <h1>Roles</h1>
      <div class="toolbar">
        <p class="muted">System roles ship with Ledgerlite and cannot be changed. Custom roles belong to an organisation and are used inside it.</p>
        <span class="spacer" />
        {props.canCreate && <a class="button" href="/roles/new">New role</a>}
      </div>
      <div class="table-wrap" id="role-table">
        <table class="data roles">
          <thead><tr><th>Name</th><th>Owner</th><th>Description</th><th class="num">Users</th><th>Manages</th></tr></thead>
          <tbody>
            {props.views.length === 0 && <tr><td colspan={5} class="empty">No roles.</td></tr>}
            {props.views.map((view) => (
              <tr data-role-id={String(view.role.id)}>
                <td><a href={`/roles/${view.role.id}`}>{view.role.name}</a></td>
                <td><OwnerLabel owner={view.owner} /></td>
                <td class="wrap">{view.role.description}</td>
                <td class="num">{view.role.userCount}</td>
                <td class="wrap"><ManagesLabel view={view} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  )
}

/**
 * The matrix's table: a row per catalogue subject (and All subjects), a column per action; `cell`
 * draws each (subject, action) the subject offers.
 */
function MatrixTable(props: { catalogue: readonly SubjectEntry[]; input?: boolean; cell: (entry: SubjectEntry, action: string) => Child }) {
  return (
    <div class="table-wrap">
      <table class="data matrix" data-role-matrix={props.input ? '' : undefined}>
        <thead><tr><th>Subject</th>{ACTIONS.map((a) => <th class="cell">{actionLabel(a)}</th>)}</tr></thead>
        <tbody>
          {matrixRows(props.catalogue).map((entry) => (
            <tr data-subject={entry.subject}>
              <th scope="row">{entry.label}</th>
              {ACTIONS.map((action) => (offers(entry, action) ? props.cell(entry, action) : <td class="cell na" />))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** The matrix, read-only: stored pairs, and pairs a broader one (a row's All, or the All subjects row) includes. */
function ReadOnlyMatrix(props: { catalogue: readonly SubjectEntry[]; role: RoleDetail; includes: Holds }) {
  const stored = new Set(props.role.permissions.map((p) => `${p.subject}:${p.action}`))
  return (
    <MatrixTable catalogue={props.catalogue} cell={(entry, action) => {
      if (stored.has(`${entry.subject}:${action}`)) return <td class="cell granted" data-permission={`${entry.subject}:${action}`}>✓</td>
      if (props.includes(action, entry.subject)) return <td class="cell implied" title="Included by a broader permission">(✓)</td>
      return <td class="cell">·</td>
    }} />
  )
}

export function RoleDetailPage(props: {
  view: RoleView
  catalogue: readonly SubjectEntry[]
  includes: Holds
  holders: readonly RoleHolder[]
  canEdit: boolean
  canDelete: boolean
  /** Roles its users may be given instead when it is deleted. */
  replacements: readonly RoleDetail[]
  csrf: string
  message?: string | undefined
  errors?: Readonly<Record<string, string>> | undefined
}) {
  const { view } = props
  const { role } = view
  return (
    <>
      <div class="breadcrumbs"><a href="/roles">Roles</a><span>{role.name}</span></div>
      <h1>{role.name} {role.system_key && <span class="badge system">system</span>}</h1>
      <ErrorSummary message={props.message} />
      <div class="toolbar">
        {props.canEdit && !view.refusal && <a class="button secondary" href={`/roles/${role.id}/edit`}>Edit</a>}
        {view.refusal && <span class="muted">{view.refusal}</span>}
      </div>
      <section class="panel">
        <dl class="props">
          <dt>Owner</dt><dd><OwnerLabel owner={view.owner} /></dd>
          <dt>Description</dt><dd>{role.description || '—'}</dd>
          <dt>May manage</dt><dd><ManagesLabel view={view} /></dd>
          <dt>Users in your organisations</dt><dd>{role.userCount}</dd>
        </dl>
      </section>
      <h2>Permissions</h2>
      <ReadOnlyMatrix catalogue={props.catalogue} role={role} includes={props.includes} />
      <h2>Users holding it ({props.holders.length})</h2>
      <div class="table-wrap">
        <table class="data">
          <thead><tr><th>Name</th><th>Email</th><th>Organisation</th></tr></thead>
          <tbody>
            {props.holders.length === 0 && <tr><td colspan={3} class="empty">Nobody in your organisations holds this role.</td></tr>}
            {props.holders.map((u) => <tr><td><a href={`/users/${u.id}`}>{u.name}</a></td><td>{u.email}</td><td>{u.orgName}</td></tr>)}
          </tbody>
        </table>
      </div>
      {props.canDelete && !view.refusal && <DeleteForm {...props} />}
    </>
  )
}

function DeleteForm(props: { view: RoleView; replacements: readonly RoleDetail[]; csrf: string; errors?: Readonly<Record<string, string>> | undefined }) {
  const { role } = props.view
  const error = props.errors?.reassignTo
  return (
    <form method="post" action={`/roles/${role.id}/delete`} class="stacked panel danger-zone">
      <h2>Delete this role</h2>
      <CsrfField token={props.csrf} />
      {role.userCount > 0 && (
        <div class={error ? 'field has-error' : 'field'}>
          <label for="f-reassignTo">Give its users this role instead</label>
          <select id="f-reassignTo" name="reassignTo" aria-invalid={error ? 'true' : undefined}>
            <option value="">Choose a role…</option>
            {props.replacements.map((r) => <option value={String(r.id)}>{r.name}</option>)}
          </select>
          {error && <small class="error">{error}</small>}
        </div>
      )}
      <div class="actions"><button type="submit" class="danger">Delete role</button></div>
    </form>
  )
}

/** What the form shows: a stored role, or what was posted (kept as sent when it did not validate). */
export interface RoleFormValues {
  readonly name: string
  readonly description: string
  readonly permissions: readonly string[]
  readonly manages: string
  readonly managedRoleIds: readonly (string | number)[]
}

export function formValuesOf(role: RoleDetail): RoleFormValues {
  return {
    name: role.name,
    description: role.description,
    permissions: role.permissions.map((p) => `${p.subject}:${p.action}`),
    manages: role.manages_all ? 'all' : 'list',
    managedRoleIds: role.managedRoleIds,
  }
}

/** The editable matrix: a checkbox where the subject offers the action, disabled where the caller does not hold it. */
function MatrixInput(props: { catalogue: readonly SubjectEntry[]; checked: ReadonlySet<string>; holds: Holds; error?: string | undefined }) {
  return (
    <fieldset class={props.error ? 'matrix-field has-error' : 'matrix-field'}>
      <legend>Permissions</legend>
      <p class="hint muted">“All” in a row grants every action on that subject, including actions added later. Greyed boxes are permissions you do not hold yourself, so you cannot grant them.</p>
      {props.error && <p class="error">{props.error}</p>}
      <MatrixTable catalogue={props.catalogue} input cell={(entry, action) => {
        const value = `${entry.subject}:${action}`
        return (
          <td class="cell">
            <input type="checkbox" name="permissions" value={value} checked={props.checked.has(value)}
              disabled={!props.holds(action, entry.subject)} aria-label={`${entry.label}: ${actionLabel(action)}`}
              data-row-all={action === 'manage' ? '' : undefined} />
          </td>
        )
      }} />
    </fieldset>
  )
}

export function RoleForm(props: {
  csrf: string
  action: string
  mode: 'create' | 'edit'
  values: RoleFormValues
  catalogue: readonly SubjectEntry[]
  holds: Holds
  /** The caller's own delegation: "manage all roles" is offered only to a caller who has it. */
  callerManagesAll: boolean
  /** Roles the caller manages: the choices for "only these roles". */
  manageable: readonly RoleDetail[]
  errors: Readonly<Record<string, string>>
  message?: string | undefined
  cancelHref: string
}) {
  const v = props.values
  const managed = new Set(v.managedRoleIds.map(String))
  return (
    <>
      <h1>{props.mode === 'create' ? 'New role' : `Edit ${v.name}`}</h1>
      <ErrorSummary message={props.message} />
      <form method="post" action={props.action} class="stacked panel role-form" novalidate>
        <CsrfField token={props.csrf} />
        <Field label="Name" name="name" value={v.name} error={props.errors.name} required maxlength={100} />
        <div class={props.errors.description ? 'field has-error' : 'field'}>
          <label for="f-description">Description</label>
          <textarea id="f-description" name="description" rows={3} maxlength={1000}>{v.description}</textarea>
          {props.errors.description && <small class="error">{props.errors.description}</small>}
        </div>
        <MatrixInput catalogue={props.catalogue} checked={new Set(v.permissions)} holds={props.holds} error={props.errors.permissions} />
        <fieldset class={props.errors.manages || props.errors.managedRoleIds ? 'manages-field has-error' : 'manages-field'}>
          <legend>Users holding this role may give others</legend>
          <label class="choice">
            <input type="radio" name="manages" value="all" checked={v.manages === 'all'} disabled={!props.callerManagesAll} />
            {' '}Every role they can see (manage all roles)
          </label>
          <label class="choice">
            <input type="radio" name="manages" value="list" checked={v.manages !== 'all'} />
            {' '}Only these roles:
          </label>
          {props.errors.manages && <p class="error">{props.errors.manages}</p>}
          <ul class="choices">
            {props.manageable.length === 0 && <li class="muted">You manage no roles.</li>}
            {props.manageable.map((r) => (
              <li>
                <label class="choice">
                  <input type="checkbox" name="managedRoleIds" value={String(r.id)} checked={managed.has(String(r.id))} />
                  {' '}{r.name}{r.system_key && <span class="muted"> (system)</span>}
                </label>
              </li>
            ))}
          </ul>
          {props.errors.managedRoleIds && <p class="error">{props.errors.managedRoleIds}</p>}
        </fieldset>
        <div class="actions">
          <button type="submit">{props.mode === 'create' ? 'Create role' : 'Save'}</button>
          <a class="button secondary" href={props.cancelHref}>Cancel</a>
        </div>
      </form>
    </>
  )
}
