/**
 * Background report runs and the archive of generated reports. A run records one export request
 * (report, canonical query, format, name) for the requesting user's organisation; the
 * `reports.export` job (core/reports/jobs.ts) writes the file into `report_run_chunks` and marks
 * the run `completed` only once every chunk is stored. A run is queued, running, completed,
 * failed or cancelled: a partial file is never offered.
 *
 * @example
 * const request = await parseReportRequest(report, input, { db: c.var.db, forExport: true, ignore: ['format'] })
 * const run = await startRun(c.var.db, request, { format: 'csv', userId: c.var.user.id })
 */
import { sql } from 'kysely'
import type { AppAbility } from '../access/ability.ts'
import type { ReportRunRow, ReportRunStatus } from '../db/schema.ts'
import { HttpProblem, notFound } from '../http/problem.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import { auditRun } from './audit.ts'
import { EXPORT_FORMATS, formatsOf, type ExportFormat } from './define.ts'
import { contentDisposition } from './export.ts'
import { ReportParamError, type OrgScope, type ParamDefinition } from './params.ts'
import { PERIOD_LABELS, type Period } from './period.ts'
import type { ReportRequest } from './request.ts'

/** The pg-boss queue of export runs. */
export const EXPORT_QUEUE = 'reports.export'
/** Starts of one run (the first and the retries after a restart) before it is failed. */
export const MAX_ATTEMPTS = 3
/** A running run whose heartbeat is older than this is taken to have died with its process. */
export const STALE_SECONDS = 180
/** pg-boss gives an export job this long before it retries it; far above any real export. */
const JOB_EXPIRE_SECONDS = 6 * 3600

export const UNFINISHED: readonly ReportRunStatus[] = ['queued', 'running']

export interface ParameterSummary {
  readonly label: string
  readonly value: string
}

/** What `parameters` holds: the resolved values (as JSON) and a short human summary. */
export interface RunParameters {
  readonly values: Record<string, unknown>
  readonly tab: string | null
  readonly summary: readonly ParameterSummary[]
}

export interface StartRunOptions {
  readonly format: string | undefined
  readonly userId: number | null
  /**
   * The requester is told on whatever page they are on when the run ends (runs started from the
   * portal's form). Without it, no notice is owed (API callers poll the run instead).
   */
  readonly notify?: boolean
}

/** The format of a run: one the report allows, csv by default; a 400 naming `format` otherwise. */
export function runFormat(request: ReportRequest, format: string | undefined): ExportFormat {
  const allowed = formatsOf(request.report)
  const chosen = (format ?? '').trim() || allowed[0] || 'csv'
  if (!(EXPORT_FORMATS as readonly string[]).includes(chosen) || !allowed.includes(chosen as ExportFormat)) {
    throw new ReportParamError('format', `use one of ${allowed.join(', ')}`)
  }
  return chosen as ExportFormat
}

/** The request's params as short "label: value" lines, for the archive and the progress page. */
export function describeParameters(request: ReportRequest): ParameterSummary[] {
  const out: ParameterSummary[] = []
  const params = request.context.params as Record<string, unknown>
  for (const [name, param] of Object.entries(request.report.params as Record<string, ParamDefinition<unknown>>)) {
    const value = params[name]
    if (value === undefined || (Array.isArray(value) && !value.length)) continue
    const label = param.label
    if (param.kind === 'period') {
      const period = value as Period
      const zone = period.timeZone === 'UTC' ? '' : ` (${period.timeZone})`
      out.push({ label, value: `${PERIOD_LABELS[period.preset]}: ${period.from} to ${period.to}${zone}` })
    } else if (param.kind === 'organisations') {
      const scope = value as OrgScope
      if (scope.mode === 'all') out.push({ label, value: 'All organisations' })
      else {
        const names = scope.orgs.slice(0, 5).map((o) => o.name).join(', ') + (scope.orgs.length > 5 ? ` and ${scope.orgs.length - 5} more` : '')
        out.push({ label, value: scope.mode === 'subtree' ? `${names}, and everything below` : names })
      }
    } else if (param.options) {
      const values = Array.isArray(value) ? value : [value]
      out.push({ label, value: values.map((v) => param.options!.find((o) => o.value === v)?.label ?? String(v)).join(', ') })
    } else {
      out.push({ label, value: String(value) })
    }
  }
  const tab = request.report.tabs?.find((t) => t.id === request.context.tab)
  if (tab && request.report.tabs!.length > 1) out.push({ label: 'Tab', value: tab.label })
  return out
}

