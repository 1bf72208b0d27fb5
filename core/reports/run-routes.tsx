/**
 * Pages of background runs and the archive of generated reports, mounted at `/reports` before
 * the report pages (their paths are not report ids):
 *
 *   POST /reports/:id/runs              start a run from the report's form -> 303 to its progress page
 *   GET  /reports/runs/notice           the caller's runs that have just ended, for the notice on every page
 *   GET  /reports/runs/:id              progress (polls itself while unfinished), then Download
 *   POST /reports/runs/:id/cancel       cancel a queued or running run
 *   GET  /reports/runs/:id/download     the file of a completed run
 *   GET  /reports/archive               generated reports in the caller's subtree, paged and filtered
 *   POST /reports/archive/:id/delete    delete a finished run (cancels an unfinished one)
 *
 * Seeing a run needs `read` on its report's subject and the run in the caller's subtree;
 * downloading, cancelling and deleting need `export` as well. A notice goes only to the user who
 * started the run, and only while the run is in their subtree and they may read its report.
 */
import { Hono, type Context } from 'hono'
import { REPORT_RUN_STATUSES, type ReportRunRow, type ReportRunStatus } from '../db/schema.ts'
import type { AppEnv } from '../http/env.ts'
import { HttpProblem } from '../http/problem.ts'
import { flash, page, redirect } from '../http/render.tsx'
import { queryInput, ReportParamError } from './params.ts'
import { parseReportRequest } from './request.ts'
import { expectRunNotice, forgetRunNotice } from './run-notice.tsx'
import { ArchivePage, RunNotices, RunPage } from './run-views.tsx'
import {
  cancelRun, deleteRun, fileResponse, listRuns, markNotified, noticesOwed, requireCompleted, requireExport, startRun, UNFINISHED, visibleRun,
} from './runs.ts'

const ARCHIVE_PAGE_SIZE = 50
/** Notices shown at once; more finished runs are summed up in one line. */
const NOTICE_LIMIT = 3

function runIdParam(c: Context<AppEnv>): number {
  const raw = c.req.param('id') ?? ''
  const id = /^\d{1,10}$/.test(raw) ? Number(raw) : 0
  if (id <= 0 || id > 2_147_483_647) throw new HttpProblem(404, 'That generated report does not exist, or you cannot see it.')
  return id
}

/** The posted form as a query string: repeated keys (`org`) kept, files ignored. */
async function formSearch(c: Context<AppEnv>): Promise<URLSearchParams> {
  const search = new URLSearchParams()
  for (const [key, value] of (await c.req.formData()).entries()) if (typeof value === 'string') search.append(key, value)
  return search
}

async function userLabel(c: Context<AppEnv>, run: ReportRunRow): Promise<string | null> {
  if (run.user_id === null) return null
  const user = await c.var.db.selectFrom('users').select(['users.name', 'users.email']).where('users.id', '=', run.user_id).executeTakeFirst()
  return user ? `${user.name} (${user.email})` : null
}

/** The report page with the run's parameters (the export keys left out). */
function reportHref(reportId: string, query: string): string {
  const search = new URLSearchParams(query)
  search.delete('delimiter')
  search.delete('bom')
  const text = search.toString()
  return `/reports/${encodeURIComponent(reportId)}${text ? `?${text}` : ''}`
}

async function showRun(c: Context<AppEnv>, run: ReportRunRow): Promise<Response> {
  const report = c.var.reports.get(run.report_id)
  return page(c, {
    title: run.name,
    body: <RunPage run={run} userLabel={await userLabel(c, run)} canExport={c.var.ability.can('export', run.subject)} csrf={c.var.csrfToken}
      reportHref={report ? reportHref(report.id, run.query) : null} />,
  })
}

function problemPage(c: Context<AppEnv>, status: 400 | 403 | 404, title: string, message: string, back?: string): Promise<Response> {
  return page(c, {
    title,
    status,
    body: <><h1>{title}</h1><p class="flash flash-error" role="alert">{message}</p>{back && <p><a href={back}>← Back to the report</a></p>}</>,
  })
}

