/**
 * Views of background runs: the progress page (polls itself with htmx while the run is queued or
 * running, and stops once it has finished), the archive of generated reports, and the notice of a
 * finished run shown on whatever page its requester is on.
 */
import type { ReportRunRow, ReportRunStatus } from '../db/schema.ts'
import { CsrfField } from '../../views/forms.tsx'
import { Pager } from '../../views/Pager.tsx'
import { RunNoticePoller } from './run-notice.tsx'
import { displayStatus, parametersOf, percentOf, UNFINISHED, type ArchiveRow } from './runs.ts'

const STATUS_LABELS: Record<ReportRunStatus | 'cancelling', string> = {
  queued: 'Queued', running: 'Running', cancelling: 'Cancelling', completed: 'Completed', failed: 'Failed', cancelled: 'Cancelled',
}

const count = (n: string | number | null) => (n === null ? '' : Number(n).toLocaleString('en-US'))

/** "12.3 MB": the size of a generated file. */
export function sizeText(bytes: string | number): string {
  const n = Number(bytes)
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`
  return `${(n / (1024 * 1024)).toFixed(1)} MB`
}

function stamp(date: Date | null): string {
  return date ? `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '—'
}

export function StatusBadge(props: { run: ReportRunRow }) {
  const status = displayStatus(props.run)
  return <span class={`badge run-status run-${status}`}>{STATUS_LABELS[status]}</span>
}

function Progress(props: { run: ReportRunRow }) {
  const { run } = props
  const percent = percentOf(run)
  const total = run.rows_total === null ? null : Number(run.rows_total)
  const text = total === null ? `${count(run.rows_done)} rows so far` : `${count(run.rows_done)} of ${count(total)} rows`
  return (
    <div class="run-progress">
      {total === null || run.status === 'queued'
        ? <progress aria-label="Progress"></progress>
        : <progress aria-label="Progress" value={String(Math.min(Number(run.rows_done), total))} max={String(Math.max(total, 1))}>{percent ?? 0}%</progress>}
      <span class="run-progress-text">{run.status === 'queued' ? 'Waiting to start' : text}{percent !== null && run.status !== 'queued' ? ` (${percent}%)` : ''}</span>
    </div>
  )
}

export interface RunPageProps {
  readonly run: ReportRunRow
  readonly userLabel: string | null
  readonly canExport: boolean
  readonly csrf: string
  /** Link to the report with the run's parameters, when the report is still installed. */
  readonly reportHref: string | null
}

/** The live part of the progress page: replaced every second while the run is unfinished. */
export function RunStatus(props: RunPageProps) {
  const { run } = props
  const unfinished = UNFINISHED.includes(run.status)
  const poll = unfinished
    ? { 'hx-get': `/reports/runs/${run.id}`, 'hx-trigger': 'every 1s', 'hx-select': '#run-status', 'hx-target': 'this', 'hx-swap': 'outerHTML' }
    : {}
  return (
    <section id="run-status" class="panel run-status-panel" aria-live="polite" {...poll}>
      <p>Status: <StatusBadge run={run} /></p>
      {unfinished && <Progress run={run} />}
      {run.status === 'completed' && (
        <p class="flash flash-success" role="status">
          Ready: {props.canExport ? <a href={`/reports/runs/${run.id}/download`} download>download {run.file_name}</a> : run.file_name}
          {' '}({count(run.rows_done)} rows, {sizeText(run.bytes)}).
        </p>
      )}
      {run.status === 'failed' && <p class="flash flash-error" role="alert">The export failed: {run.error}</p>}
      {run.status === 'cancelled' && <p class="flash flash-info" role="status">The export was cancelled; nothing was kept.</p>}
      {unfinished && props.canExport && !run.cancel_requested && (
        <form method="post" action={`/reports/runs/${run.id}/cancel`} class="inline">
          <CsrfField token={props.csrf} />
          <button type="submit" class="danger">Cancel</button>
        </form>
      )}
    </section>
  )
}

export function RunPage(props: RunPageProps) {
  const { run } = props
  const { summary } = parametersOf(run)
  return (
    <>
      <p><a href="/reports/archive">← Generated reports</a></p>
      <h1>{run.name}</h1>
      {run.description && <p class="muted">{run.description}</p>}
      <dl class="props run-props">
        <dt>Report</dt><dd>{props.reportHref ? <a href={props.reportHref}>{run.report_title}</a> : run.report_title}</dd>
        {summary.map((s) => <><dt>{s.label}</dt><dd>{s.value}</dd></>)}
        <dt>Format</dt><dd>{run.format.toUpperCase()}</dd>
        <dt>Requested by</dt><dd>{props.userLabel ?? '—'}</dd>
        <dt>Requested</dt><dd>{stamp(run.created_at)}</dd>
        {run.finished_at && <><dt>Finished</dt><dd>{stamp(run.finished_at)}</dd></>}
        {run.expires_at && <><dt>Kept until</dt><dd>{stamp(run.expires_at)}</dd></>}
      </dl>
      <RunStatus {...props} />
    </>
  )
}

export interface ArchiveFilterValues {
  readonly status: string
  readonly report: string
}

export interface ArchivePageProps {
  readonly runs: readonly ArchiveRow[]
  readonly total: number
  readonly page: number
  readonly pageSize: number
  readonly filter: ArchiveFilterValues
  readonly reports: readonly { readonly id: string; readonly title: string }[]
  readonly canExport: (run: ReportRunRow) => boolean
  readonly csrf: string
  readonly retentionDays: number
}

