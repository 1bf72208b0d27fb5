/**
 * Background report runs below HTTP: the export job writes a run into chunks and completes it,
 * a cancel stops a running export (rows stop growing, nothing is kept), a queued run cancelled
 * never starts, a run whose worker died is started over or failed with a reason, lost permission
 * fails a run, and retention deletes expired runs with their files.
 */
import { sql, type Kysely } from 'kysely'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Database, ReportRunRow } from '../../core/db/schema.ts'
import { writeReport } from '../../core/reports/export.ts'
import { CHUNK_BYTES, deleteExpiredRuns, executeRun, INTERRUPTED, sweepStaleRuns, type ExecuteOptions } from '../../core/reports/jobs.ts'
import { queryInput } from '../../core/reports/params.ts'
import { parseReportRequest } from '../../core/reports/request.ts'
import { cancelRun, MAX_ATTEMPTS, runFile } from '../../core/reports/runs.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { builtInPlugins } from '../../plugins/index.ts'
import { addRole, addUser, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'
import { bigReport, runTestPlugin } from '../support/report-runs.ts'

const test = suite(`report runs: jobs (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let db: Kysely<Database>
let root: ScopedDb
let operatorUser: number
let options: ExecuteOptions

test.before(async () => {
  rt = await testRuntime({ installed: [...builtInPlugins, runTestPlugin] })
  db = rt.database.db
  tree = await seedTree(db)
  root = new ScopedDb(db, { orgId: tree.operator.id, path: tree.operator.path }, rt.boss)
  operatorUser = (await db.selectFrom('users').select('id').where('org_id', '=', tree.operator.id).executeTakeFirstOrThrow()).id
  const { ReportRegistry } = await import('../../core/reports/registry.ts')
  options = { reports: new ReportRegistry(rt.plugins), settings: { reportTimeZone: 'UTC', reportRetentionDays: 30 }, progressMs: 50 }
})
test.after(async () => { await rt?.dispose() })

/** A run recorded without a job, so only the test runs it. */
async function insertRun(query: string, extra: Partial<Record<keyof ReportRunRow, unknown>> = {}): Promise<ReportRunRow> {
  return await db.insertInto('report_runs').values({
    org_id: tree.operator.id, user_id: operatorUser, report_id: bigReport.id, subject: bigReport.subject, report_title: bigReport.title,
    name: 'Big export', format: 'csv', query, ...extra,
  } as never).returningAll().executeTakeFirstOrThrow() as ReportRunRow
}

const reload = async (id: number) => await db.selectFrom('report_runs').selectAll().where('id', '=', id).executeTakeFirstOrThrow() as ReportRunRow
const chunkCount = async (id: number) => Number((await db.selectFrom('report_run_chunks').select(sql<string>`count(*)`.as('n')).where('run_id', '=', id).executeTakeFirstOrThrow()).n)

async function fileOf(run: ReportRunRow): Promise<Buffer> {
  const parts: Uint8Array[] = []
  const reader = runFile(root, run).getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    parts.push(value)
  }
  return Buffer.concat(parts)
}

async function directExport(run: ReportRunRow): Promise<Buffer> {
  const search = new URLSearchParams(run.query)
  search.set('name', run.name)
  const request = await parseReportRequest(bigReport, queryInput(search), { db: root, forExport: true, now: run.created_at })
  const parts: Uint8Array[] = []
  // The row-by-row writer: a background CSV run on PostgreSQL goes through COPY, which must give the same bytes.
  await writeReport(request, run.format, async (chunk) => { parts.push(chunk) }, { fastPath: false })
  return Buffer.concat(parts)
}

test('the export job stores the file in ~1 MB chunks and completes the run only then', async () => {
  const run = await insertRun('rows=40000&delimiter=pipe')
  const done = await executeRun(root, run.id, options)
  assert.ok(done)
  assert.is(done.status, 'completed')
  assert.is(Number(done.rows_done), 7 * 40000)
  assert.is(Number(done.rows_total), 7 * 40000)
  assert.is(done.attempts, 1)
  assert.ok(done.chunks >= 2, `expected several chunks, got ${done.chunks}`)
  assert.is(await chunkCount(run.id), done.chunks)
  const sizes = await db.selectFrom('report_run_chunks').select(sql<number>`length(data)`.as('n')).where('run_id', '=', run.id).orderBy('seq').execute()
  for (const size of sizes.slice(0, -1)) assert.ok(Number(size.n) >= CHUNK_BYTES && Number(size.n) < CHUNK_BYTES * 2)
  const file = await fileOf(done)
  assert.is(file.length, Number(done.bytes))
  assert.ok(file.equals(await directExport(done)), 'the stored file equals a direct export')
  assert.match(file.subarray(0, 200).toString('utf8'), /\|/)
  assert.match(done.file_name!, /^Big export \d{4}-\d{2}-\d{2}\.csv$/)
  const days = (done.expires_at!.getTime() - done.finished_at!.getTime()) / 86_400_000
  assert.ok(Math.abs(days - 30) < 0.01, `expires 30 days after it finished, got ${days}`)
  // Delivered twice (pg-boss retries): the second delivery finds nothing to do.
  assert.is(await executeRun(root, run.id, options), undefined)
})

test('cancel stops a running export: rows stop growing, the run ends cancelled, nothing is kept', async () => {
  const run = await insertRun('rows=100000')
  const execution = executeRun(root, run.id, options)
  try {
    const deadline = Date.now() + 120_000
    let seen = await reload(run.id)
    while (!(seen.status === 'running' && Number(seen.rows_done) > 0)) {
      if (Date.now() > deadline || (seen.status !== 'running' && seen.status !== 'queued')) throw new Error(`run did not start: ${seen.status}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
      seen = await reload(run.id)
    }
    const asked = await cancelRun(root, run.id, 30)
    assert.is(asked!.status, 'running')
    assert.is(asked!.cancel_requested, true)
  } finally {
    // Never leave the export running past this test, whatever failed.
    await cancelRun(root, run.id, 30)
  }
  const ended = await execution
  assert.ok(ended)
  assert.is(ended.status, 'cancelled')
  assert.ok(Number(ended.rows_done) < 7 * 100000, `stopped early (${ended.rows_done} rows)`)
  assert.is(await chunkCount(run.id), 0)
  const rowsAtEnd = (await reload(run.id)).rows_done
  await new Promise((resolve) => setTimeout(resolve, 300))
  const later = await reload(run.id)
  assert.is(later.rows_done, rowsAtEnd)
  assert.is(later.status, 'cancelled')
  assert.ok(later.finished_at && later.expires_at)
})

