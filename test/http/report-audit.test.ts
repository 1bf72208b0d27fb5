/**
 * Exports leave a trail: a download streamed at once, a background run queued, its file
 * downloaded, a run cancelled and a finished run deleted each write one audit row, in the
 * exporting organisation, readable through `/api/v1/audit-log` by that subtree only. A refused
 * export (no `export` permission, a bad parameter) writes nothing.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { accountsReport } from '../../plugins/organisations/accounts-report.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { apiCall, runFinished } from '../support/report-runs.ts'
import { addRole, addUser, ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`report exports in the audit log (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let op: Agent
let alpha: Agent
let reader: Agent
const REPORT = accountsReport.id

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  const role = await addRole(rt.database.db, tree.operator.id, 'Organisation reader', [['Organisation', 'read']])
  await addUser(rt.database.db, tree.operator.id, 'audit-reader@test.example', { roleIds: [role] })
  op = await signedIn(rt.app, ADMIN.operator)
  alpha = await signedIn(rt.app, ADMIN.alpha)
  reader = await signedIn(rt.app, 'audit-reader@test.example')
})
test.after(async () => { await rt?.dispose() })


async function entries(agent: Agent, subject: string): Promise<any[]> {
  const { status, json } = await apiCall(agent, 'GET', `/api/v1/audit-log?subject=${subject}`)
  assert.is(status, 200)
  return json.entries
}


test('a download streamed at once is audited with its report, format and filters; refusals are not', async () => {
  const before = (await entries(alpha, 'Report')).length
  const denied = await apiCall(reader, 'GET', `/api/v1/reports/${REPORT}.csv`)
  assert.is(denied.status, 403)
  const bad = await apiCall(alpha, 'GET', `/api/v1/reports/${REPORT}.csv?accountType=nobody`)
  assert.is(bad.status, 400)
  assert.is((await entries(alpha, 'Report')).length, before, 'a refused export leaves no row')

  const res = await apiCall(alpha, 'GET', `/api/v1/reports/${REPORT}.csv?delimiter=pipe&name=Alpha%20accounts&accountType=customer`)
  assert.is(res.status, 200)
  const mine = await entries(alpha, 'Report')
  assert.is(mine.length, before + 1)
  const [entry] = mine
  assert.is(entry.action, 'export')
  assert.is(entry.subjectId, REPORT)
  assert.is(entry.orgId, tree.alpha.id)
  assert.is(entry.actor.email, ADMIN.alpha)
  assert.is(entry.after.format, 'csv')
  assert.is(entry.after.name, 'Alpha accounts')
  assert.match(entry.after.query, /accountType=customer/)
  assert.match(entry.summary, /exported as CSV/)

  // The operator sees the reseller's export; the sibling reseller's own trail does not hold it.
  assert.ok((await entries(op, 'Report')).some((e) => e.id === entry.id))
  const beta = await signedIn(rt.app, ADMIN.beta)
  assert.not.ok((await entries(beta, 'Report')).some((e) => e.id === entry.id))
})

test('a background run is audited when queued, downloaded and deleted; a cancel is audited', async () => {
  const started = await apiCall(alpha, 'POST', `/api/v1/reports/${REPORT}/runs`, { format: 'xlsx', name: 'Audited run' })
  assert.is(started.status, 202)
  const id = started.json.id
  const run = await runFinished(alpha, id)
  assert.is(run.status, 'completed')
  const download = await alpha.request(`/api/v1/report-runs/${id}/download`)
  assert.is(download.status, 200)
  await download.arrayBuffer()
  assert.is((await apiCall(alpha, 'DELETE', `/api/v1/report-runs/${id}`)).status, 204)

  const trail = (await entries(alpha, 'ReportRun')).filter((e) => e.subjectId === String(id))
  assert.equal(trail.map((e) => e.action), ['delete', 'download', 'create'])
  assert.ok(trail.every((e) => e.orgId === tree.alpha.id && e.actor.email === ADMIN.alpha))
  assert.is(trail[2].after.format, 'xlsx')
  assert.is(trail[2].after.name, 'Audited run')
  assert.is(trail[0].before.status, 'completed')
  assert.is(trail[0].before.rows, run.progress.rowsDone)
  assert.ok(run.progress.rowsDone > 0)

  // A download that is refused (the run is gone) writes nothing more.
  assert.is((await alpha.request(`/api/v1/report-runs/${id}/download`)).status, 404)
  assert.is((await entries(alpha, 'ReportRun')).filter((e) => e.subjectId === String(id)).length, 3)
})

test('cancelling a queued run writes one cancel row; cancelling it again writes none', async () => {
  // Recorded straight in the table (no job), so it is certain to be queued when cancelled.
  const { id } = await rt.database.db.insertInto('report_runs').values({
    org_id: tree.operator.id, user_id: null, report_id: REPORT, subject: 'Organisation', report_title: 'Accounts', name: 'To cancel', format: 'csv',
  } as never).returning('id').executeTakeFirstOrThrow()
  const cancelled = await apiCall(op, 'DELETE', `/api/v1/report-runs/${id}`)
  assert.is(cancelled.status, 200)
  assert.is(cancelled.json.run.status, 'cancelled')
  assert.is((await op.postForm(`/reports/runs/${id}/cancel`, {})).status, 303)
  const trail = (await entries(op, 'ReportRun')).filter((e) => e.subjectId === String(id))
  assert.equal(trail.map((e) => e.action), ['cancel'])
  assert.is(trail[0].after.status, 'cancelled')
})

test.run()
