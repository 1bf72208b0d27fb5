/** Pages of the discounts: the list with status badges, one discount with its edit form, the create form. */
import { DISCOUNT_STATUSES, type DiscountStatus, type DiscountView } from '../../core/billing/discounts.ts'
import { formatMoney } from '../../core/billing/money.ts'
import { DISCOUNT_TARGETS } from '../../core/db/schema.ts'
import { CsrfField, ErrorSummary, Field, Select } from '../../views/forms.tsx'
import { indented, type OrgChoice } from './views.tsx'
import { Pager } from '../../views/Pager.tsx'

// Reuses the badge colours the stylesheet already has: green, amber, red.
const BADGE: Record<DiscountStatus, string> = { active: 'user-active', scheduled: 'system', expired: 'user-disabled', cancelled: 'user-disabled' }

export function DiscountBadge(props: { status: DiscountStatus }) {
  return <span class={`badge discount-${props.status} ${BADGE[props.status]}`}>{props.status}</span>
}

export function discountValue(d: Pick<DiscountView, 'kind' | 'percent' | 'amount_minor' | 'currency'>): string {
  if (d.kind === 'percent') return `${d.percent!.replace(/\.?0+$/, '')} %`
  return formatMoney(d.amount_minor!, d.currency!)
}

const targetText = (d: DiscountView) => (d.target === 'all' ? 'Everything' : `${d.target}: ${d.target_name ?? '?'}`)

export interface DiscountFilterForm {
  readonly org: number | undefined
  readonly status: DiscountStatus | ''
  readonly target: string
  readonly page: number
}

export function discountsHref(filter: DiscountFilterForm, page = filter.page): string {
  const params = new URLSearchParams()
  if (filter.org !== undefined) params.set('org', String(filter.org))
  if (filter.status) params.set('status', filter.status)
  if (filter.target) params.set('target', filter.target)
  if (page > 1) params.set('page', String(page))
  const query = params.toString()
  return query ? `/credits/discounts?${query}` : '/credits/discounts'
}