/** The canonical query plus the export keys that differ from their defaults. */
export function runQuery(request: ReportRequest): string {
  const search = new URLSearchParams(request.query)
  if (request.exportOptions.delimiter !== 'comma') search.set('delimiter', request.exportOptions.delimiter)
  if (request.exportOptions.bom) search.set('bom', '1')
  return search.toString()
}

function jsonb(value: unknown) {
  // A text parameter cast to jsonb: postgres.js would otherwise encode the string as a JSON string.
  return sql<string>`cast(cast(${JSON.stringify(value)} as text) as jsonb)` as unknown as string
}

/**
 * Records a run for the handle's organisation and enqueues its job in the same transaction: the
 * job exists exactly when the run does. The caller has checked `export` on the report's subject.
 */
export async function startRun(sdb: ScopedDb, request: ReportRequest, options: StartRunOptions): Promise<ReportRunRow> {
  const format = runFormat(request, options.format)
  const parameters: RunParameters = { values: request.context.params as Record<string, unknown>, tab: request.context.tab ?? null, summary: describeParameters(request) }
  return sdb.transaction(async (trx) => {
    const run = await (await trx.insertInto('report_runs', {
      org_id: trx.scope.orgId,
      user_id: options.userId,
      report_id: request.report.id,
      subject: request.report.subject,
      report_title: request.report.title,
      name: request.exportOptions.name,
      description: request.exportOptions.description,
      format,
      query: runQuery(request),
      parameters: jsonb(parameters),
      notified_at: options.notify ? null : new Date(),
    })).returningAll().executeTakeFirstOrThrow() as ReportRunRow
    const jobId = await trx.sendJob(EXPORT_QUEUE, { runId: run.id }, { expireInSeconds: JOB_EXPIRE_SECONDS, retryLimit: MAX_ATTEMPTS, retryDelay: 10 })
    const queued = await trx.updateTable('report_runs').set({ job_id: jobId }).where('report_runs.id', '=', run.id).returningAll().executeTakeFirstOrThrow() as ReportRunRow
    await auditRun(trx, queued, 'create')
    return queued
  })
}

function runId(id: number): number | undefined {
  return Number.isSafeInteger(id) && id > 0 && id <= 2_147_483_647 ? id : undefined
}

/** A run in the handle's subtree, or undefined. */
export async function findRun(sdb: ScopedDb, id: number): Promise<ReportRunRow | undefined> {
  if (runId(id) === undefined) return undefined
  return await sdb.selectFrom('report_runs').selectAll().where('report_runs.id', '=', id).executeTakeFirst() as ReportRunRow | undefined
}

/**
 * A run the caller may see: in their subtree and `read` on its report's subject; else a 404
 * (never a 403, which would confirm that the run exists).
 */
export async function visibleRun(sdb: ScopedDb, ability: AppAbility, id: number): Promise<ReportRunRow> {
  const run = await findRun(sdb, id)
  if (!run || !ability.can('read', run.subject)) throw notFound('generated report')
  return run
}

/** The caller may download, cancel or delete the run: `export` on its subject. */
export function requireExport(ability: AppAbility, run: ReportRunRow): void {
  if (!ability.can('export', run.subject)) throw new HttpProblem(403, 'You do not have permission to export this report.')
}

/** The run's resolved parameters as stored (tolerant of older or hand-made rows). */
export function parametersOf(run: ReportRunRow): RunParameters {
  const raw = (typeof run.parameters === 'string' ? JSON.parse(run.parameters) : run.parameters) as Partial<RunParameters> | null
  return { values: raw?.values ?? {}, tab: raw?.tab ?? null, summary: Array.isArray(raw?.summary) ? raw.summary : [] }
}