test('a queued run cancelled before it starts never starts', async () => {
  const run = await insertRun('rows=5')
  const cancelled = await cancelRun(root, run.id, 30)
  assert.is(cancelled!.status, 'cancelled')
  assert.is(await executeRun(root, run.id, options), undefined)
  const after = await reload(run.id)
  assert.is(after.status, 'cancelled')
  assert.is(after.attempts, 0)
})

test('a run whose worker died is started over from scratch; a live one is left alone', async () => {
  const run = await insertRun('rows=3', { status: 'running', attempts: 1, started_at: new Date(Date.now() - 3_600_000), heartbeat_at: new Date(Date.now() - 3_600_000), rows_done: 2 })
  await db.insertInto('report_run_chunks').values({ run_id: run.id, org_id: tree.operator.id, attempt: 1, seq: 0, data: Buffer.from('half a file from the dead worker') }).execute()
  const live = await insertRun('rows=3', { status: 'running', attempts: 1, started_at: new Date(), heartbeat_at: new Date() })
  assert.is(await executeRun(root, live.id, options), undefined)
  assert.is((await reload(live.id)).status, 'running')

  const done = await executeRun(root, run.id, options)
  assert.is(done!.status, 'completed')
  assert.is(done!.attempts, 2)
  assert.is(Number(done!.rows_done), 21)
  const file = await fileOf(done!)
  assert.not.match(file.toString('utf8'), /dead worker/)
  assert.ok(file.equals(await directExport(done!)))
  assert.is(await chunkCount(run.id), done!.chunks)
})

