/** Pages of the billing module: the invoice list, one invoice (also printable), billing runs. */
import { STATUS_LABELS, balanceOf } from '../../core/billing/invoice-actions.ts'
import type { InvoiceDetail, InvoiceListRow } from '../../core/billing/invoice-queries.ts'
import { formatMoney, formatQuantity } from '../../core/billing/money.ts'
import { INVOICE_STATUSES, type BillingRunRow, type InvoiceStatus, type OrganisationRow } from '../../core/db/schema.ts'
import { CsrfField, ErrorSummary, Field } from '../../views/forms.tsx'

export function StatusBadge(props: { status: InvoiceStatus }) {
  return <span class={`badge invoice-${props.status}`}>{STATUS_LABELS[props.status]}</span>
}

export interface InvoiceListFilter {
  readonly status: string
  readonly period: string
  readonly org: string
  readonly page: number
}

export function filterQuery(filter: InvoiceListFilter, page = filter.page): string {
  const params = new URLSearchParams()
  if (filter.status) params.set('status', filter.status)
  if (filter.period) params.set('period', filter.period)
  if (filter.org) params.set('org', filter.org)
  if (page > 1) params.set('page', String(page))
  const text = params.toString()
  return text ? `?${text}` : ''
}

export function InvoiceListPage(props: { invoices: readonly InvoiceListRow[]; total: number; pageSize: number; filter: InvoiceListFilter; orgs: readonly OrganisationRow[]; message?: string | undefined }) {
  const { filter } = props
  return (
    <>
      <link rel="stylesheet" href="/billing/billing.css" />
      <h1>Invoices</h1>
      <ErrorSummary message={props.message} />
      <form class="toolbar" method="get" action="/billing/invoices" role="search"
        hx-get="/billing/invoices" hx-trigger="input delay:300ms, change" hx-target="#invoice-table" hx-select="#invoice-table" hx-swap="outerHTML" hx-push-url="true">
        <select name="status" aria-label="Status">
          <option value="" selected={filter.status === ''}>All statuses</option>
          {INVOICE_STATUSES.map((s) => <option value={s} selected={filter.status === s}>{STATUS_LABELS[s]}</option>)}
        </select>
        <input type="month" name="period" value={filter.period} aria-label="Period (YYYY-MM)" placeholder="YYYY-MM" />
        {props.orgs.length > 1 && (
          <select name="org" aria-label="Organisation">
            <option value="" selected={filter.org === ''}>All organisations</option>
            {props.orgs.map((o) => <option value={String(o.id)} selected={filter.org === String(o.id)}>{o.name}</option>)}
          </select>
        )}
        <noscript><button type="submit">Filter</button></noscript>
      </form>
      <InvoiceTable {...props} />
    </>
  )
}

