/**
 * One report: title and description, the filter form, the export panel (with `export` on the
 * report's subject), and the results container, the one element htmx swaps: tabs, charts, the
 * table with its totals, and the pager. Every link in the results (tabs, sort headers, pages)
 * is a plain link to the canonical URL of that view, enhanced to swap only the results.
 *
 * A request that does not parse still shows the form, with the message next to its field, and the
 * same message at the top of the results (that is the part an htmx swap replaces).
 */
import type { ParamsShape } from '../../core/reports/params.ts'
import { orderOf, type AnyReport, type ExportFormat, type RowActionsDefinition } from '../../core/reports/define.ts'
import { CsrfField } from '../forms.tsx'
import { Pager } from '../Pager.tsx'
import { Chart, type ChartProps } from './Chart.tsx'
import { DataTable } from './DataTable.tsx'
import { ExportPanel, ExportParams } from './ExportPanel.tsx'
import { chosenScope, FilterForm, OrgChosen, ReportState, type OrgChoice } from './FilterForm.tsx'

export const RESULTS_ID = 'report-results'
/**
 * Parts of the form that follow each swap: the kept tab/sort, the chosen organisations, the
 * export's params. A swap's response carries them beside the results ({@link ReportResultsUpdate}).
 */
export const SELECT_OOB = '#report-state,#org-chosen,#export-params'

/** `/reports/<id>?<query>` with some keys set (a value) or removed (undefined). */
export function viewHref(reportId: string, query: string, changes: Readonly<Record<string, string | undefined>> = {}): string {
  const params = new URLSearchParams(query)
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) params.delete(key)
    else params.set(key, value)
  }
  const text = params.toString()
  return `/reports/${reportId}${text ? `?${text}` : ''}`
}

export interface ReportResultView {
  /** Canonical query of the view (with the page size when not the default; without the page). */
  readonly query: string
  readonly tab: string | undefined
  readonly sort: { readonly key: string; readonly descending: boolean }
  readonly columns: AnyReport['columns']
  readonly rows: ReadonlyArray<Readonly<Record<string, unknown>>>
  readonly totals: ReadonlyArray<Readonly<Record<string, unknown>>>
  readonly total: number
  readonly page: number
  readonly pageSize: number
  readonly charts: readonly ChartProps[]
  /** The time zone of the request's days (`requestTimeZone`). */
  readonly timeZone: string
}

export interface ReportPageProps {
  readonly report: AnyReport
  readonly raw: URLSearchParams
  readonly defaults: Readonly<Record<string, unknown>>
  readonly errors: Readonly<Record<string, string>>
  /** Set when the request did not parse. */
  readonly problem?: string | undefined
  readonly chosenOrgs: readonly OrgChoice[]
  readonly orgSuggestions: readonly OrgChoice[]
  readonly result?: ReportResultView | undefined
  readonly exportFormats?: readonly ExportFormat[] | undefined
  /** The row actions of the shown tab, when the reader may use them. */
  readonly actions?: RowActionsDefinition | undefined
  readonly csrfToken: string
}

export const ACTIONS_FORM_ID = 'report-row-actions'

/** The selection form: the rows' checkboxes belong to it through their `form` attribute. */
function RowActions(props: { actions: RowActionsDefinition; back: string; csrfToken: string }) {
  const { actions } = props
  return (
    <form id={ACTIONS_FORM_ID} class="row-actions" method="post" action={actions.path}>
      <CsrfField token={props.csrfToken} />
      <input type="hidden" name="back" value={props.back} />
      <label>With the selected rows
        <select name="action" required>
          {actions.choices.map((choice) => <option value={choice.value}>{choice.label}</option>)}
        </select>
      </label>
      <button type="submit">Apply</button>
    </form>
  )
}

function Tabs(props: { report: AnyReport; result: ReportResultView }) {
  const tabs = props.report.tabs ?? []
  if (!tabs.length) return null
  return (
    <nav class="tabs" aria-label="Tabs">
      {tabs.map((tab, i) => {
        const href = viewHref(props.report.id, props.result.query, { tab: i === 0 ? undefined : tab.id, sort: undefined, page: undefined })
        return (
          <a href={href} hx-get={href} hx-target={`#${RESULTS_ID}`} hx-select={`#${RESULTS_ID}`} hx-select-oob={SELECT_OOB} hx-swap="outerHTML" hx-push-url="true"
            aria-current={tab.id === props.result.tab ? 'page' : undefined}>{tab.label}</a>
        )
      })}
    </nav>
  )
}

function Results(props: ReportPageProps) {
  const { report, result } = props
  return (
    <div id={RESULTS_ID} class="report-results" aria-live="polite">
      {props.problem && <p class="flash flash-error" role="alert">{props.problem}</p>}
      {result && (
        <>
          <Tabs report={report} result={result} />
          {result.charts.length > 0 && <div class="report-charts">{result.charts.map((chart) => <Chart {...chart} />)}</div>}
          <DataTable columns={result.columns} rows={result.rows} totals={result.totals} totalsBy={report.totalsBy ?? []} sort={result.sort} timeZone={result.timeZone}
            sortHref={(sort) => viewHref(report.id, result.query, { sort: sort === orderOf(report, result.tab).defaultSort ? undefined : sort, page: undefined })}
            target={RESULTS_ID} selectOob={SELECT_OOB}
            selection={props.actions && result.rows.length > 0 ? { key: props.actions.key, name: props.actions.name ?? 'id', form: ACTIONS_FORM_ID } : undefined} />
          {props.actions && result.rows.length > 0 && <RowActions actions={props.actions} back={viewHref(report.id, result.query, { page: result.page === 1 ? undefined : String(result.page) })} csrfToken={props.csrfToken} />}
          <Pager page={result.page} pageSize={result.pageSize} shown={result.rows.length} total={result.total} target={RESULTS_ID}
            href={(page) => viewHref(report.id, result.query, { page: page === 1 ? undefined : String(page) })} />
        </>
      )}
    </div>
  )
}

export function ReportPage(props: ReportPageProps) {
  const { report } = props
  return (
    <div class="report-page" data-report-id={report.id}>
      <div class="breadcrumbs"><a href="/reports">Reports</a><span>{report.category}</span></div>
      <h1>{report.title}</h1>
      <p class="muted report-description">{report.description}</p>
      <FilterForm reportId={report.id} params={report.params} raw={props.raw} defaults={props.defaults} errors={props.errors}
        chosenOrgs={props.chosenOrgs} orgSuggestions={props.orgSuggestions} target={RESULTS_ID} selectOob={SELECT_OOB} />
      {props.exportFormats && props.exportFormats.length > 0 && (
        <ExportPanel reportId={report.id} title={report.title} formats={props.exportFormats} query={props.result?.query ?? ''} csrfToken={props.csrfToken} />
      )}
      <Results {...props} />
    </div>
  )
}

/**
 * The answer to an htmx request that swaps the results (a filter, a tab, a sort header, a page):
 * the results and the parts of the form selected out of band ({@link SELECT_OOB}), not the whole
 * page. The form itself stays as the reader left it.
 */
export function ReportResultsUpdate(props: ReportPageProps) {
  const orgParam = Object.values(props.report.params as ParamsShape).find((param) => param.kind === 'organisations')
  return (
    <>
      <ReportState raw={props.raw} />
      {orgParam && <OrgChosen param={orgParam} scope={chosenScope(props.raw, props.chosenOrgs)} chosen={props.chosenOrgs} errors={props.errors} />}
      {props.exportFormats && props.exportFormats.length > 0 && <ExportParams query={props.result?.query ?? ''} />}
      <Results {...props} />
    </>
  )
}
