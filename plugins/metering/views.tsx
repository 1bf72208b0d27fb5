/** Pages of the metering plugin: recent usage events with the rollup lag, and the CSV backfill import. */
import type { ImportReport } from '../../core/billing/usage-import.ts'
import type { UsageEventListRow } from '../../core/billing/usage-list.ts'
import { formatQuantity } from '../../core/billing/money.ts'
import { CsrfField, ErrorSummary, Select } from '../../views/forms.tsx'

export interface EventsFilter {
  readonly subscription: string
  readonly meter: string
}

const when = (d: Date) => `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`

function ago(seconds: number): string {
  if (seconds < 90) return `${seconds} s`
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`
  return `${Math.round(seconds / 3600)} h`
}

export function LagPanel(props: { waiting: number; oldestReceivedAt: Date | null; now: Date }) {
  if (props.waiting === 0) return <p class="muted" id="rollup-lag">Rollups are up to date: no usage event is waiting to be rolled up.</p>
  const age = props.oldestReceivedAt ? Math.max(0, Math.round((props.now.getTime() - props.oldestReceivedAt.getTime()) / 1000)) : 0
  return (
    <p class="muted" id="rollup-lag">
      Rollup lag: <strong>{ago(age)}</strong> ({props.waiting} event{props.waiting === 1 ? '' : 's'} waiting; the oldest was received {ago(age)} ago).
    </p>
  )
}

export function EventsPage(props: {
  rows: readonly UsageEventListRow[]; next: string | null; filter: EventsFilter; lag: { waiting: number; oldestReceivedAt: Date | null; now: Date }; canImport: boolean; error?: string | undefined
}) {
  const query = (extra: Record<string, string>) => new URLSearchParams({ ...(props.filter.subscription ? { subscription: props.filter.subscription } : {}), ...(props.filter.meter ? { meter: props.filter.meter } : {}), ...extra }).toString()
  return (
    <>
      <h1>Usage events</h1>
      <LagPanel {...props.lag} />
      <form class="toolbar" method="get" action="/metering" role="search"
        hx-get="/metering" hx-trigger="input delay:400ms, change" hx-target="#usage-table" hx-select="#usage-table" hx-swap="outerHTML" hx-push-url="true">
        <input type="search" name="subscription" value={props.filter.subscription} placeholder="Subscription id" aria-label="Subscription id" inputmode="numeric" maxlength={10} />
        <input type="search" name="meter" value={props.filter.meter} placeholder="Meter code" aria-label="Meter code" maxlength={64} />
        <noscript><button type="submit">Filter</button></noscript>
        <span class="spacer" />
        {props.canImport && <a class="button secondary" href="/metering/import">Import CSV</a>}
      </form>
      <ErrorSummary message={props.error} />
      <div class="table-wrap" id="usage-table">
        <table class="data">
          <thead><tr><th>Received</th><th>Occurred</th><th>Organisation</th><th>Subscription</th><th>Meter</th><th class="num">Quantity</th><th>Key</th><th>Source</th></tr></thead>
          <tbody>
            {props.rows.length === 0 && <tr><td colspan={8} class="empty">No usage events match.</td></tr>}
            {props.rows.map((e) => (
              <tr data-event-id={e.id}>
                <td>{when(e.received_at)}</td>
                <td>{when(e.occurred_at)}</td>
                <td>{e.org_name}</td>
                <td>{e.subscription_name} <span class="muted">#{e.subscription_id}</span></td>
                <td><code>{e.meter_code}</code></td>
                <td class="num">{formatQuantity(e.quantity, e.unit)}</td>
                <td><code>{e.idempotency_key}</code></td>
                <td>{e.source}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {props.next && <p><a class="button secondary" href={`/metering?${query({ before: props.next })}`}>Older events</a></p>}
      </div>
    </>
  )
}

export function ImportPage(props: { csrf: string; delimiter: string; maxBytes: number; report?: ImportReport | undefined; message?: string | undefined; fileName?: string | undefined }) {
  const { report } = props
  return (
    <>
      <div class="breadcrumbs"><a href="/metering">Usage events</a><span>Import</span></div>
      <h1>Import usage (CSV backfill)</h1>
      <p class="muted">
        For usage older than the API accepts. The file needs a header line naming the columns
        <code>idempotency_key,subscription_id,meter,quantity,timestamp</code> and optionally <code>properties</code> (a JSON object),
        in any order. Quantities are plain decimals (<code>12.5</code>), timestamps ISO 8601 with a time zone
        (<code>2025-01-31T23:00:00Z</code>). Rows are checked one by one: valid rows are stored, a row whose key was already
        imported with the same content counts as a duplicate, and every other row is listed below with its line number.
      </p>
      <ErrorSummary message={props.message} />
      <form method="post" action="/metering/import" enctype="multipart/form-data" class="stacked panel" hx-boost="false">
        <CsrfField token={props.csrf} />
        <div class="field">
          <label for="f-file">CSV file</label>
          <input id="f-file" type="file" name="file" accept=".csv,.txt,text/csv" required />
          <small class="hint">At most {Math.round(props.maxBytes / 1024 / 1024)} MB.</small>
        </div>
        <Select label="Delimiter" name="delimiter" value={props.delimiter} options={[{ value: 'comma', label: 'Comma (,)' }, { value: 'pipe', label: 'Pipe (|)' }]} />
        <div class="actions"><button type="submit">Import</button></div>
      </form>
      {report && (
        <section id="import-report">
          <h2>Result{props.fileName ? ` for ${props.fileName}` : ''}</h2>
          <p>
            <strong data-count="rows">{report.rows}</strong> rows read: <strong data-count="accepted">{report.accepted}</strong> stored,{' '}
            <strong data-count="duplicates">{report.duplicates}</strong> duplicates, <strong data-count="errors">{report.errors.length}</strong> with errors.
          </p>
          {report.errors.length > 0 && (
            <div class="table-wrap">
              <table class="data">
                <thead><tr><th class="num">Line</th><th>Problem</th></tr></thead>
                <tbody>
                  {report.errors.slice(0, 1000).map((e) => <tr data-line={String(e.line)}><td class="num">{e.line}</td><td>{e.message}</td></tr>)}
                </tbody>
              </table>
              {report.errors.length > 1000 && <p class="muted">Only the first 1000 problems are listed.</p>}
            </div>
          )}
        </section>
      )}
    </>
  )
}
