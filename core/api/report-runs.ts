/**
 * JSON API of background report runs and the archive, mounted at `/api/v1` before the report API
 * (so `/reports/:id/runs` is ours). Documented in docs/report-runs.md.
 *
 *   POST   /reports/:id/runs            start a run (JSON body: the report's params + format, name, ...) -> 202
 *   GET    /report-runs                 the archive (status, report, limit, offset)
 *   GET    /report-runs/:id             one run: status, progress, downloadUrl
 *   DELETE /report-runs/:id             cancel a queued/running run (200) or delete a finished one (204)
 *   GET    /report-runs/:id/download    the file of a completed run (409 otherwise)
 */
import { Hono, type Context } from 'hono'
import { z } from 'zod'
import { REPORT_RUN_STATUSES, type ReportRunRow } from '../db/schema.ts'
import type { AppEnv } from '../http/env.ts'
import { HttpProblem } from '../http/problem.ts'
import { jsonInput, ReportParamError } from '../reports/params.ts'
import { parseReportRequest } from '../reports/request.ts'
import {
  cancelRun, deleteRun, displayStatus, fileResponse, listRuns, parametersOf, percentOf, requireCompleted, requireExport, startRun, UNFINISHED, visibleRun,
  type ArchiveRow,
} from '../reports/runs.ts'
import { idParam, jsonBody, parseInput } from './json.ts'

/** A run as the API shows it. */
export function runJson(run: ReportRunRow | ArchiveRow) {
  const user = 'user_email' in run ? { user: run.user_email === null ? null : { email: run.user_email, name: run.user_name } } : {}
  return {
    id: run.id,
    report: run.report_id,
    reportTitle: run.report_title,
    name: run.name,
    description: run.description,
    format: run.format,
    status: displayStatus(run),
    parameters: parametersOf(run).summary,
    query: run.query,
    progress: { rowsDone: Number(run.rows_done), rowsTotal: run.rows_total === null ? null : Number(run.rows_total), percent: percentOf(run) },
    bytes: Number(run.bytes),
    error: run.error,
    ...user,
    createdAt: run.created_at.toISOString(),
    startedAt: run.started_at?.toISOString() ?? null,
    finishedAt: run.finished_at?.toISOString() ?? null,
    expiresAt: run.expires_at?.toISOString() ?? null,
    fileName: run.status === 'completed' ? run.file_name : null,
    url: `/api/v1/report-runs/${run.id}`,
    page: `/reports/runs/${run.id}`,
    downloadUrl: run.status === 'completed' ? `/api/v1/report-runs/${run.id}/download` : null,
  }
}

const listQuery = z.object({
  status: z.enum(REPORT_RUN_STATUSES, { error: `Use one of ${REPORT_RUN_STATUSES.join(', ')}` }).optional(),
  report: z.string().max(200, 'Use a report id').optional(),
  limit: z.coerce.number({ error: 'Use a whole number' }).int('Use a whole number').min(1, 'Use at least 1').max(500, 'Use at most 500').default(50),
  offset: z.coerce.number({ error: 'Use a whole number' }).int('Use a whole number').min(0, 'Use 0 or more').max(10_000_000).default(0),
}).strict()

function query(c: Context): Record<string, string> {
  return Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v.trim() !== ''))
}

export function reportRunApi(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()

  app.post('/reports/:id/runs', async (c) => {
    const report = c.var.reports.get(c.req.param('id'))
    if (!report) throw new HttpProblem(404, 'That report does not exist.')
    if (!c.var.ability.can('read', report.subject) || !c.var.ability.can('export', report.subject)) {
      throw new HttpProblem(403, 'You do not have permission to export this report.')
    }
    const body = await jsonBody(c, { emptyOk: true })
    const format = body.format
    if (format !== undefined && typeof format !== 'string') throw new ReportParamError('format', 'use csv, xlsx or xml')
    const request = await parseReportRequest(report, jsonInput(body), {
      db: c.var.db, forExport: true, ignore: ['format'], timeZone: c.var.settings?.reportTimeZone ?? 'UTC',
    })
    const run = await startRun(c.var.db, request, { format, userId: c.var.user?.id ?? null })
    c.var.log.info('report run queued', { runId: run.id, report: report.id, format: run.format })
    return c.json({ id: run.id, status: run.status, url: `/api/v1/report-runs/${run.id}`, run: runJson(run) }, 202)
  })

  app.get('/report-runs', async (c) => {
    const q = parseInput(listQuery, query(c))
    const { runs, total } = await listRuns(c.var.db, c.var.ability, { status: q.status, reportId: q.report, limit: q.limit, offset: q.offset })
    return c.json({ runs: runs.map(runJson), total, limit: q.limit, offset: q.offset })
  })

  app.get('/report-runs/:id', async (c) => {
    return c.json({ run: runJson(await visibleRun(c.var.db, c.var.ability, idParam(c, 'generated report'))) })
  })

  app.delete('/report-runs/:id', async (c) => {
    const run = await visibleRun(c.var.db, c.var.ability, idParam(c, 'generated report'))
    requireExport(c.var.ability, run)
    if (UNFINISHED.includes(run.status)) {
      const now = await cancelRun(c.var.db, run.id, c.var.settings?.reportRetentionDays ?? 90)
      c.var.log.info('report run cancel requested', { runId: run.id })
      return c.json({ run: runJson(now ?? run) })
    }
    await deleteRun(c.var.db, run.id)
    c.var.log.info('generated report deleted', { runId: run.id })
    return c.body(null, 204)
  })

  app.get('/report-runs/:id/download', async (c) => {
    const run = await visibleRun(c.var.db, c.var.ability, idParam(c, 'generated report'))
    requireExport(c.var.ability, run)
    requireCompleted(run)
    return fileResponse(c.var.db, run)
  })

  return app
}