function InvoiceTable(props: { invoices: readonly InvoiceListRow[]; total: number; pageSize: number; filter: InvoiceListFilter }) {
  const pages = Math.max(1, Math.ceil(props.total / props.pageSize))
  const page = props.filter.page
  return (
    <div id="invoice-table">
      <div class="table-wrap">
        <table class="data">
          <thead><tr><th>Number</th><th>Organisation</th><th>Period</th><th>Status</th><th>Issued</th><th>Due</th><th class="num">Total</th><th class="num">Balance</th></tr></thead>
          <tbody>
            {props.invoices.length === 0 && <tr><td colspan={8} class="empty">No invoices match.</td></tr>}
            {props.invoices.map((i) => (
              <tr data-invoice-id={String(i.id)}>
                <td><a href={`/billing/invoices/${i.id}`}>{i.number}</a></td>
                <td>{i.org_name}</td>
                <td>{i.period.slice(0, 7)}</td>
                <td><StatusBadge status={i.status} /></td>
                <td>{i.issued_on ?? '—'}</td>
                <td>{i.due_on ?? '—'}</td>
                <td class="num">{formatMoney(i.total_minor, i.currency)}</td>
                <td class="num">{i.status === 'void' ? '—' : formatMoney(balanceOf(i), i.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="muted pager">
        {props.total} invoice{props.total === 1 ? '' : 's'} · page {page} of {pages}
        {page > 1 && <> · <a href={`/billing/invoices${filterQuery(props.filter, page - 1)}`} rel="prev">Previous</a></>}
        {page < pages && <> · <a href={`/billing/invoices${filterQuery(props.filter, page + 1)}`} rel="next">Next</a></>}
      </p>
    </div>
  )
}

function InvoiceBody(props: { detail: InvoiceDetail }) {
  const { invoice, lines, payments } = props.detail
  const money = (minor: string | bigint) => formatMoney(minor, invoice.currency)
  return (
    <>
      <section class="panel invoice-header">
        <dl class="props">
          <dt>Invoice</dt><dd>{invoice.number}</dd>
          <dt>Billed to</dt><dd>{invoice.org_name}</dd>
          <dt>Period</dt><dd>{invoice.period.slice(0, 7)}</dd>
          <dt>Status</dt><dd><StatusBadge status={invoice.status} /></dd>
          <dt>Issued</dt><dd>{invoice.issued_on ?? '—'}</dd>
          <dt>Due</dt><dd>{invoice.due_on ?? '—'}</dd>
          <dt>Currency</dt><dd>{invoice.currency}</dd>
        </dl>
      </section>
      <h2>Lines</h2>
      <div class="table-wrap">
        <table class="data invoice-lines">
          <thead><tr><th>#</th><th>Description</th><th class="num">Quantity</th><th class="num">Included</th><th class="num">Unit price</th><th class="num">Amount</th></tr></thead>
          <tbody>
            {lines.length === 0 && <tr><td colspan={6} class="empty">No charges for this period.</td></tr>}
            {lines.map((l) => (
              <tr class={`line-${l.kind}`}>
                <td>{l.position}</td>
                <td>{l.description}</td>
                <td class="num">{l.quantity === null ? '' : formatQuantity(l.quantity, l.unit ?? undefined)}</td>
                <td class="num">{l.included_quantity === null || /^0(\.0+)?$/.test(l.included_quantity) ? '' : formatQuantity(l.included_quantity)}</td>
                <td class="num">{l.unit_price === null ? '' : `${formatQuantity(l.unit_price)} ${invoice.currency}`}</td>
                <td class="num">{money(l.amount_minor)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr><th colspan={5} class="num">Subtotal</th><td class="num">{money(invoice.subtotal_minor)}</td></tr>
            {invoice.discount_minor !== '0' && <tr><th colspan={5} class="num">Discounts</th><td class="num">{money(invoice.discount_minor)}</td></tr>}
            {invoice.credit_minor !== '0' && <tr><th colspan={5} class="num">Credit applied</th><td class="num">{money(invoice.credit_minor)}</td></tr>}
            <tr class="total"><th colspan={5} class="num">Total</th><td class="num"><strong>{money(invoice.total_minor)}</strong></td></tr>
            {invoice.paid_minor !== '0' && <tr><th colspan={5} class="num">Paid</th><td class="num">{money(invoice.paid_minor)}</td></tr>}
            {invoice.status !== 'void' && invoice.status !== 'draft' && <tr><th colspan={5} class="num">Balance due</th><td class="num">{money(balanceOf(invoice))}</td></tr>}
          </tfoot>
        </table>
      </div>
      {payments.length > 0 && (
        <>
          <h2>Payments</h2>
          <div class="table-wrap">
            <table class="data">
              <thead><tr><th>Paid on</th><th>Method</th><th>Reference</th><th class="num">Amount</th></tr></thead>
              <tbody>
                {payments.map((p) => <tr><td>{p.paid_on}</td><td>{p.method}</td><td>{p.reference}</td><td class="num">{money(p.amount_minor)}</td></tr>)}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  )
}

export interface PaymentFormValues {
  readonly amount?: string | undefined
  readonly paidOn?: string | undefined
  readonly reference?: string | undefined
}

function Actions(props: { detail: InvoiceDetail; csrf: string; values: PaymentFormValues; errors: Readonly<Record<string, string>> }) {
  const { invoice } = props.detail
  const action = `/billing/invoices/${invoice.id}`
  const statusButton = (status: string, label: string, secondary = true) => (
    <form method="post" action={`${action}/status`} class="inline">
      <CsrfField token={props.csrf} />
      <input type="hidden" name="status" value={status} />
      <button type="submit" class={secondary ? 'secondary' : undefined}>{label}</button>
    </form>
  )
  const open = invoice.status === 'issued' || invoice.status === 'overdue'
  return (
    <section class="invoice-actions no-print">
      <h2>Actions</h2>
      <div class="toolbar">
        {invoice.status === 'draft' && statusButton('issued', 'Issue invoice', false)}
        {open && statusButton('paid', 'Mark paid', false)}
        {invoice.status !== 'void' && invoice.status !== 'paid' && invoice.paid_minor === '0' && statusButton('void', 'Void invoice')}
      </div>
      {open && (
        <form method="post" action={`${action}/payments`} class="stacked panel" novalidate>
          <h3>Record a payment</h3>
          <CsrfField token={props.csrf} />
          <Field label={`Amount (${invoice.currency})`} name="amount" value={props.values.amount} error={props.errors.amount} required hint={`Balance ${formatMoney(balanceOf(invoice), invoice.currency)}`} maxlength={20} />
          <Field label="Paid on" name="paidOn" type="date" value={props.values.paidOn} error={props.errors.paidOn} />
          <Field label="Reference" name="reference" value={props.values.reference} error={props.errors.reference} maxlength={200} />
          <div class="actions"><button type="submit">Record payment</button></div>
        </form>
      )}
    </section>
  )
}

export function InvoicePage(props: { detail: InvoiceDetail; canUpdate: boolean; csrf: string; values?: PaymentFormValues; errors?: Readonly<Record<string, string>>; message?: string | undefined }) {
  const { invoice } = props.detail
  return (
    <>
      <link rel="stylesheet" href="/billing/billing.css" />
      <div class="breadcrumbs no-print"><a href="/billing/invoices">Invoices</a><span>{invoice.number}</span></div>
      <h1>Invoice {invoice.number} <StatusBadge status={invoice.status} /></h1>
      <div class="toolbar no-print">
        <a class="button secondary" href={`/billing/invoices/${invoice.id}?print=1`} target="_blank" rel="noopener">Printable version</a>
      </div>
      <ErrorSummary message={props.message} />
      <InvoiceBody detail={props.detail} />
      {props.canUpdate && invoice.status !== 'void' && invoice.status !== 'paid' && <Actions detail={props.detail} csrf={props.csrf} values={props.values ?? {}} errors={props.errors ?? {}} />}
    </>
  )
}

/** The invoice alone, without the app shell: what a browser prints or saves as PDF. */
export function PrintableInvoice(props: { detail: InvoiceDetail }) {
  const { invoice } = props.detail
  return (
    <div class="invoice-print">
      <link rel="stylesheet" href="/billing/billing.css" />
      <header class="invoice-print-head">
        <h1>Invoice {invoice.number}</h1>
        <p class="muted no-print"><a href={`/billing/invoices/${invoice.id}`}>Back to the invoice</a> · use your browser's print command</p>
      </header>
      <InvoiceBody detail={props.detail} />
    </div>
  )
}

export function RunsPage(props: { runs: readonly BillingRunRow[]; total: number; canCreate: boolean; csrf: string; period: string; errors: Readonly<Record<string, string>>; message?: string | undefined }) {
  return (
    <>
      <link rel="stylesheet" href="/billing/billing.css" />
      <h1>Billing runs</h1>
      <ErrorSummary message={props.message} />
      {props.canCreate && (
        <form method="post" action="/billing/runs" class="stacked panel" novalidate>
          <CsrfField token={props.csrf} />
          <Field label="Period" name="period" value={props.period} error={props.errors.period} required hint="A month, YYYY-MM. A past month gives issued invoices; the current month gives drafts that a later run updates." maxlength={7} />
          <div class="actions"><button type="submit">Start billing run</button></div>
        </form>
      )}
      <h2>Recent runs</h2>
      <div class="table-wrap" id="run-table">
        <table class="data">
          <thead><tr><th>#</th><th>Period</th><th>Status</th><th class="num">Created</th><th class="num">Updated</th><th>Started</th><th>Finished</th><th>Error</th></tr></thead>
          <tbody>
            {props.runs.length === 0 && <tr><td colspan={8} class="empty">No billing runs yet.</td></tr>}
            {props.runs.map((r) => (
              <tr>
                <td>{r.id}</td><td>{r.period.slice(0, 7)}</td><td><span class={`badge run-${r.status}`}>{r.status}</span></td>
                <td class="num">{r.invoices_created}</td><td class="num">{r.invoices_updated}</td>
                <td>{stamp(r.started_at ?? r.created_at)}</td><td>{r.finished_at ? stamp(r.finished_at) : '—'}</td><td>{r.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="muted">{props.total} run{props.total === 1 ? '' : 's'}; the latest 50 are shown.</p>
    </>
  )
}

function stamp(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}
