/**
 * Background jobs of the report engine:
 * - `reports.export` runs one recorded run: rebuilds the request as the person who asked for it
 *   (their organisation's subtree, their current permissions, the run's creation time as "now"),
 *   streams the export into ~1 MB chunks, reports progress, honours cancel, and only then marks
 *   the run completed.
 * - `reports.stale-runs` (every 2 minutes) finds runs whose worker died (a restart) and queues
 *   them again, or fails them with a reason after {@link MAX_ATTEMPTS} starts.
 * - `reports.retention` (daily) deletes runs past their `expires_at` with their files.
 */
import { sql, type Kysely } from 'kysely'
import type { Settings } from '../../config/settings.ts'
import { abilityForUser, loadGrants } from '../access/ability.ts'
import type { Database, ReportRunRow } from '../db/schema.ts'
import { HttpProblem } from '../http/problem.ts'
import type { Logger } from '../log.ts'
import type { JobDefinition } from '../plugins/define.ts'
import { executorOf, ScopedDb } from '../tenancy/scoped-db.ts'
import { contentTypeOf, fileNameFor, writeReport, type WriteOptions } from './export.ts'
import { queryInput } from './params.ts'
import type { ReportRegistry } from './registry.ts'
import { parseReportRequest, type ReportRequest } from './request.ts'
import { EXPORT_QUEUE, MAX_ATTEMPTS, STALE_SECONDS } from './runs.ts'

/** Bytes buffered before a chunk is stored. */
export const CHUNK_BYTES = 1024 * 1024
export const INTERRUPTED = 'Interrupted: the server restarted during the export, several times. Start the report again.'

export interface ExecuteOptions {
  readonly reports: ReportRegistry
  readonly settings: Pick<Settings, 'reportTimeZone' | 'reportRetentionDays'>
  readonly log?: Logger
  readonly jobId?: string
  /** Least time between progress writes (which also check for a cancel); default 500 ms. */
  readonly progressMs?: number
  /** Heartbeat while a batch takes long; default 5 s. */
  readonly heartbeatMs?: number
  /** The export writer (tests replace it to simulate a crash). */
  readonly write?: typeof writeReport
}

const now = () => sql<Date>`now()` as unknown as Date

class RunFailure extends Error {}

/**
 * Claims run `runId` and exports it. Returns the run as it ended, or undefined when there was
 * nothing to do (already finished, cancelled before it started, or owned by a live worker).
 */