export interface ArchiveRow extends ReportRunRow {
  readonly user_email: string | null
  readonly user_name: string | null
}

export interface ArchiveFilter {
  readonly status?: ReportRunStatus | undefined
  readonly reportId?: string | undefined
  readonly limit: number
  readonly offset: number
}

/** Report subjects of runs in scope that `ability` may read: the archive shows only those. */
export async function readableSubjects(sdb: ScopedDb, ability: AppAbility): Promise<string[]> {
  const rows = await sdb.selectFrom('report_runs').select('report_runs.subject').distinct().execute()
  return rows.map((r) => r.subject).filter((s) => ability.can('read', s))
}

/** The archive: runs in the subtree whose report the caller may read, newest first. */
export async function listRuns(sdb: ScopedDb, ability: AppAbility, filter: ArchiveFilter): Promise<{ runs: ArchiveRow[]; total: number }> {
  const subjects = await readableSubjects(sdb, ability)
  if (!subjects.length) return { runs: [], total: 0 }
  const base = sdb.selectFrom('report_runs')
    .where('report_runs.subject', 'in', subjects)
    .$if(filter.status !== undefined, (qb) => qb.where('report_runs.status', '=', filter.status!))
    .$if(filter.reportId !== undefined, (qb) => qb.where('report_runs.report_id', '=', filter.reportId!))
  const [runs, count] = await Promise.all([
    base
      // The user is shown only while they belong to the subtree (a user moved away is not named).
      .leftJoin('users', (join) => join.onRef('users.id', '=', 'report_runs.user_id')
        .on(sql<boolean>`users.org_id in (select o.id from organisations o where o.path like ${sdb.pathPattern})`))
      .selectAll('report_runs')
      .select(['users.email as user_email', 'users.name as user_name'])
      .orderBy('report_runs.created_at', 'desc').orderBy('report_runs.id', 'desc')
      .limit(filter.limit).offset(filter.offset)
      .execute(),
    base.select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow(),
  ])
  return { runs: runs as unknown as ArchiveRow[], total: Number(count.n) }
}

/**
 * Asks a run to stop. A queued run is cancelled at once (its job finds nothing to do); a running
 * one is flagged and its job stops at the next batch, deletes what it wrote and ends `cancelled`.
 * Returns the run as it is now; a finished run is returned unchanged.
 */
export async function cancelRun(sdb: ScopedDb, id: number, retentionDays: number): Promise<ReportRunRow | undefined> {
  const updated = await sdb.transaction(async (trx) => {
    const run = await trx.updateTable('report_runs')
      .set({
        cancel_requested: true,
        status: sql`case when status = 'queued' then 'cancelled' else status end`,
        finished_at: sql`case when status = 'queued' then now() else finished_at end`,
        expires_at: sql`case when status = 'queued' then now() + make_interval(days => ${retentionDays}) else expires_at end`,
      } as never)
      .where('report_runs.id', '=', id)
      .where('report_runs.status', 'in', UNFINISHED)
      .returningAll().executeTakeFirst() as ReportRunRow | undefined
    if (run) await auditRun(trx, run, 'cancel')
    return run
  })
  return updated ?? findRun(sdb, id)
}

/**
 * The runs `userId` started in the handle's subtree whose notice is still owed (unfinished, or
 * finished and not yet shown), oldest first. Served by the partial index `report_runs_notice_due`.
 */
export async function noticesOwed(sdb: ScopedDb, userId: number): Promise<ReportRunRow[]> {
  return await sdb.selectFrom('report_runs').selectAll()
    .where('report_runs.user_id', '=', userId)
    .where('report_runs.notified_at', 'is', null)
    .orderBy('report_runs.id')
    .limit(100)
    .execute() as ReportRunRow[]
}

