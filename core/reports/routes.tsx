/**
 * Report pages: the catalogue (`GET /reports`) and one report (`GET /reports/:id`), whose results
 * swap in place with htmx while the URL follows (the canonical query of the parsed request), plus
 * the small routes around them: the organisation look-up of the filter form, "Download now"
 * (a redirect to the streamed download of the JSON API) and the tenants-list flow (a report on the
 * organisations a filtered organisation list shows).
 *
 * @example
 * GET /reports/organisations.accounts?period=last_month&org=12&sort=-events
 */
import { Hono, type Context } from 'hono'
import { sql, type SelectQueryBuilder } from 'kysely'
import { ReportCatalogue } from '../../views/reports/ReportCatalogue.tsx'
import { OrgOptions, type OrgChoice } from '../../views/reports/FilterForm.tsx'
import { ReportPage, ReportResultsUpdate, RESULTS_ID, viewHref, type ReportPageProps } from '../../views/reports/ReportPage.tsx'
import type { ChartProps } from '../../views/reports/Chart.tsx'
import type { Database } from '../db/schema.ts'
import type { AppEnv } from '../http/env.ts'
import { HttpProblem, notFound } from '../http/problem.ts'
import { htmxTargetId, isFragmentRequest, page } from '../http/render.tsx'
import { renderChartSvg } from './chart.ts'
import { actionsFor, formatsOf, type AnyReport, type ChartPoint, type ExportFormat } from './define.ts'
import { chartsFor, runReportWithCharts } from './engine.ts'
import { queryInput, ReportParamError, type OrgScope, type ParamsShape } from './params.ts'
import { DEFAULT_PAGE_SIZE, parseReportRequest, requestTimeZone, type ReportRequest } from './request.ts'

const SUGGESTIONS = 200

function readableReport(c: Context<AppEnv>, id: string): AnyReport {
  const report = c.var.reports.get(id)
  if (!report) throw notFound('report')
  if (!c.var.ability.can('read', report.subject)) throw new HttpProblem(403, 'You do not have permission to open this report.')
  return report
}

function hasOrgParam(report: AnyReport): boolean {
  return Object.values(report.params as ParamsShape).some((p) => p.kind === 'organisations')
}

/**
 * What a form sends, tidied for the engine: empty fields dropped (a form sends every field), and
 * `scope=all` dropped when an organisation was picked, so picking one narrows the report to it.
 */
function tidy(search: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams()
  for (const [key, value] of search) if (value.trim() !== '') out.append(key, value)
  if (out.get('scope') === 'all' && out.getAll('org').length) out.delete('scope')
  return out
}

/** Organisations in the caller's scope whose name contains `text` (or whose id is `text`), by name. */
async function findOrganisations(c: Context<AppEnv>, text: string, limit = SUGGESTIONS): Promise<OrgChoice[]> {
  let query = (c.var.db.organisations() as unknown as SelectQueryBuilder<Database, 'organisations', {}>)
    .select(['organisations.id', 'organisations.name', 'organisations.kind'])
  const search = text.trim().slice(0, 100)
  if (/^\d{1,9}$/.test(search)) query = query.where((eb) => eb.or([eb('organisations.id', '=', Number(search)), sql<boolean>`strpos(lower(organisations.name), lower(${search})) > 0`]))
  else if (search) query = query.where(sql<boolean>`strpos(lower(organisations.name), lower(${search})) > 0`)
  return query.orderBy('organisations.name').orderBy('organisations.id').limit(limit).execute()
}

/** The organisations named by `org` values that the caller can see (for a form whose request did not parse). */
async function orgsByIds(c: Context<AppEnv>, raw: URLSearchParams): Promise<OrgChoice[]> {
  const ids = [...new Set(raw.getAll('org').flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => /^\d{1,9}$/.test(v)).map(Number))].slice(0, 1000)
  if (!ids.length) return []
  return (c.var.db.organisations() as unknown as SelectQueryBuilder<Database, 'organisations', {}>)
    .select(['organisations.id', 'organisations.name']).where('organisations.id', 'in', ids).orderBy('organisations.path').execute()
}

/**
 * Each param's value when its keys are left out: what the form shows for an untouched field.
 * `except` names params whose default the caller fills in itself (left out here).
 */
async function defaultsOf(c: Context<AppEnv>, report: AnyReport, now: Date, except?: (param: ParamsShape[string]) => boolean): Promise<Record<string, unknown>> {
  const empty = queryInput(new URLSearchParams())
  const context = { db: c.var.db, now, timeZone: c.var.settings?.reportTimeZone ?? 'UTC' }
  const out: Record<string, unknown> = {}
  for (const [name, param] of Object.entries(report.params as ParamsShape)) {
    if (except?.(param)) continue
    try {
      out[name] = await param.parse(empty, name, context)
    } catch {
      out[name] = undefined
    }
  }
  return out
}

function drawCharts(request: ReportRequest, pointsOf: ReadonlyArray<readonly ChartPoint[]>): ChartProps[] {
  return chartsFor(request).map((chart, i) => {
    const points = pointsOf[i]!
    const yLabel = typeof chart.yLabel === 'function' ? chart.yLabel(request.context) : chart.yLabel
    const id = `${request.report.id}-${chart.id}`.replace(/\./g, '-')
    const svg = points.length ? renderChartSvg({ id, title: chart.title, kind: chart.kind, points, yLabel }) : ''
    return { id, title: chart.title, svg, points, yLabel }
  })
}