export async function executeRun(root: ScopedDb, runId: number, options: ExecuteOptions): Promise<ReportRunRow | undefined> {
  const db = executorOf(root) as Kysely<Database>
  const claimed = await db.updateTable('report_runs')
    .set({
      status: 'running', attempts: sql`attempts + 1` as unknown as number, heartbeat_at: now(),
      started_at: sql`coalesce(started_at, now())` as unknown as Date, rows_done: 0, bytes: 0, chunks: 0,
      ...(options.jobId ? { job_id: options.jobId } : {}),
    })
    .where('id', '=', runId)
    .where((eb) => eb.or([
      eb('status', '=', 'queued'),
      // A worker that died (a restart) leaves the run running with an old heartbeat: start it over.
      eb.and([eb('status', '=', 'running'), eb('heartbeat_at', '<', sql<Date>`now() - make_interval(secs => ${STALE_SECONDS})`)]),
    ]))
    .returningAll().executeTakeFirst() as ReportRunRow | undefined
  if (!claimed) return undefined
  const attempt = claimed.attempts
  const log = options.log?.child({ runId, attempt })
  // Whatever an earlier attempt wrote is worthless now.
  await db.deleteFrom('report_run_chunks').where('run_id', '=', runId).where('attempt', '<', attempt).execute()
  if (claimed.cancel_requested) return finish(db, claimed, 'cancelled', null, options)
  if (attempt > MAX_ATTEMPTS) return finish(db, claimed, 'failed', INTERRUPTED, options)

  let request: ReportRequest
  try {
    request = await rebuildRequest(db, claimed, options)
  } catch (error) {
    const message = error instanceof RunFailure || error instanceof HttpProblem ? error.message : 'The report could not be prepared.'
    if (!(error instanceof RunFailure || error instanceof HttpProblem)) log?.error('report run preparation failed', { error })
    return finish(db, claimed, 'failed', message, options)
  }

  const owned = () => db.updateTable('report_runs').where('id', '=', runId).where('attempts', '=', attempt).where('status', '=', 'running')
  const controller = new AbortController()
  let lost = false
  let cancelled = false
  let progress = { rows: 0, bytes: 0 }
  let beating: Promise<void> | undefined
  const beat = () => {
    beating ??= (async () => {
      const row = await owned().set({ rows_done: progress.rows, bytes: progress.bytes, heartbeat_at: now() }).returning('cancel_requested').executeTakeFirst()
      if (!row) lost = true
      else if (row.cancel_requested) cancelled = true
      if (lost || cancelled) controller.abort()
    })().finally(() => { beating = undefined })
    return beating
  }
  const timer = setInterval(() => { beat().catch((error) => log?.warn('report run heartbeat failed', { error })) }, options.heartbeatMs ?? 5000)
  timer.unref()

  let seq = 0
  let pending: Uint8Array[] = []
  let pendingBytes = 0
  const scoped = request.context.db
  const flush = async () => {
    if (!pendingBytes) return
    const data = Buffer.concat(pending, pendingBytes)
    pending = []
    pendingBytes = 0
    await (await scoped.insertInto('report_run_chunks', { run_id: runId, org_id: claimed.org_id, attempt, seq, data })).execute()
    seq++
  }
  const sink = async (chunk: Uint8Array) => {
    if (lost || cancelled) throw controller.signal.reason ?? new Error('aborted')
    pending.push(chunk)
    pendingBytes += chunk.byteLength
    if (pendingBytes >= CHUNK_BYTES) await flush()
  }
  let lastBeat = 0
  const writeOptions: WriteOptions = {
    signal: controller.signal,
    onProgress: async (p) => {
      progress = { rows: p.rows, bytes: p.bytes }
      // Let timers and requests in between batches: on the embedded database every query resolves
      // without ever leaving the microtask queue, and a cancel request would wait for the whole export.
      await new Promise((resolve) => setImmediate(resolve))
      if (Date.now() - lastBeat < (options.progressMs ?? 500)) return
      lastBeat = Date.now()
      await beat()
    },
  }

  try {
    const total = await countRows(request)
    await owned().set({ rows_total: total }).execute()
    const result = await (options.write ?? writeReport)(request, claimed.format, sink, writeOptions)
    await flush()
    await beat()
    if (lost) return undefined
    if (cancelled) return finish(db, claimed, 'cancelled', null, options)
    const done = await owned().where('cancel_requested', '=', false)
      .set({
        status: 'completed', rows_done: result.rows, rows_total: result.rows, bytes: result.bytes, chunks: seq, heartbeat_at: now(), finished_at: now(),
        expires_at: sql<Date>`now() + make_interval(days => ${options.settings.reportRetentionDays})` as unknown as Date,
        content_type: contentTypeOf(claimed.format), file_name: fileNameFor(claimed.name, claimed.format, claimed.created_at),
      })
      .returningAll().executeTakeFirst() as ReportRunRow | undefined
    if (done) {
      log?.info('report run completed', { rows: result.rows, bytes: result.bytes })
      return done
    }
    // A cancel arrived after the last batch, or another attempt took over.
    return cancelled || !lost ? finish(db, claimed, 'cancelled', null, options) : undefined
  } catch (error) {
    if (lost) return undefined
    if (cancelled) return finish(db, claimed, 'cancelled', null, options)
    log?.error('report run failed', { error })
    const message = error instanceof HttpProblem ? error.message : `The export failed unexpectedly (run ${runId}). Try again; if it keeps failing, tell your administrator.`
    return finish(db, claimed, 'failed', message, options)
  } finally {
    clearInterval(timer)
    await beating?.catch(() => {})
  }
}

/** Ends the claimed attempt: deletes its chunks unless completed, records the status and expiry. */
async function finish(db: Kysely<Database>, run: ReportRunRow, status: 'failed' | 'cancelled', error: string | null, options: ExecuteOptions): Promise<ReportRunRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const ended = await trx.updateTable('report_runs')
      .set({
        status, error, finished_at: now(), heartbeat_at: now(),
        expires_at: sql<Date>`now() + make_interval(days => ${options.settings.reportRetentionDays})` as unknown as Date,
      })
      .where('id', '=', run.id).where('attempts', '=', run.attempts).where('status', '=', 'running')
      .returningAll().executeTakeFirst() as ReportRunRow | undefined
    if (ended) await trx.deleteFrom('report_run_chunks').where('run_id', '=', run.id).execute()
    return ended
  })
}

/**
 * The run's request as the person who made it would get it now: their organisation's subtree,
 * their current permission to export, and the run's creation time for relative periods.
 */
