/** Pages of the organisations module: the tree, one organisation, the create/edit form. */
import type { OrganisationRow } from '../../core/db/schema.ts'
import type { TreeNode } from '../../core/tenancy/organisations.ts'
import { CsrfField, ErrorSummary, Field, Select } from '../../views/forms.tsx'

export function KindBadge(props: { kind: string; status?: string }) {
  return (
    <>
      <span class={`badge ${props.kind}`}>{props.kind}</span>
      {props.status === 'suspended' && <> <span class="badge suspended">suspended</span></>}
    </>
  )
}

export interface TreeFilter {
  readonly q: string
  readonly kind: string
}

/** A report the list can open for the organisations it shows (the tenants-list flow). */
export interface OrgReportChoice {
  readonly id: string
  readonly title: string
}

/** At most this many listed organisations travel to a report (the report's own limit). */
const MAX_REPORT_ORGS = 1000

export function TreePage(props: { nodes: readonly TreeNode[]; filter: TreeFilter; canCreate: boolean; rootId: number; reports?: readonly OrgReportChoice[] }) {
  return (
    <>
      <h1>Organisations</h1>
      <form class="toolbar" method="get" action="/organisations" role="search"
        hx-get="/organisations" hx-trigger="input delay:300ms, change" hx-target="#org-table" hx-select="#org-table" hx-swap="outerHTML" hx-push-url="true">
        <input type="search" name="q" value={props.filter.q} placeholder="Search by name" aria-label="Search by name" maxlength={100} />
        <select name="kind" aria-label="Kind">
          <option value="" selected={props.filter.kind === ''}>All kinds</option>
          {['operator', 'reseller', 'customer'].map((k) => <option value={k} selected={props.filter.kind === k}>{k}</option>)}
        </select>
        <noscript><button type="submit">Filter</button></noscript>
        <span class="spacer" />
        {props.canCreate && <a class="button" href={`/organisations/new?parent=${props.rootId}&kind=reseller`}>New reseller</a>}
        {props.canCreate && <a class="button secondary" href={`/organisations/new?parent=${props.rootId}&kind=customer`}>New customer</a>}
      </form>
      <TreeTable nodes={props.nodes} filtered={props.filter.q !== '' || props.filter.kind !== ''} reports={props.reports ?? []} />
    </>
  )
}

/**
 * The tenants-list flow: open a report for the organisations the list shows. Unfiltered, the
 * report covers every organisation in scope; filtered, each listed organisation has a ticked box
 * (untick to leave one out) and the report gets them as repeated `org=<id>`.
 */
function ReportOnThese(props: { reports: readonly OrgReportChoice[]; filtered: boolean; count: number }) {
  if (!props.reports.length || props.count === 0) return null
  if (props.filtered && props.count > MAX_REPORT_ORGS) {
    return <p class="muted report-on">Narrow the filter to {MAX_REPORT_ORGS} organisations or fewer to report on them.</p>
  }
  return (
    <form id="report-on-orgs" class="toolbar report-on" method="get" action="/reports/open">
      <label for="report-on-report">{props.filtered ? `Report on these ${props.count} organisations` : 'Report on all organisations'}</label>
      <select id="report-on-report" name="report">
        {props.reports.map((r) => <option value={r.id}>{r.title}</option>)}
      </select>
      <button type="submit">Open report</button>
    </form>
  )
}

