/**
 * JSON API of the report engine (session or bearer token; the caller's scoped handle):
 * - `GET /api/v1/reports`: the catalogue the caller may read, one flat list sorted by category
 *   and title, each with its params, tabs, columns and export formats.
 * - `GET /api/v1/reports/{id}?<params>`: one page of rows, the total count and the totals.
 * - `GET /api/v1/reports/{id}.csv|.xlsx|.xml?<params>&delimiter=comma|pipe&bom=1&name=...`: a
 *   streamed download; needs `export` on the report's subject.
 * A report id has exactly one dot (`organisations.accounts`), so a second dot names a format.
 */
import { Hono, type Context } from 'hono'
import type { AppEnv } from '../http/env.ts'
import { HttpProblem, notFound } from '../http/problem.ts'
import { recordExport } from '../reports/audit.ts'
import { formatsOf, type AnyReport, type ExportFormat } from '../reports/define.ts'
import { runReport } from '../reports/engine.ts'
import { contentDisposition, contentTypeOf, describeParams, exportStream, fileNameFor, projectRow } from '../reports/export.ts'
import { queryInput, ReportParamError, type ParamsShape } from '../reports/params.ts'
import { parseReportRequest } from '../reports/request.ts'

/** The catalogue entry of a report, as the API lists it. */
export function reportJson(report: AnyReport, canExport: boolean) {
  return {
    id: report.id,
    title: report.title,
    description: report.description,
    category: report.category,
    formats: formatsOf(report),
    canExport,
    params: Object.entries(report.params as ParamsShape).map(([name, p]) => ({
      name,
      kind: p.kind,
      label: p.label,
      keys: p.keys(name),
      ...(p.description ? { description: p.description } : {}),
      ...(p.options ? { options: p.options.map((o) => ({ value: o.value, label: o.label })) } : {}),
      ...(p.multiple ? { multiple: true } : {}),
    })),
    tabs: (report.tabs ?? []).map((t) => ({ id: t.id, label: t.label })),
    columns: report.columns.map((c) => ({
      key: c.key,
      label: c.label,
      type: c.type,
      ...(c.currency ? { currency: c.currency } : {}),
      ...(c.unit ? { unit: typeof c.unit === 'string' ? c.unit : { fixed: c.unit.fixed } } : {}),
      ...(c.tabs ? { tabs: c.tabs } : {}),
      ...(c.total ? { total: true } : {}),
      ...(c.sortable === false ? { sortable: false } : {}),
    })),
  }
}

const DOWNLOAD = /^([^.]+\.[^.]+)\.(csv|xlsx|xml)$/

/** The report `:ref` names and the format for a download (undefined for JSON). 404 when unknown or unreadable. */
function resolve(c: Context<AppEnv>): { report: AnyReport; format: ExportFormat | undefined } {
  const ref = c.req.param('ref') ?? ''
  const download = DOWNLOAD.exec(ref)
  const id = download ? download[1]! : ref
  const report = c.var.reports.get(id)
  if (!report) throw notFound('report')
  if (!c.var.ability.can('read', report.subject)) throw new HttpProblem(403, 'You do not have permission to read this report.')
  return { report, format: download?.[2] as ExportFormat | undefined }
}

export function reportApi(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()

  app.get('/reports', (c) => {
    const groups = c.var.reports.readable(c.var.ability)
    return c.json({ reports: groups.flatMap((g) => g.reports.map((r) => reportJson(r, c.var.ability.can('export', r.subject)))) })
  })

  app.get('/reports/:ref', async (c) => {
    const { report, format } = resolve(c)
    const timeZone = c.var.settings?.reportTimeZone ?? 'UTC'
    const search = new URL(c.req.url).searchParams
    if (format) {
      if (!c.var.ability.can('export', report.subject)) throw new HttpProblem(403, 'You do not have permission to export this report.')
      if (!formatsOf(report).includes(format)) throw new ReportParamError('format', `this report exports as ${formatsOf(report).join(', ')}, not ${format}`)
      const request = await parseReportRequest(report, queryInput(search), { db: c.var.db, timeZone, forExport: true })
      await recordExport(c.var.db, request, format)
      const body = exportStream(request, format, { signal: c.req.raw.signal })
      return c.body(body, 200, {
        'Content-Type': contentTypeOf(format),
        'Content-Disposition': contentDisposition(fileNameFor(request.exportOptions.name, format)),
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
      })
    }
    const request = await parseReportRequest(report, queryInput(search), { db: c.var.db, timeZone })
    const result = await runReport(request)
    return c.json({
      report: { id: report.id, title: report.title },
      query: request.query,
      params: describeParams(request),
      tab: request.context.tab ?? null,
      sort: `${request.sort.descending ? '-' : ''}${request.sort.key}`,
      page: result.page,
      pageSize: result.pageSize,
      total: result.total,
      rows: result.rows.map((row) => projectRow(request, row)),
      totals: result.totals,
    })
  })

  return app
}