/**
 * Marks finished runs of `userId` as shown; returns the ones this call marked, so two tabs polling
 * at once never both show the same run.
 */
export async function markNotified(sdb: ScopedDb, userId: number, ids: readonly number[]): Promise<ReportRunRow[]> {
  if (!ids.length) return []
  return await sdb.updateTable('report_runs')
    .set({ notified_at: sql`now()` } as never)
    .where('report_runs.id', 'in', ids)
    .where('report_runs.user_id', '=', userId)
    .where('report_runs.notified_at', 'is', null)
    .where('report_runs.status', 'not in', UNFINISHED)
    .returningAll().execute() as ReportRunRow[]
}

/** Deletes a finished run and its file. A queued or running run is a 409: cancel it first. */
export async function deleteRun(sdb: ScopedDb, id: number): Promise<void> {
  const deleted = await sdb.transaction(async (trx) => {
    const run = await trx.deleteFrom('report_runs')
      .where('report_runs.id', '=', id)
      .where('report_runs.status', 'not in', UNFINISHED)
      .returningAll().executeTakeFirst() as ReportRunRow | undefined
    if (run) await auditRun(trx, run, 'delete')
    return run
  })
  if (!deleted) {
    if (await findRun(sdb, id)) throw new HttpProblem(409, 'The report is still being generated: cancel it first.')
    throw notFound('generated report')
  }
}

/** The status a person sees: a running run asked to stop is `cancelling`. */
export function displayStatus(run: ReportRunRow): ReportRunStatus | 'cancelling' {
  return run.status === 'running' && run.cancel_requested ? 'cancelling' : run.status
}

/** Percent done, when the total is known. */
export function percentOf(run: ReportRunRow): number | null {
  if (run.status === 'completed') return 100
  const total = run.rows_total === null ? NaN : Number(run.rows_total)
  if (!Number.isFinite(total)) return null
  if (total === 0) return 0
  return Math.min(100, Math.floor((Number(run.rows_done) * 100) / total))
}

/** A completed run, or a 409 that says why its file cannot be downloaded. */
export function requireCompleted(run: ReportRunRow): void {
  if (run.status === 'completed') return
  const why: Record<string, string> = {
    queued: 'it has not started yet',
    running: 'it is still being generated',
    failed: 'the export failed',
    cancelled: 'the export was cancelled',
  }
  throw new HttpProblem(409, `This report cannot be downloaded: ${why[run.status] ?? 'it is not complete'}.`)
}

/**
 * The file of a completed run, read one stored chunk at a time (about 1 MB each), so a large
 * download never sits in memory. Chunks come from the handle's subtree only.
 */
export function runFile(sdb: ScopedDb, run: ReportRunRow): ReadableStream<Uint8Array> {
  let seq = 0
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (seq >= run.chunks) return controller.close()
      const row = await sdb.selectFrom('report_run_chunks').select('report_run_chunks.data')
        .where('report_run_chunks.run_id', '=', run.id)
        .where('report_run_chunks.attempt', '=', run.attempts)
        .where('report_run_chunks.seq', '=', seq)
        .executeTakeFirst()
      if (!row) return controller.error(new Error(`chunk ${seq} of report run ${run.id} is missing (deleted during the download?)`))
      seq++
      controller.enqueue(row.data instanceof Uint8Array ? row.data : new Uint8Array(row.data))
    },
  }, { highWaterMark: 1 })
}

/**
 * The HTTP response of a completed run's file, with its audit row (the caller has checked
 * permission and status).
 */
export async function fileResponse(sdb: ScopedDb, run: ReportRunRow): Promise<Response> {
  await auditRun(sdb, run, 'download')
  return new Response(runFile(sdb, run), {
    headers: {
      'Content-Type': run.content_type ?? 'application/octet-stream',
      'Content-Disposition': contentDisposition(run.file_name ?? `report-${run.id}.${run.format}`),
      'Content-Length': String(run.bytes),
      'Cache-Control': 'private, no-store',
      'X-Content-Type-Options': 'nosniff',
    },
  })
}