export function archiveHref(filter: ArchiveFilterValues, page: number): string {
  const search = new URLSearchParams()
  if (filter.status) search.set('status', filter.status)
  if (filter.report) search.set('report', filter.report)
  if (page > 1) search.set('page', String(page))
  const text = search.toString()
  return text ? `/reports/archive?${text}` : '/reports/archive'
}

export function ArchivePage(props: ArchivePageProps) {
  const { filter } = props
  return (
    <>
      <h1>Generated reports</h1>
      <p class="muted">Reports generated in the background in your organisations. Files are kept for {props.retentionDays} days after they finish.</p>
      <form method="get" action="/reports/archive" class="archive-filters"
        hx-get="/reports/archive" hx-trigger="change" hx-target="#archive-table" hx-select="#archive-table" hx-swap="outerHTML" hx-push-url="true">
        <label>Status
          <select name="status">
            <option value="">Any</option>
            {Object.entries(STATUS_LABELS).filter(([k]) => k !== 'cancelling').map(([value, label]) => <option value={value} selected={filter.status === value}>{label}</option>)}
          </select>
        </label>
        <label>Report
          <select name="report">
            <option value="">Any</option>
            {props.reports.map((r) => <option value={r.id} selected={filter.report === r.id}>{r.title}</option>)}
          </select>
        </label>
        <noscript><button type="submit">Filter</button></noscript>
      </form>
      <div class="table-wrap" id="archive-table">
        <table class="data archive">
          <thead><tr><th>Name</th><th>Report</th><th>Parameters</th><th>Format</th><th>Requested by</th><th>Requested</th><th>Status</th><th class="num">Rows</th><th class="num">Size</th><th></th></tr></thead>
          <tbody>
            {props.runs.length === 0 && <tr><td colspan={10} class="empty">No generated reports{filter.status || filter.report ? ' match these filters' : ' yet'}.</td></tr>}
            {props.runs.map((run) => (
              <tr>
                <td><a href={`/reports/runs/${run.id}`}>{run.name}</a></td>
                <td>{run.report_title}</td>
                <td class="wrap">{parametersOf(run).summary.map((s) => `${s.label}: ${s.value}`).join('; ')}</td>
                <td>{run.format.toUpperCase()}</td>
                <td>{run.user_name ?? run.user_email ?? '—'}</td>
                <td>{stamp(run.created_at)}</td>
                <td><StatusBadge run={run} /></td>
                <td class="num">{count(run.rows_done)}</td>
                <td class="num">{run.status === 'completed' ? sizeText(run.bytes) : ''}</td>
                <td class="archive-actions">
                  {run.status === 'completed' && props.canExport(run) && <a href={`/reports/runs/${run.id}/download`} download>Download</a>}
                  {props.canExport(run) && (
                    <form method="post" action={`/reports/archive/${run.id}/delete`} class="inline">
                      <CsrfField token={props.csrf} />
                      <button type="submit" class="danger small">{UNFINISHED.includes(run.status) ? 'Cancel' : 'Delete'}</button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <Pager page={props.page} pageSize={props.pageSize} shown={props.runs.length} total={props.total} target="archive-table" href={(p) => archiveHref(filter, p)} />
      </div>
    </>
  )
}

export interface RunNoticesProps {
  /** Finished runs shown now, oldest first. */
  readonly runs: readonly ReportRunRow[]
  /** Finished runs marked as shown but left out, to keep the list short. */
  readonly more: number
  readonly canExport: (run: ReportRunRow) => boolean
  /** The user still has runs going: keep polling. */
  readonly polling: boolean
}

function RunNoticeText(props: { run: ReportRunRow; canExport: boolean }) {
  const { run } = props
  const open = <a href={`/reports/runs/${run.id}`}>{run.name}</a>
  if (run.status === 'completed') {
    return (
      <>
        <strong>Your report is ready:</strong> {open} ({sizeText(run.bytes)}).
        {props.canExport && <>{' '}<a class="button small" href={`/reports/runs/${run.id}/download`} download>Download</a></>}
      </>
    )
  }
  if (run.status === 'failed') return <><strong>Your report failed:</strong> {open}. {run.error}</>
  return <><strong>Your report was cancelled:</strong> {open}.</>
}

/**
 * The answer to the notice poller (core/reports/run-notice.tsx): one notice per finished run, then
 * a new poller while other runs are still going. Without one, htmx stops polling.
 */
export function RunNotices(props: RunNoticesProps) {
  return (
    <>
      {props.runs.map((run) => (
        <div class={`run-notice run-notice-${run.status}`} role={run.status === 'failed' ? 'alert' : 'status'} data-run-notice={String(run.id)}>
          <p><RunNoticeText run={run} canExport={props.canExport(run)} /></p>
          <button type="button" class="link run-notice-close" data-dismiss-notice aria-label="Dismiss">×</button>
        </div>
      ))}
      {props.more > 0 && (
        <div class="run-notice" role="status">
          <p>{props.more} more {props.more === 1 ? 'report has' : 'reports have'} finished: see <a href="/reports/archive">Generated reports</a>.</p>
          <button type="button" class="link run-notice-close" data-dismiss-notice aria-label="Dismiss">×</button>
        </div>
      )}
      {props.polling && <RunNoticePoller />}
    </>
  )
}
