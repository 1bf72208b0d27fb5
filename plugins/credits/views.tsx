/** Pages of the credit ledger: balances with accrued credit, the ledger with filters, the grant form. */
import type { BalanceRow, CreditEntryView } from '../../core/billing/credits.ts'
import { creditKindLabel } from '../../core/billing/credits.ts'
import { formatMoney } from '../../core/billing/money.ts'
import { CREDIT_KINDS, type CreditKind } from '../../core/db/schema.ts'
import { CsrfField, ErrorSummary, Field, Select } from '../../views/forms.tsx'

export interface OrgChoice {
  readonly id: number
  readonly name: string
  readonly depth: number
}

export const indented = (o: OrgChoice): string => '\u2003'.repeat(Math.max(0, o.depth - 1)) + o.name

export interface LedgerFilterForm {
  readonly org: number | undefined
  readonly kind: CreditKind | ''
  readonly from: string
  readonly to: string
  readonly before: string
}

export function ledgerHref(filter: LedgerFilterForm, before = filter.before): string {
  const params = new URLSearchParams()
  if (filter.org !== undefined) params.set('org', String(filter.org))
  if (filter.kind) params.set('kind', filter.kind)
  if (filter.from) params.set('from', filter.from)
  if (filter.to) params.set('to', filter.to)
  if (before) params.set('before', before)
  const query = params.toString()
  return query ? `/credits?${query}` : '/credits'
}

export function CreditsPage(props: {
  balances: readonly BalanceRow[]; period: { from: string; to: string }; entries: readonly CreditEntryView[]; nextBefore: string | null
  filter: LedgerFilterForm; orgs: readonly OrgChoice[]; canCreate: boolean
}) {
  const { filter } = props
  return (
    <>
      <h1>Credits</h1>
      <form class="toolbar" method="get" action="/credits" role="search"
        hx-get="/credits" hx-trigger="change" hx-target="#credits-body" hx-select="#credits-body" hx-swap="outerHTML" hx-push-url="true">
        <select name="org" aria-label="Account">
          <option value="" selected={filter.org === undefined}>All accounts</option>
          {props.orgs.map((o) => <option value={String(o.id)} selected={filter.org === o.id}>{'\u2003'.repeat(o.depth) + o.name}</option>)}
        </select>
        <select name="kind" aria-label="Kind">
          <option value="" selected={filter.kind === ''}>Any kind</option>
          {CREDIT_KINDS.map((k) => <option value={k} selected={filter.kind === k}>{creditKindLabel(k)}</option>)}
        </select>
        <label>From <input type="date" name="from" value={filter.from} /></label>
        <label>To <input type="date" name="to" value={filter.to} /></label>
        <noscript><button type="submit">Filter</button></noscript>
        <span class="spacer" />
        {props.canCreate && <a class="button" href="/credits/new">Grant credit</a>}
      </form>
      <div id="credits-body">
        <h2>Balances</h2>
        <p class="muted">Accrued: credit added from {props.period.from} to {props.period.to}.</p>
        <div class="table-wrap">
          <table class="data">
            <thead><tr><th>Account</th><th>Currency</th><th class="num">Balance</th><th class="num">Accrued</th></tr></thead>
            <tbody>
              {props.balances.length === 0 && <tr><td colspan={4} class="empty">No credit yet.</td></tr>}
              {props.balances.map((b) => (
                <tr>
                  <td><a href={ledgerHref({ ...filter, org: b.org_id }, '')}>{b.org_name}</a></td>
                  <td>{b.currency}</td>
                  <td class="num">{formatMoney(b.balance_minor, b.currency)}</td>
                  <td class="num">{formatMoney(b.accrued_minor ?? '0', b.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <h2>Ledger</h2>
        <div class="table-wrap">
          <table class="data">
            <thead><tr><th>#</th><th>Date</th><th>Account</th><th>Kind</th><th class="num">Amount</th><th>Expires</th><th>Granted by</th><th>Description</th></tr></thead>
            <tbody>
              {props.entries.length === 0 && <tr><td colspan={8} class="empty">No entries match.</td></tr>}
              {props.entries.map((e) => (
                <tr data-entry-id={e.id}>
                  <td>{e.id}</td>
                  <td>{e.occurred_at.toISOString().slice(0, 10)}</td>
                  <td>{e.org_name}</td>
                  <td>{creditKindLabel(e.kind)}{e.invoice_id !== null && <span class="muted"> (invoice #{e.invoice_id})</span>}</td>
                  <td class="num">{formatMoney(e.amount_minor, e.currency)}</td>
                  <td>{e.expires_on ?? ''}{e.expired_at && <span class="muted"> (expired)</span>}</td>
                  <td>{e.granted_by_name ?? <span class="muted">above you</span>}</td>
                  <td>{e.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <nav class="pager" aria-label="Pages">
          {filter.before && <a class="button secondary" href={ledgerHref(filter, '')} hx-get={ledgerHref(filter, '')} hx-target="#credits-body" hx-select="#credits-body" hx-swap="outerHTML" hx-push-url="true">Newest</a>}
          {props.nextBefore && <a class="button secondary" href={ledgerHref(filter, props.nextBefore)} hx-get={ledgerHref(filter, props.nextBefore)} hx-target="#credits-body" hx-select="#credits-body" hx-swap="outerHTML" hx-push-url="true">Older</a>}
        </nav>
      </div>
    </>
  )
}

export interface CreditFormValues {
  readonly orgId?: string
  readonly kind?: string
  readonly amount?: string
  readonly currency?: string
  readonly expiresOn?: string
  readonly description?: string
}

export function CreditForm(props: { csrf: string; orgs: readonly OrgChoice[]; values: CreditFormValues; errors: Record<string, string>; message?: string | undefined }) {
  const { values, errors } = props
  return (
    <>
      <div class="breadcrumbs"><a href="/credits">Credits</a><span>Grant credit</span></div>
      <h1>Grant credit</h1>
      <ErrorSummary message={props.message} />
      <form method="post" action="/credits" class="stacked panel">
        <CsrfField token={props.csrf} />
        <Select label="Account" name="orgId" value={values.orgId} error={errors.orgId}
          options={[{ value: '', label: 'Choose an account' }, ...props.orgs.map((o) => ({ value: o.id, label: indented(o) }))]} />
        <Select label="Kind" name="kind" value={values.kind ?? 'topup'} error={errors.kind}
          options={[{ value: 'topup', label: 'Top-up' }, { value: 'adjustment', label: 'Adjustment (either sign; give a reason)' }, { value: 'accrual', label: 'Accrual (earned credit)' }]} />
        <Field label="Amount" name="amount" value={values.amount} error={errors.amount} required hint="In major units, e.g. 50.00; an adjustment may be negative" />
        <Field label="Currency" name="currency" value={values.currency} error={errors.currency} maxlength={3} hint="Leave empty for the account's currency" />
        <Field label="Expires on" name="expiresOn" type="date" value={values.expiresOn} error={errors.expiresOn} hint="Top-ups only: the last day the credit can be used" />
        <Field label="Description" name="description" value={values.description} error={errors.description} maxlength={500} hint="Required for an adjustment: the reason" />
        <div class="actions"><button type="submit">Grant</button><a href="/credits">Cancel</a></div>
      </form>
    </>
  )
}