export function reportRunRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()

  app.get('/archive', async (c) => {
    const statusText = c.req.query('status')?.trim() ?? ''
    const reportText = c.req.query('report')?.trim().slice(0, 200) ?? ''
    const pageText = c.req.query('page') ?? '1'
    const pageNumber = /^\d{1,6}$/.test(pageText) && Number(pageText) >= 1 ? Number(pageText) : 1
    if (statusText && !(REPORT_RUN_STATUSES as readonly string[]).includes(statusText)) {
      return problemPage(c, 400, 'Generated reports', `status: use one of ${REPORT_RUN_STATUSES.join(', ')}`)
    }
    const { runs, total } = await listRuns(c.var.db, c.var.ability, {
      status: (statusText || undefined) as ReportRunStatus | undefined, reportId: reportText || undefined,
      limit: ARCHIVE_PAGE_SIZE, offset: (pageNumber - 1) * ARCHIVE_PAGE_SIZE,
    })
    const reports = c.var.reports.all().filter((r) => c.var.ability.can('read', r.subject)).map((r) => ({ id: r.id, title: r.title })).sort((a, b) => a.title.localeCompare(b.title))
    return page(c, {
      title: 'Generated reports',
      body: <ArchivePage runs={runs} total={total} page={pageNumber} pageSize={ARCHIVE_PAGE_SIZE} filter={{ status: statusText, report: reportText }} reports={reports}
        canExport={(run) => c.var.ability.can('export', run.subject)} csrf={c.var.csrfToken} retentionDays={c.var.settings?.reportRetentionDays ?? 90} />,
    })
  })

  app.post('/archive/:id/delete', async (c) => {
    const run = await visibleRun(c.var.db, c.var.ability, runIdParam(c))
    requireExport(c.var.ability, run)
    if (UNFINISHED.includes(run.status)) {
      await cancelRun(c.var.db, run.id, c.var.settings?.reportRetentionDays ?? 90)
      await flash(c, 'info', `“${run.name}” is being cancelled; delete it once it has stopped.`)
    } else {
      await deleteRun(c.var.db, run.id)
      await flash(c, 'success', `“${run.name}” was deleted.`)
    }
    return redirect(c, '/reports/archive')
  })

  // Before /runs/:id ("notice" is not a run id). Polled every few seconds, and only by pages of a
  // user who started a run in this browser (core/reports/run-notice.tsx).
  app.get('/runs/notice', async (c) => {
    c.header('Cache-Control', 'no-store')
    const userId = c.var.user?.id
    if (userId === undefined) return c.body(null, 204)
    const owed = await noticesOwed(c.var.db, userId)
    const finished = owed.filter((run) => !UNFINISHED.includes(run.status)).map((run) => run.id)
    const polling = finished.length < owed.length
    // The usual answer while a run is going: nothing to swap, htmx polls again.
    if (!finished.length && polling) return c.body(null, 204)
    // A run of a report the user may no longer read ends silently.
    const ended = (await markNotified(c.var.db, userId, finished)).filter((run) => c.var.ability.can('read', run.subject))
    if (!polling) forgetRunNotice(c)
    if (!ended.length && polling) return c.body(null, 204)
    return c.html(<RunNotices runs={ended.slice(0, NOTICE_LIMIT)} more={Math.max(0, ended.length - NOTICE_LIMIT)} polling={polling}
      canExport={(run) => c.var.ability.can('export', run.subject)} />)
  })

  app.get('/runs/:id', async (c) => {
    const run = await visibleRun(c.var.db, c.var.ability, runIdParam(c))
    // Its requester watching it end here needs no notice on the next page.
    if (run.notified_at === null && run.user_id !== null && run.user_id === c.var.user?.id && !UNFINISHED.includes(run.status)) {
      await markNotified(c.var.db, run.user_id, [run.id])
    }
    return showRun(c, run)
  })

  app.post('/runs/:id/cancel', async (c) => {
    const run = await visibleRun(c.var.db, c.var.ability, runIdParam(c))
    requireExport(c.var.ability, run)
    if (UNFINISHED.includes(run.status)) {
      await cancelRun(c.var.db, run.id, c.var.settings?.reportRetentionDays ?? 90)
      await flash(c, 'info', 'The export is being cancelled.')
    } else {
      await flash(c, 'info', 'The export had already finished.')
    }
    return redirect(c, `/reports/runs/${run.id}`)
  })

  app.get('/runs/:id/download', async (c) => {
    const run = await visibleRun(c.var.db, c.var.ability, runIdParam(c))
    requireExport(c.var.ability, run)
    requireCompleted(run)
    return fileResponse(c.var.db, run)
  })

  app.post('/:id/runs', async (c) => {
    const report = c.var.reports.get(c.req.param('id'))
    if (!report) return problemPage(c, 404, 'Report not found', 'That report does not exist.')
    const back = `/reports/${encodeURIComponent(report.id)}`
    if (!c.var.ability.can('read', report.subject) || !c.var.ability.can('export', report.subject)) {
      return problemPage(c, 403, 'Not allowed', 'You do not have permission to export this report.')
    }
    const search = await formSearch(c)
    const format = search.get('format') ?? undefined
    try {
      const request = await parseReportRequest(report, queryInput(search), {
        db: c.var.db, forExport: true, ignore: ['_csrf', 'format'], timeZone: c.var.settings?.reportTimeZone ?? 'UTC',
      })
      const run = await startRun(c.var.db, request, { format, userId: c.var.user?.id ?? null, notify: true })
      if (c.var.user) expectRunNotice(c, c.var.user.id)
      c.var.log.info('report run queued', { runId: run.id, report: report.id, format: run.format })
      await flash(c, 'success', `“${run.name}” is being generated. You can leave this page: it stays in Generated reports.`)
      return redirect(c, `/reports/runs/${run.id}`)
    } catch (error) {
      if (error instanceof ReportParamError) return problemPage(c, 400, `${report.title}: the export was not started`, error.message, back)
      throw error
    }
  })

  return app
}