function TreeTable(props: { nodes: readonly TreeNode[]; filtered: boolean; reports: readonly OrgReportChoice[] }) {
  const pick = props.filtered && props.reports.length > 0 && props.nodes.length <= MAX_REPORT_ORGS
  return (
    <div id="org-table">
      <ReportOnThese reports={props.reports} filtered={props.filtered} count={props.nodes.length} />
      <div class="table-wrap">
      <table class="data">
        <thead><tr><th>Name</th><th>Kind</th><th>Currency</th><th>Billing email</th><th>Created</th></tr></thead>
        <tbody>
          {props.nodes.length === 0 && <tr><td colspan={5} class="empty">No organisations match.</td></tr>}
          {props.nodes.map(({ org, depth }) => (
            <tr data-org-id={String(org.id)}>
              <td>
                {!props.filtered && <span class="tree-indent" data-depth={String(depth)}>{'\u2003'.repeat(depth)}</span>}
                <a href={`/organisations/${org.id}`}>{org.name}</a>
                {pick && <input type="checkbox" class="report-pick" name="org" value={String(org.id)} form="report-on-orgs" checked aria-label={`Include ${org.name} in the report`} />}
              </td>
              <td><KindBadge kind={org.kind} status={org.status} /></td>
              <td>{org.currency}</td>
              <td>{org.billing_email ?? ''}</td>
              <td>{org.created_at.toISOString().slice(0, 10)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
    </div>
  )
}

export function DetailPage(props: { org: OrganisationRow; ancestors: readonly OrganisationRow[]; below: readonly OrganisationRow[]; userCount: number; canEdit: boolean }) {
  const { org } = props
  return (
    <>
      <div class="breadcrumbs">
        <a href="/organisations">Organisations</a>
        {props.ancestors.map((a) => <a href={`/organisations/${a.id}`}>{a.name}</a>)}
        <span>{org.name}</span>
      </div>
      <h1>{org.name} <KindBadge kind={org.kind} status={org.status} /></h1>
      <div class="toolbar">
        {props.canEdit && <a class="button secondary" href={`/organisations/${org.id}/edit`}>Edit</a>}
        {props.canEdit && org.kind !== 'customer' && <a class="button" href={`/organisations/new?parent=${org.id}&kind=reseller`}>Add reseller</a>}
        {props.canEdit && org.kind !== 'customer' && <a class="button secondary" href={`/organisations/new?parent=${org.id}&kind=customer`}>Add customer</a>}
      </div>
      <section class="panel">
        <dl class="props">
          <dt>Kind</dt><dd>{org.kind}</dd>
          <dt>Status</dt><dd>{org.status}</dd>
          <dt>Currency</dt><dd>{org.currency}</dd>
          <dt>Billing email</dt><dd>{org.billing_email ?? '—'}</dd>
          <dt>Users</dt><dd>{props.userCount}</dd>
          <dt>Created</dt><dd>{org.created_at.toISOString().slice(0, 16).replace('T', ' ')} UTC</dd>
        </dl>
      </section>
      {org.kind !== 'customer' && (
        <>
          <h2>Directly below ({props.below.length})</h2>
          <div class="table-wrap">
            <table class="data">
              <thead><tr><th>Name</th><th>Kind</th><th>Currency</th></tr></thead>
              <tbody>
                {props.below.length === 0 && <tr><td colspan={3} class="empty">Nothing here yet.</td></tr>}
                {props.below.map((child) => (
                  <tr><td><a href={`/organisations/${child.id}`}>{child.name}</a></td><td><KindBadge kind={child.kind} status={child.status} /></td><td>{child.currency}</td></tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  )
}

export interface FormValues {
  readonly name?: string | undefined
  readonly kind?: string | undefined
  readonly parentId?: string | number | undefined
  readonly billingEmail?: string | null | undefined
  readonly currency?: string | undefined
  readonly status?: string | undefined
}

export function OrganisationForm(props: {
  csrf: string
  action: string
  mode: 'create' | 'edit'
  values: FormValues
  parents: readonly OrganisationRow[]
  errors: Readonly<Record<string, string>>
  message?: string | undefined
  cancelHref: string
  movable: boolean
}) {
  const v = props.values
  const title = props.mode === 'create' ? `New ${v.kind === 'customer' ? 'customer' : 'reseller'}` : `Edit ${v.name ?? ''}`
  return (
    <>
      <h1>{title}</h1>
      <ErrorSummary message={props.message} />
      <form method="post" action={props.action} class="stacked panel" novalidate>
        <CsrfField token={props.csrf} />
        {props.mode === 'create' && (
          <Select label="Kind" name="kind" value={v.kind} error={props.errors.kind}
            options={[{ value: 'reseller', label: 'Reseller (partner)' }, { value: 'customer', label: 'Customer' }]} />
        )}
        <Field label="Name" name="name" value={v.name} error={props.errors.name} required maxlength={200} />
        {props.movable && (
          <Select label="Parent" name="parentId" value={v.parentId} error={props.errors.parentId}
            options={props.parents.map((p) => ({ value: p.id, label: `${p.name} (${p.kind})` }))} />
        )}
        <Field label="Billing email" name="billingEmail" type="email" value={v.billingEmail} error={props.errors.billingEmail} maxlength={320} />
        <Field label="Currency" name="currency" value={v.currency ?? 'EUR'} error={props.errors.currency} hint="Three-letter ISO code, e.g. EUR, USD, GBP" maxlength={3} />
        <Select label="Status" name="status" value={v.status ?? 'active'} error={props.errors.status}
          options={[{ value: 'active', label: 'Active' }, { value: 'suspended', label: 'Suspended' }]} />
        <div class="actions">
          <button type="submit">{props.mode === 'create' ? 'Create' : 'Save'}</button>
          <a class="button secondary" href={props.cancelHref}>Cancel</a>
        </div>
      </form>
    </>
  )
}
