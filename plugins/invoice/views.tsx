/**
 * The invoice selection page (GET /invoice): the invoice report's rows for the same parameters,
 * with a checkbox per invoice and one form to mark the chosen ones paid, pending or void. The
 * report page itself (/reports/invoice.invoices) has filters, sorting, totals and exports.
 */
import { formatMoney } from '../../core/billing/money.ts'
import { PERIOD_LABELS, PERIOD_PRESETS } from '../../core/reports/period.ts'
import { CsrfField } from '../../views/forms.tsx'
import { Pager } from '../../views/Pager.tsx'
import { ACTION_BUTTONS, ACTION_LABELS, INVOICE_ACTIONS } from './actions.ts'
import { REPORT_STATUSES } from './invoice-sql.ts'

export interface SelectionRow {
  readonly id: number
  readonly number: string
  readonly customer: string
  readonly reseller: string | null
  readonly period: string
  readonly due_on: string | null
  readonly amount: string
  readonly balance: string
  readonly status: string
  readonly currency: string
  readonly days_overdue: number
}

export interface SelectionPageProps {
  readonly rows: readonly SelectionRow[]
  readonly total: number
  readonly page: number
  readonly pageSize: number
  /** The report's canonical query for these filters (no paging). */
  readonly query: string
  readonly period: string
  readonly statuses: readonly string[]
  readonly canUpdate: boolean
  readonly csrf: string
}


function href(query: string, page: number): string {
  const params = new URLSearchParams(query)
  if (page > 1) params.set('page', String(page))
  const text = params.toString()
  return text ? `/invoice?${text}` : '/invoice'
}

export function SelectionPage(props: SelectionPageProps) {
  const reportUrl = props.query ? `/reports/invoice.invoices?${props.query}` : '/reports/invoice.invoices'
  return (
    <>
      <h1>Invoices: mark paid, pending or void</h1>
      <p class="muted">The invoices of the <a href={reportUrl}>invoice report</a> for these filters. Choose invoices, then an action: each change is checked and written to the audit log.</p>
      <form class="toolbar" method="get" action="/invoice" role="search">
        <select name="period" aria-label="Invoice period">
          {PERIOD_PRESETS.filter((p) => p !== 'custom').map((p) => <option value={p} selected={props.period === p}>{PERIOD_LABELS[p]}</option>)}
        </select>
        <select name="status" aria-label="Status">
          <option value="" selected={props.statuses.length === 0}>All statuses</option>
          {REPORT_STATUSES.map((s) => <option value={s} selected={props.statuses.length === 1 && props.statuses[0] === s}>{s}</option>)}
        </select>
        <button type="submit" class="secondary">Filter</button>
      </form>
      <form method="post" action="/invoice/actions" id="invoice-selection">
        <CsrfField token={props.csrf} />
        <input type="hidden" name="back" value={props.query} />
        <div class="table-wrap">
          <table class="data">
            <thead>
              <tr>
                {props.canUpdate && <th scope="col"><span class="visually-hidden">Select</span></th>}
                <th scope="col">Invoice</th><th scope="col">Customer</th><th scope="col">Reseller</th><th scope="col">Period</th>
                <th scope="col">Due</th><th scope="col" class="num">Amount</th><th scope="col" class="num">Balance due</th>
                <th scope="col">Status</th><th scope="col" class="num">Days overdue</th>
              </tr>
            </thead>
            <tbody>
              {props.rows.map((row) => (
                <tr>
                  {props.canUpdate && <td><input type="checkbox" name="invoiceId" value={String(row.id)} aria-label={`Select ${row.number}`} /></td>}
                  <td><a href={`/billing/invoices/${row.id}`}>{row.number}</a></td>
                  <td>{row.customer}</td>
                  <td>{row.reseller ?? ''}</td>
                  <td>{row.period}</td>
                  <td>{row.due_on ?? ''}</td>
                  <td class="num">{formatMoney(row.amount, row.currency)}</td>
                  <td class="num">{formatMoney(row.balance, row.currency)}</td>
                  <td>{row.status}</td>
                  <td class="num">{row.days_overdue}</td>
                </tr>
              ))}
              {props.rows.length === 0 && <tr><td colspan={props.canUpdate ? 10 : 9} class="muted">No invoices match these filters.</td></tr>}
            </tbody>
          </table>
        </div>
        {props.canUpdate && props.rows.length > 0 && (
          <div class="actions">
            {INVOICE_ACTIONS.map((a) => <button type="submit" name="action" value={a} class={a === 'void' ? 'danger' : a === 'paid' ? '' : 'secondary'} title={`Selected invoices ${ACTION_LABELS[a]}`}>{ACTION_BUTTONS[a]}</button>)}
          </div>
        )}
        <Pager page={props.page} pageSize={props.pageSize} shown={props.rows.length} total={props.total} target="invoice-selection" href={(p) => href(props.query, p)} />
      </form>
    </>
  )
}