export function DiscountsPage(props: {
  discounts: readonly DiscountView[]; total: number; pageSize: number; filter: DiscountFilterForm; orgs: readonly OrgChoice[]; canCreate: boolean
}) {
  const { filter, total, pageSize } = props
  return (
    <>
      <h1>Discounts</h1>
      <form class="toolbar" method="get" action="/credits/discounts" role="search"
        hx-get="/credits/discounts" hx-trigger="change" hx-target="#discount-table" hx-select="#discount-table" hx-swap="outerHTML" hx-push-url="true">
        <select name="org" aria-label="Account">
          <option value="" selected={filter.org === undefined}>All accounts</option>
          {props.orgs.map((o) => <option value={String(o.id)} selected={filter.org === o.id}>{'\u2003'.repeat(o.depth) + o.name}</option>)}
        </select>
        <select name="status" aria-label="Status">
          <option value="" selected={filter.status === ''}>Any status</option>
          {DISCOUNT_STATUSES.map((s) => <option value={s} selected={filter.status === s}>{s}</option>)}
        </select>
        <select name="target" aria-label="Applies to">
          <option value="" selected={filter.target === ''}>Any target</option>
          {DISCOUNT_TARGETS.map((t) => <option value={t} selected={filter.target === t}>{t}</option>)}
        </select>
        <noscript><button type="submit">Filter</button></noscript>
        <span class="spacer" />
        {props.canCreate && <a class="button" href="/credits/discounts/new">New discount</a>}
      </form>
      <div id="discount-table">
        <div class="table-wrap">
          <table class="data">
            <thead><tr><th>#</th><th>Account</th><th>Applies to</th><th class="num">Value</th><th>Valid</th><th>Status</th><th>Description</th></tr></thead>
            <tbody>
              {props.discounts.length === 0 && <tr><td colspan={7} class="empty">No discounts match.</td></tr>}
              {props.discounts.map((d) => (
                <tr data-discount-id={String(d.id)}>
                  <td><a href={`/credits/discounts/${d.id}`}>{d.id}</a></td>
                  <td>{d.org_name}</td>
                  <td>{targetText(d)}</td>
                  <td class="num">{discountValue(d)}</td>
                  <td>{d.valid_from} – {d.valid_to ?? 'open'}</td>
                  <td><DiscountBadge status={d.status} /></td>
                  <td>{d.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <Pager page={filter.page} pageSize={pageSize} shown={props.discounts.length} total={total} target="discount-table" href={(page) => discountsHref(filter, page)} />
      </div>
    </>
  )
}

export interface CatalogChoice {
  readonly value: string
  readonly label: string
}

export interface DiscountFormValues {
  readonly orgId?: string
  readonly item?: string
  readonly kind?: string
  readonly percent?: string
  readonly amount?: string
  readonly validFrom?: string
  readonly validTo?: string
  readonly description?: string
}

export function DiscountForm(props: {
  csrf: string; orgs: readonly OrgChoice[]; items: readonly CatalogChoice[]; values: DiscountFormValues; errors: Record<string, string>; message?: string | undefined
}) {
  const { values, errors } = props
  return (
    <>
      <div class="breadcrumbs"><a href="/credits/discounts">Discounts</a><span>New discount</span></div>
      <h1>New discount</h1>
      <ErrorSummary message={props.message} />
      <form method="post" action="/credits/discounts" class="stacked panel">
        <CsrfField token={props.csrf} />
        <Select label="Account" name="orgId" value={values.orgId} error={errors.orgId}
          options={[{ value: '', label: 'Choose an account' }, ...props.orgs.map((o) => ({ value: o.id, label: indented(o) }))]} />
        <Select label="Applies to" name="item" value={values.item ?? 'all'} error={errors.targetId ?? errors.target} options={props.items} />
        <Select label="Kind" name="kind" value={values.kind ?? 'percent'} error={errors.kind}
          options={[{ value: 'percent', label: 'Percent of the charges' }, { value: 'fixed', label: 'Fixed amount per invoice' }]} />
        <Field label="Percent" name="percent" value={values.percent} error={errors.percent} hint="Percent discounts: above 0, at most 100, up to four decimals" />
        <Field label="Amount" name="amount" value={values.amount} error={errors.amount ?? errors.currency} hint="Fixed discounts: in the account's currency, e.g. 25.00" />
        <Field label="Valid from" name="validFrom" type="date" value={values.validFrom} error={errors.validFrom} required />
        <Field label="Valid to" name="validTo" type="date" value={values.validTo} error={errors.validTo} hint="Leave empty for no end" />
        <Field label="Description" name="description" value={values.description} error={errors.description} maxlength={500} />
        <div class="actions"><button type="submit">Create</button><a href="/credits/discounts">Cancel</a></div>
      </form>
    </>
  )
}

export function DiscountDetail(props: {
  discount: DiscountView; csrf: string; editable: boolean; values?: DiscountFormValues; errors?: Record<string, string>; message?: string | undefined
}) {
  const d = props.discount
  const errors = props.errors ?? {}
  const values = props.values ?? { description: d.description, validTo: d.valid_to ?? '', percent: d.percent ?? '', amount: '' }
  return (
    <>
      <div class="breadcrumbs"><a href="/credits/discounts">Discounts</a><span>#{d.id}</span></div>
      <h1>Discount #{d.id} <DiscountBadge status={d.status} /></h1>
      <ErrorSummary message={props.message} />
      <dl class="props panel">
        <dt>Account</dt><dd>{d.org_name}</dd>
        <dt>Granted by</dt><dd>{d.granted_by_name ?? <span class="muted">an organisation above yours</span>}</dd>
        <dt>Applies to</dt><dd>{targetText(d)}</dd>
        <dt>Value</dt><dd>{discountValue(d)}</dd>
        <dt>Valid</dt><dd>{d.valid_from} – {d.valid_to ?? 'open'}</dd>
        {d.cancelled_at && <><dt>Cancelled</dt><dd>{d.cancelled_at.toISOString().slice(0, 16).replace('T', ' ')} UTC</dd></>}
        <dt>Description</dt><dd>{d.description || <span class="muted">none</span>}</dd>
      </dl>
      {props.editable && (
        <>
          <h2>Edit</h2>
          <form method="post" action={`/credits/discounts/${d.id}`} class="stacked panel">
            <CsrfField token={props.csrf} />
            <Field label="Description" name="description" value={values.description} error={errors.description} maxlength={500} />
            <Field label="Valid to" name="validTo" type="date" value={values.validTo} error={errors.validTo} hint="Leave empty for no end" />
            {d.status === 'scheduled' && d.kind === 'percent' && <Field label="Percent" name="percent" value={values.percent} error={errors.percent} />}
            {d.status === 'scheduled' && d.kind === 'fixed' && <Field label={`Amount (${d.currency})`} name="amount" value={values.amount} error={errors.amount} hint={`Now ${discountValue(d)}; leave empty to keep it`} />}
            <div class="actions"><button type="submit">Save</button></div>
          </form>
          <form method="post" action={`/credits/discounts/${d.id}/cancel`} class="actions">
            <CsrfField token={props.csrf} />
            <button type="submit" class="danger">Cancel this discount</button>
            <span class="muted">It stops applying to invoices not yet issued, and cannot be changed afterwards.</span>
          </form>
        </>
      )}
    </>
  )
}