async function rebuildRequest(db: Kysely<Database>, run: ReportRunRow, options: ExecuteOptions): Promise<ReportRequest> {
  const report = options.reports.get(run.report_id)
  if (!report) throw new RunFailure('The report is no longer available on this portal.')
  const user = run.user_id === null ? undefined
    : await db.selectFrom('users').select(['id', 'email', 'org_id', 'status']).where('id', '=', run.user_id).executeTakeFirst()
  if (!user || user.status !== 'active') throw new RunFailure('The person who asked for this report no longer has an active account.')
  const ability = abilityForUser(user.id, await loadGrants(db, user.id))
  if (!ability.can('export', report.subject)) throw new RunFailure('The person who asked for this report may no longer export it.')
  const org = await db.selectFrom('organisations').select(['id', 'path']).where('id', '=', run.org_id).executeTakeFirstOrThrow()
  const userOrg = await db.selectFrom('organisations').select('path').where('id', '=', user.org_id).executeTakeFirstOrThrow()
  // A user moved elsewhere in the tree no longer sees the run's subtree.
  if (!org.path.startsWith(userOrg.path)) throw new RunFailure('The person who asked for this report no longer belongs to its organisation.')
  const scoped = new ScopedDb(db, { orgId: org.id, path: org.path }, undefined, { userId: user.id, email: user.email, orgId: user.org_id })
  const search = new URLSearchParams(run.query)
  search.set('name', run.name)
  if (run.description) search.set('description', run.description)
  return parseReportRequest(report, queryInput(search), { db: scoped, forExport: true, now: run.created_at, timeZone: options.settings.reportTimeZone })
}

async function countRows(request: ReportRequest): Promise<number> {
  const row = await (executorOf(request.context.db) as Kysely<any>)
    .selectFrom(request.report.query(request.context).as('r'))
    .select(sql<string>`count(*)`.as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/**
 * Runs whose worker stopped sending heartbeats (the process died): queued again for another
 * attempt, or failed with a reason once they used {@link MAX_ATTEMPTS}. A run asked to stop is
 * cancelled. Returns how many runs were requeued and failed.
 */
export async function sweepStaleRuns(root: ScopedDb, retentionDays: number): Promise<{ requeued: number; failed: number; cancelled: number }> {
  const db = executorOf(root) as Kysely<Database>
  const stale = await db.selectFrom('report_runs').select(['id', 'attempts', 'cancel_requested'])
    .where('status', '=', 'running')
    .where('heartbeat_at', '<', sql<Date>`now() - make_interval(secs => ${STALE_SECONDS})`)
    .execute()
  const counts = { requeued: 0, failed: 0, cancelled: 0 }
  for (const run of stale) {
    const give = run.cancel_requested ? 'cancelled' : run.attempts >= MAX_ATTEMPTS ? 'failed' : 'queued'
    await root.transaction(async (trx) => {
      const tdb = executorOf(trx) as Kysely<Database>
      const changed = await tdb.updateTable('report_runs')
        .set(give === 'queued'
          ? { status: 'queued', heartbeat_at: null }
          : { status: give, error: give === 'failed' ? INTERRUPTED : null, finished_at: now(), expires_at: sql<Date>`now() + make_interval(days => ${retentionDays})` as unknown as Date })
        .where('id', '=', run.id).where('attempts', '=', run.attempts).where('status', '=', 'running')
        .returning('id').executeTakeFirst()
      if (!changed) return
      if (give === 'queued') {
        const jobId = await trx.sendJob(EXPORT_QUEUE, { runId: run.id }, { expireInSeconds: 6 * 3600, retryLimit: MAX_ATTEMPTS, retryDelay: 10 })
        await tdb.updateTable('report_runs').set({ job_id: jobId }).where('id', '=', run.id).execute()
      } else {
        await tdb.deleteFrom('report_run_chunks').where('run_id', '=', run.id).execute()
      }
      counts[give === 'queued' ? 'requeued' : give]++
    })
  }
  return counts
}

/** Deletes runs past their retention, with their files. Returns how many. */
export async function deleteExpiredRuns(root: ScopedDb): Promise<number> {
  const db = executorOf(root) as Kysely<Database>
  const deleted = await db.deleteFrom('report_runs').where('expires_at', '<=', now()).executeTakeFirst()
  return Number(deleted.numDeletedRows)
}

export const reportJobs: readonly JobDefinition<any>[] = [
  {
    id: EXPORT_QUEUE,
    handler: async (jobs: { id: string; data: { runId?: unknown } }[], { db, log, settings, reports }) => {
      for (const job of jobs) {
        const runId = Number(job.data.runId)
        if (Number.isSafeInteger(runId) && runId > 0) await executeRun(db, runId, { reports, settings, log, jobId: job.id })
      }
    },
  },
  {
    id: 'reports.stale-runs',
    cron: '*/2 * * * *',
    handler: async (_jobs, { db, log, settings }) => {
      const counts = await sweepStaleRuns(db, settings.reportRetentionDays)
      if (counts.requeued || counts.failed || counts.cancelled) log.warn('interrupted report runs found', counts)
    },
  },
  {
    id: 'reports.retention',
    cron: '23 3 * * *',
    handler: async (_jobs, { db, log }) => {
      const removed = await deleteExpiredRuns(db)
      if (removed) log.info('expired generated reports deleted', { removed })
    },
  },
]
