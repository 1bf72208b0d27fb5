/** Pages of subscriptions: the filtered list, one subscription with its plan's prices, the form. */
import { formatMoney, formatQuantity } from '../../core/billing/money.ts'
import type { PlanView } from '../../core/billing/plans.ts'
import type { ProviderView } from '../../core/billing/providers.ts'
import type { SubscriptionView } from '../../core/billing/subscriptions.ts'
import { SUBSCRIPTION_STATUSES } from '../../core/db/schema.ts'
import { CsrfField, ErrorSummary, Field, Select } from '../../views/forms.tsx'
import type { FormValues } from '../catalog/form.ts'
import { Pager } from '../../views/Pager.tsx'

export interface OrgChoice {
  readonly id: number
  readonly name: string
  readonly depth: number
  readonly currency: string
}

export interface ListFilter {
  readonly org: number | undefined
  readonly plan: number | undefined
  readonly status: string
  readonly expiring: number | undefined
  readonly page: number
}

export function listHref(f: ListFilter, page = f.page): string {
  const params = new URLSearchParams()
  if (f.org !== undefined) params.set('org', String(f.org))
  if (f.plan !== undefined) params.set('plan', String(f.plan))
  if (f.status) params.set('status', f.status)
  if (f.expiring !== undefined) params.set('expiring', String(f.expiring))
  if (page > 1) params.set('page', String(page))
  const query = params.toString()
  return query ? `/subscriptions?${query}` : '/subscriptions'
}

const indented = (o: OrgChoice) => '\u2003'.repeat(o.depth) + o.name

export function StatusBadge(props: { status: string }) {
  return <span class={`badge subscription-${props.status}`}>{props.status}</span>
}

export function ListPage(props: {
  subscriptions: readonly SubscriptionView[]; total: number; pageSize: number; filter: ListFilter; orgs: readonly OrgChoice[]; plans: readonly PlanView[]; canCreate: boolean
}) {
  const f = props.filter
  return (
    <>
      <h1>Subscriptions</h1>
      <form class="toolbar" method="get" action="/subscriptions" role="search"
        hx-get="/subscriptions" hx-trigger="input delay:300ms, change" hx-target="#subscription-table" hx-select="#subscription-table" hx-swap="outerHTML" hx-push-url="true">
        <select name="org" aria-label="Organisation">
          <option value="" selected={f.org === undefined}>All organisations</option>
          {props.orgs.map((o) => <option value={String(o.id)} selected={f.org === o.id}>{indented(o)}</option>)}
        </select>
        <select name="plan" aria-label="Plan">
          <option value="" selected={f.plan === undefined}>All plans</option>
          {props.plans.map((p) => <option value={String(p.id)} selected={f.plan === p.id}>{p.name}</option>)}
        </select>
        <select name="status" aria-label="Status">
          <option value="" selected={f.status === ''}>Any status</option>
          {SUBSCRIPTION_STATUSES.map((s) => <option value={s} selected={f.status === s}>{s}</option>)}
        </select>
        <input type="number" name="expiring" min={0} max={3660} value={f.expiring === undefined ? '' : String(f.expiring)} placeholder="Expiring within (days)" aria-label="Expiring within days" />
        <noscript><button type="submit">Filter</button></noscript>
        <span class="spacer" />
        {props.canCreate && <a class="button" href="/subscriptions/new">New subscription</a>}
      </form>
      <SubscriptionTable {...props} />
    </>
  )
}