test('a run interrupted too often fails with a reason', async () => {
  const old = new Date(Date.now() - 3_600_000)
  const run = await insertRun('rows=3', { status: 'running', attempts: MAX_ATTEMPTS, started_at: old, heartbeat_at: old })
  const ended = await executeRun(root, run.id, options)
  assert.is(ended!.status, 'failed')
  assert.is(ended!.error, INTERRUPTED)
  assert.is(await chunkCount(run.id), 0)
})

test('the sweep requeues stale runs (the job then completes them), fails worn-out ones, cancels those asked to stop', async () => {
  const old = new Date(Date.now() - 3_600_000)
  const requeue = await insertRun('rows=4', { status: 'running', attempts: 1, started_at: old, heartbeat_at: old })
  const wornOut = await insertRun('rows=4', { status: 'running', attempts: MAX_ATTEMPTS, started_at: old, heartbeat_at: old })
  const stopping = await insertRun('rows=4', { status: 'running', attempts: 1, started_at: old, heartbeat_at: old, cancel_requested: true })
  await db.insertInto('report_run_chunks').values({ run_id: wornOut.id, org_id: tree.operator.id, attempt: MAX_ATTEMPTS, seq: 0, data: Buffer.from('partial') }).execute()
  const counts = await sweepStaleRuns(root, 30)
  assert.equal(counts, { requeued: 1, failed: 1, cancelled: 1 })
  assert.is((await reload(wornOut.id)).status, 'failed')
  assert.is((await reload(wornOut.id)).error, INTERRUPTED)
  assert.is(await chunkCount(wornOut.id), 0)
  assert.is((await reload(stopping.id)).status, 'cancelled')
  assert.ok((await reload(requeue.id)).job_id)
  // The queued job is picked up by the worker (0.5 s polling in tests).
  const deadline = Date.now() + 30_000
  let run = await reload(requeue.id)
  while (run.status !== 'completed') {
    if (Date.now() > deadline || run.status === 'failed') throw new Error(`requeued run ended ${run.status}: ${run.error}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
    run = await reload(requeue.id)
  }
  assert.is(run.attempts, 2)
  assert.is(Number(run.rows_done), 28)
})

test('a run whose requester may no longer export fails with a reason', async () => {
  const role = await addRole(db, tree.operator.id, 'Reader only', [['Organisation', 'read']])
  const reader = await addUser(db, tree.operator.id, 'reader-runs@test.example', { roleIds: [role] })
  const run = await insertRun('rows=3', { user_id: reader })
  const ended = await executeRun(root, run.id, options)
  assert.is(ended!.status, 'failed')
  assert.match(ended!.error!, /no longer export/)
})

test('a run is exported in its own organisation\'s subtree only', async () => {
  const alphaAdmin = (await db.selectFrom('users').select('id').where('org_id', '=', tree.alpha.id).executeTakeFirstOrThrow()).id
  const run = await insertRun('rows=2', { org_id: tree.alpha.id, user_id: alphaAdmin })
  const done = await executeRun(root, run.id, options)
  const text = (await fileOf(done!)).toString('utf8')
  assert.is(Number(done!.rows_done), 4 * 2)
  assert.match(text, /Alpha Sub Customer/)
  assert.not.match(text, /Beta|Test Operator/)
})

test('retention deletes expired runs with their files and keeps the others', async () => {
  const expired = await insertRun('rows=1', { status: 'completed', finished_at: new Date(Date.now() - 86_400_000), expires_at: new Date(Date.now() - 1000), chunks: 1, attempts: 1 })
  const kept = await insertRun('rows=1', { status: 'completed', finished_at: new Date(), expires_at: new Date(Date.now() + 86_400_000), chunks: 1, attempts: 1 })
  for (const run of [expired, kept]) await db.insertInto('report_run_chunks').values({ run_id: run.id, org_id: tree.operator.id, attempt: 1, seq: 0, data: Buffer.from('x') }).execute()
  assert.ok((await deleteExpiredRuns(root)) >= 1)
  assert.is(await db.selectFrom('report_runs').select('id').where('id', '=', expired.id).executeTakeFirst(), undefined)
  assert.is(await chunkCount(expired.id), 0)
  assert.is((await reload(kept.id)).status, 'completed')
  assert.is(await chunkCount(kept.id), 1)
})

test.run()