async function showReport(c: Context<AppEnv>, report: AnyReport): Promise<Response> {
  const raw = tidy(new URL(c.req.url).searchParams)
  const now = new Date()
  const fragment = isFragmentRequest(c)
  // A swap of the results (filter, tab, sort, page) gets them and the out-of-band parts, not the form.
  const resultsOnly = fragment && htmxTargetId(c) === RESULTS_ID
  const props: { -readonly [K in keyof ReportPageProps]: ReportPageProps[K] } = {
    report, raw, defaults: {}, errors: {}, chosenOrgs: [], orgSuggestions: [], csrfToken: c.var.csrfToken,
    exportFormats: c.var.ability.can('export', report.subject) ? formatsOf(report) : undefined,
  }
  let status: 200 | 400 = 200
  try {
    const request = await parseReportRequest(report, queryInput(raw), { db: c.var.db, now, timeZone: c.var.settings?.reportTimeZone ?? 'UTC' })
    const view = await runReportWithCharts(request)
    const { result } = view
    const charts = drawCharts(request, view.charts)
    const pageSize = request.pageSize !== (report.pageSize ?? DEFAULT_PAGE_SIZE) ? { pageSize: String(request.pageSize) } : {}
    const query = new URLSearchParams([...new URLSearchParams(request.query), ...Object.entries(pageSize)]).toString()
    props.result = { query, tab: request.context.tab, sort: request.sort, columns: request.columns, rows: result.rows, totals: result.totals, total: result.total, page: result.page, pageSize: result.pageSize, charts, timeZone: requestTimeZone(request) }
    const actions = actionsFor(report, request.context.tab)
    if (actions && c.var.ability.can(actions.requires[0], actions.requires[1])) props.actions = actions
    for (const [name, param] of Object.entries(report.params as ParamsShape)) {
      if (param.kind === 'organisations') props.chosenOrgs = [...(request.context.params[name] as OrgScope).orgs]
    }
    if (!resultsOnly) {
      // The period's days as resolved now: what a switch to "Custom range" starts from (so its default is not worked out).
      const defaults = await defaultsOf(c, report, now, (param) => param.kind === 'period')
      for (const [name, param] of Object.entries(report.params as ParamsShape)) if (param.kind === 'period') defaults[name] = request.context.params[name]
      props.defaults = defaults
    }
    if (fragment) c.header('HX-Push-Url', viewHref(report.id, query, { page: result.page > 1 ? String(result.page) : undefined }))
  } catch (error) {
    if (!(error instanceof ReportParamError)) throw error
    status = 400
    props.errors = { [error.key]: error.fields?.[error.key] ?? error.message }
    props.problem = error.message
    if (!resultsOnly) props.defaults = await defaultsOf(c, report, now)
    if (hasOrgParam(report)) props.chosenOrgs = await orgsByIds(c, raw)
  }
  // The datalist is part of the form, which an htmx swap leaves alone: only full pages need it.
  if (!fragment && hasOrgParam(report)) props.orgSuggestions = await findOrganisations(c, '')
  return page(c, { title: report.title, status, body: resultsOnly ? <ReportResultsUpdate {...props} /> : <ReportPage {...props} /> })
}

/** "Download now": checks the request, then sends the browser to the API's streamed download. */
async function download(c: Context<AppEnv>): Promise<Response> {
  const report = readableReport(c, c.req.param('id')!)
  if (!c.var.ability.can('export', report.subject)) throw new HttpProblem(403, 'You do not have permission to export this report.')
  const fields = new URLSearchParams()
  if (c.req.method === 'POST') {
    const body = await c.req.parseBody({ all: true })
    for (const [key, value] of Object.entries(body)) for (const v of [value].flat()) if (typeof v === 'string') fields.append(key, v)
  } else {
    for (const [key, value] of new URL(c.req.url).searchParams) fields.append(key, value)
  }
  fields.delete('_csrf')
  const format = fields.get('format') ?? 'csv'
  fields.delete('format')
  if (!(formatsOf(report) as readonly string[]).includes(format)) throw new ReportParamError('format', `use one of ${formatsOf(report).join(', ')}`)
  const input = tidy(fields)
  if (format !== 'csv') { input.delete('delimiter'); input.delete('bom') }
  await parseReportRequest(report, queryInput(input), { db: c.var.db, timeZone: c.var.settings?.reportTimeZone ?? 'UTC', forExport: true })
  const query = input.toString()
  return c.redirect(`/api/v1/reports/${encodeURIComponent(report.id)}.${format as ExportFormat}${query ? `?${query}` : ''}`, 303)
}

export function reportPageRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()

  app.get('/', (c) => page(c, { title: 'Reports', body: <ReportCatalogue groups={c.var.reports.readable(c.var.ability)} /> }))

  // The filter form's organisation look-up (datalist entries), limited to the caller's subtree.
  app.get('/organisations', async (c) => {
    if (!c.var.reports.all().some((r) => hasOrgParam(r) && c.var.ability.can('read', r.subject))) throw new HttpProblem(403, 'You do not have permission to do this.')
    const orgs = await findOrganisations(c, c.req.query('org') ?? c.req.query('q') ?? '')
    c.header('Cache-Control', 'no-store')
    return c.html(<OrgOptions orgs={orgs} />)
  })

  // The tenants-list flow: the organisation list's "Report on these organisations" form lands here.
  app.get('/open', (c) => {
    const report = readableReport(c, c.req.query('report') ?? '')
    if (!hasOrgParam(report)) throw new ReportParamError('report', 'this report does not take organisations')
    const orgs = c.req.queries('org') ?? []
    const params = new URLSearchParams(orgs.filter((v) => v.trim() !== '').map((v) => ['org', v.trim()]))
    const scope = c.req.query('scope')
    if (scope && params.has('org')) params.set('scope', scope)
    return c.redirect(viewHref(report.id, params.toString()), 303)
  })

  app.get('/:id', (c) => showReport(c, readableReport(c, c.req.param('id'))))
  app.get('/:id/download', download)
  app.post('/:id/download', download)
  return app
}
