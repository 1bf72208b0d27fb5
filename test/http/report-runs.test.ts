/**
 * Background report runs through the front door: start a run over the JSON API and from the
 * report's form, watch it complete, download a file equal to a direct export, the progress page
 * (polls while unfinished, "Ready: download" when done), cancel, the archive (filter, delete),
 * permissions (no `export` -> 403; another subtree -> 404), a partial run never downloadable,
 * and parameter errors as 400 naming the key.
 */
import type { Kysely } from 'kysely'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Database, ReportRunRow } from '../../core/db/schema.ts'
import { writeReport } from '../../core/reports/export.ts'
import { queryInput } from '../../core/reports/params.ts'
import { parseReportRequest } from '../../core/reports/request.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { accountsReport } from '../../plugins/organisations/accounts-report.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { apiCall, runFinished } from '../support/report-runs.ts'
import { addRole, addUser, ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`report runs: pages and API (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let db: Kysely<Database>
let op: Agent
let alpha: Agent
let beta: Agent
let reader: Agent
const REPORT = accountsReport.id

test.before(async () => {
  rt = await testRuntime()
  db = rt.database.db
  tree = await seedTree(db)
  const role = await addRole(db, tree.operator.id, 'Organisation reader', [['Organisation', 'read']])
  await addUser(db, tree.operator.id, 'org-reader@test.example', { roleIds: [role] })
  op = await signedIn(rt.app, ADMIN.operator)
  alpha = await signedIn(rt.app, ADMIN.alpha)
  beta = await signedIn(rt.app, ADMIN.beta)
  reader = await signedIn(rt.app, 'org-reader@test.example')
})
test.after(async () => { await rt?.dispose() })



async function directExport(org: keyof Tree, run: ReportRunRow): Promise<Buffer> {
  const search = new URLSearchParams(run.query)
  search.set('name', run.name)
  if (run.description) search.set('description', run.description)
  const scoped = new ScopedDb(db, { orgId: tree[org].id, path: tree[org].path })
  const request = await parseReportRequest(accountsReport, queryInput(search), { db: scoped, forExport: true, now: run.created_at })
  const parts: Uint8Array[] = []
  // The row-by-row writer: a background CSV run on PostgreSQL goes through COPY, which must give the same bytes.
  await writeReport(request, run.format, async (chunk) => { parts.push(chunk) }, { fastPath: false })
  return Buffer.concat(parts)
}

const rowOf = async (id: number) => await db.selectFrom('report_runs').selectAll().where('id', '=', id).executeTakeFirstOrThrow() as ReportRunRow

/** A run recorded straight in the table (no job), in a given state. */
async function insertRun(org: keyof Tree, extra: Record<string, unknown> = {}): Promise<number> {
  const run = await db.insertInto('report_runs').values({
    org_id: tree[org].id, user_id: null, report_id: REPORT, subject: 'Organisation', report_title: 'Accounts', name: `Manual ${org}`, format: 'csv', ...extra,
  } as never).returning('id').executeTakeFirstOrThrow()
  return run.id
}

test('POST /api/v1/reports/:id/runs queues a run (202) that completes; the download equals a direct export', async () => {
  const { status, json } = await apiCall(op, 'POST', `/api/v1/reports/${REPORT}/runs`, { format: 'csv', delimiter: 'pipe', bom: 1, name: 'All accounts', description: 'For the board', accountType: 'customer' })
  assert.is(status, 202, JSON.stringify(json))
  assert.is(json.status, 'queued')
  assert.is(json.url, `/api/v1/report-runs/${json.id}`)
  const run = await runFinished(op, json.id)
  assert.is(run.status, 'completed', run.error)
  assert.is(run.name, 'All accounts')
  assert.is(run.description, 'For the board')
  assert.is(run.format, 'csv')
  assert.is(run.progress.rowsDone, 3)
  assert.equal(run.progress, { rowsDone: 3, rowsTotal: 3, percent: 100 })
  assert.ok(run.parameters.some((p: any) => p.label === 'Account type' && p.value === 'Customers'))
  assert.is(run.downloadUrl, `/api/v1/report-runs/${json.id}/download`)
  assert.ok(run.expiresAt)

  const res = await op.get(run.downloadUrl)
  assert.is(res.status, 200)
  assert.match(res.headers.get('content-type')!, /^text\/csv/)
  assert.match(res.headers.get('content-disposition')!, /attachment; filename="All accounts \d{4}-\d{2}-\d{2}\.csv"/)
  const file = Buffer.from(await res.arrayBuffer())
  assert.is(file.length, run.bytes)
  assert.ok(file.equals(await directExport('operator', await rowOf(json.id))), 'the archived file equals a direct export')
  assert.is(file[0], 0xef) // the BOM asked for
  assert.match(file.toString('utf8'), /Alpha Sub Customer/)
  assert.match(file.toString('utf8'), /\|/)
})

test('the report form starts a run (303 to its progress page), which shows progress, then "Ready: download"', async () => {
  const csrf = await op.csrf('/')
  const res = await op.postForm(`/reports/${REPORT}/runs`, { format: 'csv', name: 'Accounts from the form', org: String(tree.alpha.id), scope: 'subtree' }, { csrf })
  assert.is(res.status, 303)
  const location = res.headers.get('location')!
  assert.match(location, /^\/reports\/runs\/\d+$/)
  const id = Number(location.split('/').pop())
  const first = await (await op.get(location)).text()
  assert.match(first, /Accounts from the form/)
  assert.match(first, /is being generated/)
  await runFinished(op, id)
  const html = await (await op.get(location)).text()
  assert.match(html, /Ready: <a href="\/reports\/runs\/\d+\/download"/)
  assert.not.match(html, /hx-trigger="every 1s"/)
  assert.match(html, /Alpha Reseller, and everything below/)
  const download = await op.get(`/reports/runs/${id}/download`)
  assert.is(download.status, 200)
  const text = await download.text()
  assert.match(text, /Alpha Sub Customer/)
  assert.not.match(text, /Beta/)
})

test('an unfinished run polls every second and offers Cancel; the fragment keeps the polling container', async () => {
  const id = await insertRun('operator', { status: 'running', attempts: 1, started_at: new Date(), heartbeat_at: new Date(), rows_done: 12345, rows_total: 100000 })
  const html = await (await op.get(`/reports/runs/${id}`)).text()
  assert.match(html, /id="run-status"[^>]*hx-get="\/reports\/runs\/\d+"/)
  assert.match(html, /hx-trigger="every 1s"/)
  assert.match(html, /<progress[^>]*value="12345"[^>]*max="100000"/)
  assert.match(html, /12,345 of 100,000 rows/)
  assert.match(html, /action="\/reports\/runs\/\d+\/cancel"/)
  const fragment = await (await op.get(`/reports/runs/${id}`, { 'hx-request': 'true' })).text()
  assert.not.match(fragment, /<html/)
  assert.match(fragment, /id="run-status"/)
})

test('a partial run is never downloadable: 409 with a reason', async () => {
  for (const status of ['queued', 'running', 'failed', 'cancelled'] as const) {
    const finishedAt = status === 'failed' || status === 'cancelled' ? new Date() : null
    const id = await insertRun('operator', { status, attempts: 1, chunks: 1, finished_at: finishedAt })
    await db.insertInto('report_run_chunks').values({ run_id: id, org_id: tree.operator.id, attempt: 1, seq: 0, data: Buffer.from('partial') }).execute()
    const res = await apiCall(op, 'GET', `/api/v1/report-runs/${id}/download`)
    assert.is(res.status, 409, status)
    assert.match(res.json.error.message, /cannot be downloaded/)
    assert.is((await op.get(`/reports/runs/${id}/download`)).status, 409)
    assert.is((await apiCall(op, 'GET', `/api/v1/report-runs/${id}`)).json.run.downloadUrl, null)
  }
})

test('cancelling a queued run (DELETE) cancels it at once; a finished run is deleted (204)', async () => {
  const id = await insertRun('operator')
  const cancelled = await apiCall(op, 'DELETE', `/api/v1/report-runs/${id}`)
  assert.is(cancelled.status, 200)
  assert.is(cancelled.json.run.status, 'cancelled')
  const deleted = await apiCall(op, 'DELETE', `/api/v1/report-runs/${id}`)
  assert.is(deleted.status, 204)
  assert.is((await apiCall(op, 'GET', `/api/v1/report-runs/${id}`)).status, 404)
})

test('cancelling a running run from its page flags it; the page says so', async () => {
  const id = await insertRun('operator', { status: 'running', attempts: 1, started_at: new Date(), heartbeat_at: new Date() })
  const res = await op.postForm(`/reports/runs/${id}/cancel`, {})
  assert.is(res.status, 303)
  assert.is((await rowOf(id)).cancel_requested, true)
  const html = await (await op.get(`/reports/runs/${id}`)).text()
  assert.match(html, /Cancelling/)
  assert.not.match(html, /action="\/reports\/runs\/\d+\/cancel"/)
})

test('bad parameters are a 400 naming the key; an unknown report is a 404', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ colour: 'blue' }, 'colour'], [{ format: 'pdf' }, 'format'], [{ period: 'fortnight' }, 'period'],
    [{ org: tree.betaCustomer.id }, 'org'], [{ delimiter: 'tab' }, 'delimiter'], [{ format: 3 }, 'format'],
  ]
  for (const [body, key] of cases) {
    const res = await apiCall(alpha, 'POST', `/api/v1/reports/${REPORT}/runs`, body)
    assert.is(res.status, 400, JSON.stringify(body))
    assert.match(res.json.error.message, new RegExp(`^${key}:`))
  }
  assert.is((await apiCall(op, 'POST', `/api/v1/reports/${REPORT}/runs`, 'not json')).status, 400)
  assert.is((await apiCall(op, 'POST', '/api/v1/reports/nope.nothing/runs', {})).status, 404)
  const page = await op.postForm(`/reports/${REPORT}/runs`, { period: 'fortnight' })
  assert.is(page.status, 400)
  assert.match(await page.text(), /period: use one of/)
  assert.is((await op.postForm('/reports/nope.nothing/runs', {})).status, 404)
})

test('without export: 403 to start or download; read still shows the run', async () => {
  assert.is((await apiCall(reader, 'POST', `/api/v1/reports/${REPORT}/runs`, {})).status, 403)
  assert.is((await reader.postForm(`/reports/${REPORT}/runs`, {})).status, 403)
  const { json } = await apiCall(op, 'POST', `/api/v1/reports/${REPORT}/runs`, { name: 'Seen by the reader' })
  await runFinished(op, json.id)
  assert.is((await apiCall(reader, 'GET', `/api/v1/report-runs/${json.id}`)).status, 200)
  assert.is((await apiCall(reader, 'GET', `/api/v1/report-runs/${json.id}/download`)).status, 403)
  assert.is((await reader.get(`/reports/runs/${json.id}/download`)).status, 403)
  assert.is((await apiCall(reader, 'DELETE', `/api/v1/report-runs/${json.id}`)).status, 403)
  const page = await (await reader.get(`/reports/runs/${json.id}`)).text()
  assert.not.match(page, /\/download/)
})

test('a run of another subtree is a 404 everywhere, and absent from the archive', async () => {
  const { json } = await apiCall(alpha, 'POST', `/api/v1/reports/${REPORT}/runs`, { name: 'Alpha secret export' })
  const run = await runFinished(alpha, json.id)
  assert.is(run.status, 'completed')
  for (const path of [`/api/v1/report-runs/${json.id}`, `/api/v1/report-runs/${json.id}/download`]) assert.is((await apiCall(beta, 'GET', path)).status, 404)
  assert.is((await apiCall(beta, 'DELETE', `/api/v1/report-runs/${json.id}`)).status, 404)
  assert.is((await beta.get(`/reports/runs/${json.id}`)).status, 404)
  assert.is((await beta.get(`/reports/runs/${json.id}/download`)).status, 404)
  assert.is((await beta.postForm(`/reports/runs/${json.id}/cancel`, {})).status, 404)
  assert.is((await beta.postForm(`/reports/archive/${json.id}/delete`, {})).status, 404)
  const archive = await (await beta.get('/reports/archive')).text()
  assert.not.match(archive, /Alpha secret export/)
  const list = await apiCall(beta, 'GET', '/api/v1/report-runs')
  assert.not.ok(list.json.runs.some((r: any) => r.id === json.id))
  // The operator above sees it.
  assert.ok((await apiCall(op, 'GET', '/api/v1/report-runs?limit=500')).json.runs.some((r: any) => r.id === json.id))
})

test('the archive lists, filters, pages and deletes generated reports', async () => {
  const { json } = await apiCall(alpha, 'POST', `/api/v1/reports/${REPORT}/runs`, { name: 'Archive me', format: 'xlsx' })
  await runFinished(alpha, json.id)
  const html = await (await alpha.get('/reports/archive')).text()
  assert.match(html, /Archive me/)
  assert.match(html, /XLSX/)
  assert.match(html, /Admin of Alpha Reseller/)
  assert.match(html, new RegExp(`href="/reports/runs/${json.id}/download"`))
  const failed = await (await alpha.get('/reports/archive?status=failed')).text()
  assert.not.match(failed, /Archive me/)
  assert.is((await alpha.get('/reports/archive?status=bogus')).status, 400)
  const filtered = await apiCall(alpha, 'GET', `/api/v1/report-runs?status=completed&report=${REPORT}&limit=1`)
  assert.is(filtered.status, 200)
  assert.is(filtered.json.runs.length, 1)
  assert.ok(filtered.json.total >= 1)
  assert.is((await apiCall(alpha, 'GET', '/api/v1/report-runs?status=bogus')).status, 422)
  const file = await alpha.get(`/reports/runs/${json.id}/download`)
  assert.match(file.headers.get('content-type')!, /spreadsheetml/)
  assert.is(Buffer.from(await file.arrayBuffer()).subarray(0, 2).toString('latin1'), 'PK')
  const res = await alpha.postForm(`/reports/archive/${json.id}/delete`, {})
  assert.is(res.status, 303)
  assert.is(await db.selectFrom('report_runs').select('id').where('id', '=', json.id).executeTakeFirst(), undefined)
  assert.is(await db.selectFrom('report_run_chunks').select('run_id').where('run_id', '=', json.id).executeTakeFirst(), undefined)
})

test.run()