function SubscriptionTable(props: { subscriptions: readonly SubscriptionView[]; total: number; pageSize: number; filter: ListFilter }) {
  const { filter, total, pageSize } = props
  return (
    <div id="subscription-table">
      <div class="table-wrap">
        <table class="data">
          <thead><tr><th>Name</th><th>Organisation</th><th>Plan</th><th>Provider</th><th>Starts</th><th>Ends</th><th>Status</th></tr></thead>
          <tbody>
            {props.subscriptions.length === 0 && <tr><td colspan={7} class="empty">No subscriptions match.</td></tr>}
            {props.subscriptions.map((s) => (
              <tr data-subscription-id={String(s.id)}>
                <td><a href={`/subscriptions/${s.id}`}>{s.name}</a></td>
                <td>{s.orgName}</td>
                <td>{s.planName}</td>
                <td>{s.providerName ?? '—'}</td>
                <td>{s.startsOn}</td>
                <td>{s.endsOn ?? '—'}</td>
                <td><StatusBadge status={s.status} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager page={filter.page} pageSize={pageSize} shown={props.subscriptions.length} total={total} target="subscription-table" href={(page) => listHref(filter, page)} />
    </div>
  )
}

export function DetailPage(props: { subscription: SubscriptionView; plan: PlanView; csrf: string; canUpdate: boolean; canDelete: boolean }) {
  const s = props.subscription
  const a = s.allocations
  return (
    <>
      <div class="breadcrumbs"><a href="/subscriptions">Subscriptions</a><span>{s.name}</span></div>
      <h1>{s.name} <StatusBadge status={s.status} /></h1>
      <div class="toolbar">
        {props.canUpdate && <a class="button secondary" href={`/subscriptions/${s.id}/edit`}>Edit</a>}
        {props.canDelete && (
          <form class="inline" method="post" action={`/subscriptions/${s.id}/delete`}>
            <CsrfField token={props.csrf} />
            <button type="submit" class="secondary">Delete</button>
          </form>
        )}
      </div>
      <section class="panel">
        <dl class="props">
          <dt>Organisation</dt><dd>{s.orgName}</dd>
          <dt>Plan</dt><dd>{s.planName} <code>{s.planCode}</code></dd>
          <dt>Provider</dt><dd>{s.providerName ?? '—'}</dd>
          <dt>Starts</dt><dd>{s.startsOn}</dd>
          <dt>Ends</dt><dd>{s.endsOn ?? 'open-ended'}</dd>
          <dt>Monthly fixed fee</dt><dd>{formatMoney(props.plan.fixedFeeMinor, props.plan.currency)}</dd>
        </dl>
      </section>
      <h2>Allocations</h2>
      <section class="panel">
        <dl class="props">
          <dt>vCPU</dt><dd>{formatQuantity(a.vcpu)}</dd>
          <dt>RAM</dt><dd>{formatQuantity(a.memoryGb, 'GB')}</dd>
          <dt>Storage</dt><dd>{formatQuantity(a.storageGb, 'GB')}</dd>
          <dt>Bundles</dt><dd>{a.bundles}</dd>
          <dt>Licence seats</dt><dd>{a.licenceSeats}</dd>
        </dl>
      </section>
      <h2>Prices of plan {props.plan.name}</h2>
      <div class="table-wrap">
        <table class="data">
          <thead><tr><th>Meter</th><th class="num">Unit price ({props.plan.currency})</th><th class="num">Included</th></tr></thead>
          <tbody>
            {props.plan.prices.length === 0 && <tr><td colspan={3} class="empty">No usage prices.</td></tr>}
            {props.plan.prices.map((p) => (
              <tr><td>{p.meterName} <code>{p.meterCode}</code></td><td class="num">{formatQuantity(p.unitPrice)}</td><td class="num">{formatQuantity(p.includedQuantity, p.unit)}</td></tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  )
}

export function SubscriptionForm(props: {
  csrf: string; action: string; mode: 'create' | 'edit'; values: FormValues; errors: Readonly<Record<string, string>>; message?: string | undefined; cancelHref: string
  orgs: readonly OrgChoice[]; plans: readonly PlanView[]; providers: readonly ProviderView[]; orgName?: string
}) {
  const v = props.values
  const e = props.errors
  return (
    <>
      <h1>{props.mode === 'create' ? 'New subscription' : `Edit ${v.name ?? 'subscription'}`}</h1>
      <ErrorSummary message={props.message} />
      <form method="post" action={props.action} class="stacked panel" novalidate>
        <CsrfField token={props.csrf} />
        {props.mode === 'create'
          ? <Select label="Organisation" name="orgId" value={v.orgId} error={e.orgId} options={props.orgs.map((o) => ({ value: o.id, label: `${indented(o)} (${o.currency})` }))} />
          : <p><strong>Organisation:</strong> {props.orgName}</p>}
        <Select label="Plan" name="planId" value={v.planId} error={e.planId}
          options={props.plans.map((p) => ({ value: p.id, label: `${p.name} (${p.code}, ${p.currency}${p.status === 'retired' ? ', retired' : ''})` }))} />
        <Select label="Provider" name="providerId" value={v.providerId ?? ''} error={e.providerId}
          options={[{ value: '', label: 'None' }, ...props.providers.map((p) => ({ value: p.id, label: `${p.name}${p.region ? ` (${p.region})` : ''}` }))]} />
        <Field label="Name" name="name" value={v.name} error={e.name} required maxlength={200} />
        <Field label="Starts on" name="startsOn" type="date" value={v.startsOn} error={e.startsOn} required />
        <Field label="Ends on" name="endsOn" type="date" value={v.endsOn} error={e.endsOn} hint="The expiry; leave empty for open-ended" />
        <Select label="Status" name="status" value={v.status ?? 'active'} error={e.status} options={SUBSCRIPTION_STATUSES.map((s) => ({ value: s, label: s }))} />
        <Field label="vCPU" name="vcpu" value={v.vcpu ?? '0'} error={e['allocations.vcpu']} />
        <Field label="RAM (GB)" name="memoryGb" value={v.memoryGb ?? '0'} error={e['allocations.memoryGb']} />
        <Field label="Storage (GB)" name="storageGb" value={v.storageGb ?? '0'} error={e['allocations.storageGb']} />
        <Field label="Bundles" name="bundles" value={v.bundles ?? '0'} error={e['allocations.bundles']} />
        <Field label="Licence seats" name="licenceSeats" value={v.licenceSeats ?? '0'} error={e['allocations.licenceSeats']} />
        <div class="actions">
          <button type="submit">{props.mode === 'create' ? 'Create' : 'Save'}</button>
          <a class="button secondary" href={props.cancelHref}>Cancel</a>
        </div>
      </form>
    </>
  )
}
