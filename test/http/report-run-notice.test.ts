/**
 * The notice of a finished report run on every signed-in page: no poller (and no cookie) until a
 * run is started from a report's form; then pages carry a poller of GET /reports/runs/notice,
 * which answers 204 while the run is going, then the notice once (download link, or why it failed
 * or was cancelled), then stops the polling and clears the cookie. Only the user who started the
 * run is told, only inside their subtree and for a report they may read; API runs, runs made
 * before the migration and runs watched to the end on their own page owe no notice.
 */
import type { Kysely } from 'kysely'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Database, ReportRunRow } from '../../core/db/schema.ts'
import { accountsReport } from '../../plugins/organisations/accounts-report.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { addRole, addUser, ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'
import { apiCall, runFinished } from '../support/report-runs.ts'

const test = suite(`report run notices (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let db: Kysely<Database>
let alpha: Agent
let alphaId: number
const REPORT = accountsReport.id
const NOTICE = '/reports/runs/notice'
const COOKIE = 'll_run_notice'
const POLLER = /hx-get="\/reports\/runs\/notice"[^>]*hx-trigger="every 3s"/

test.before(async () => {
  rt = await testRuntime()
  db = rt.database.db
  tree = await seedTree(db)
  alpha = await signedIn(rt.app, ADMIN.alpha)
  alphaId = await userId(ADMIN.alpha)
})
test.after(async () => { await rt?.dispose() })

async function userId(email: string): Promise<number> {
  return (await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id
}

const rowOf = async (id: number) => await db.selectFrom('report_runs').selectAll().where('id', '=', id).executeTakeFirstOrThrow() as ReportRunRow

/** A run recorded straight in the table (no job), owing its requester a notice unless told otherwise. */
async function insertRun(org: keyof Tree, user: number | null, extra: Record<string, unknown> = {}): Promise<number> {
  const finished = ['completed', 'failed', 'cancelled'].includes(String(extra.status))
  const run = await db.insertInto('report_runs').values({
    org_id: tree[org].id, user_id: user, report_id: REPORT, subject: 'Organisation', report_title: 'Accounts', name: `Notice run ${org}`, format: 'csv',
    attempts: 1, started_at: new Date(), finished_at: finished ? new Date() : null, notified_at: null, ...extra,
  } as never).returning('id').executeTakeFirstOrThrow()
  return run.id
}

const finish = (id: number, status: 'completed' | 'failed' | 'cancelled', extra: Record<string, unknown> = {}) =>
  db.updateTable('report_runs').set({ status, finished_at: new Date(), ...extra } as never).where('id', '=', id).execute()

/** What an htmx poll sends. */
const poll = (agent: Agent) => agent.get(NOTICE, { 'hx-request': 'true' })

/** An agent signed in as `email` whose browser expects a notice (as after starting a run from a form). */
async function expecting(email: string): Promise<Agent> {
  const agent = await signedIn(rt.app, email)
  agent.cookies.set(COOKIE, String(await userId(email)))
  return agent
}

test('without a run started in this browser, pages carry no poller and set no notice cookie', async () => {
  const html = await (await alpha.get('/')).text()
  assert.match(html, /<header class="topbar">/)
  assert.not.match(html, /run-notices/)
  assert.not.match(html, /reports\/runs\/notice/)
  assert.not.ok(alpha.cookies.has(COOKIE))
})

test('a run started from the form: pages poll; 204 while it runs, the notice once when done, then polling stops', async () => {
  const agent = await signedIn(rt.app, ADMIN.alpha)
  const res = await agent.postForm(`/reports/${REPORT}/runs`, { format: 'csv', name: 'Accounts for the notice' }, { csrf: await agent.csrf('/') })
  assert.is(res.status, 303)
  const id = Number(res.headers.get('location')!.split('/').pop())
  const set = agent.setCookies.find((line) => line.startsWith(`${COOKIE}=`))
  assert.ok(set, 'the start sets the notice cookie')
  assert.match(set!, /HttpOnly/i)
  assert.match(set!, /SameSite=Lax/i)
  assert.is(agent.cookies.get(COOKIE), String(alphaId))
  assert.is((await rowOf(id)).notified_at, null)

  // Another page of the portal, full render: the region and its poller are there.
  const page = await (await agent.get('/organisations')).text()
  assert.match(page, /id="run-notices"[^>]*aria-live="polite"/)
  assert.match(page, POLLER)
  // A fragment swap gets no second region.
  assert.not.match(await (await agent.get('/organisations', { 'hx-request': 'true' })).text(), /run-notices/)

  // Pretend the worker has not finished yet: no swap, keep polling.
  const run = await runFinished(agent, id)
  assert.is(run.status, 'completed', run.error)
  await db.updateTable('report_runs').set({ status: 'running', finished_at: null } as never).where('id', '=', id).execute()
  const waiting = await poll(agent)
  assert.is(waiting.status, 204)
  assert.is(waiting.headers.get('cache-control'), 'no-store')
  assert.is(agent.cookies.get(COOKIE), String(alphaId))
  await finish(id, 'completed')

  const done = await poll(agent)
  assert.is(done.status, 200)
  const html = await done.text()
  assert.not.match(html, /<html/)
  assert.match(html, /Your report is ready/)
  assert.match(html, new RegExp(`<a href="/reports/runs/${id}">Accounts for the notice</a>`))
  assert.match(html, new RegExp(`href="/reports/runs/${id}/download"[^>]*download`))
  assert.not.match(html, /hx-trigger/, 'nothing left to wait for: no new poller, htmx stops')
  assert.ok((await rowOf(id)).notified_at instanceof Date)
  assert.not.ok(agent.cookies.has(COOKIE), 'the cookie is cleared')
  const link = await agent.get(`/reports/runs/${id}/download`)
  assert.is(link.status, 200)
  assert.match(await link.text(), /Alpha Sub Customer/)

  // Shown once: the next page has no poller, and a late poll shows nothing.
  assert.not.match(await (await agent.get('/')).text(), /run-notices/)
  const again = await poll(agent)
  assert.is(again.status, 200)
  assert.is((await again.text()).trim(), '')
})

test('failed and cancelled runs say so; with runs still going the answer carries a new poller', async () => {
  const agent = await expecting(ADMIN.alpha)
  const failed = await insertRun('alpha', alphaId, { name: 'Broken export', status: 'running' })
  const cancelled = await insertRun('alpha', alphaId, { name: 'Stopped export', status: 'running' })
  const going = await insertRun('alpha', alphaId, { name: 'Long export', status: 'running' })
  await finish(failed, 'failed', { error: 'The database went away.' })
  await finish(cancelled, 'cancelled')
  const res = await poll(agent)
  assert.is(res.status, 200)
  const html = await res.text()
  assert.match(html, /Your report failed:.*Broken export.*The database went away\./s)
  assert.match(html, /role="alert"/)
  assert.match(html, /Your report was cancelled:.*Stopped export/s)
  assert.not.match(html, /Long export/)
  assert.not.match(html, /\/download"/)
  assert.match(html, POLLER)
  assert.is(agent.cookies.get(COOKIE), String(alphaId), 'still waiting for one run')
  assert.is((await poll(agent)).status, 204)
  await finish(going, 'completed', { bytes: 2048 })
  const last = await (await poll(agent)).text()
  assert.match(last, /Long export.*2\.0 KB/s)
  assert.not.match(last, /Broken export|Stopped export/)
  assert.not.match(last, /hx-trigger/)
})

test('many finished at once: three notices and one line for the rest', async () => {
  const agent = await expecting(ADMIN.alpha)
  for (let i = 1; i <= 5; i++) await insertRun('alpha', alphaId, { name: `Batch ${i}`, status: 'completed', bytes: 10 })
  const html = await (await poll(agent)).text()
  assert.is(html.match(/Your report is ready/g)?.length, 3)
  assert.match(html, /Batch 1.*Batch 2.*Batch 3/s)
  assert.match(html, /2 more reports have finished: see <a href="\/reports\/archive">Generated reports<\/a>/)
  assert.is((await db.selectFrom('report_runs').select('id').where('user_id', '=', alphaId).where('notified_at', 'is', null).execute()).length, 0)
})

test('only the requester is told: not a colleague, not someone above, not with a forged cookie', async () => {
  const colleague = await addUser(db, tree.alpha.id, 'alpha-colleague@test.example', { roleIds: [await addRole(db, tree.alpha.id, 'Alpha exporter', [['Organisation', 'read'], ['Organisation', 'export']])] })
  const id = await insertRun('alpha', colleague, { name: 'Colleague export', status: 'completed' })
  // alpha's admin and the operator both see the run in the archive, but it is not theirs.
  for (const email of [ADMIN.alpha, ADMIN.operator]) {
    const agent = await expecting(email)
    const res = await poll(agent)
    assert.is(res.status, 200, email)
    assert.not.match(await res.text(), /Colleague export/, email)
  }
  // A cookie naming the colleague, sent by alpha's admin: the page shows no poller (the cookie is not
  // alpha's), and the endpoint reads the signed-in user's runs only.
  const forger = await signedIn(rt.app, ADMIN.alpha)
  forger.cookies.set(COOKIE, String(colleague))
  assert.not.match(await (await forger.get('/')).text(), /run-notices/)
  assert.not.match(await (await poll(forger)).text(), /Colleague export/)
  assert.is((await rowOf(id)).notified_at, null, 'still owed to the colleague')
  const owner = await expecting('alpha-colleague@test.example')
  assert.match(await (await owner.get('/')).text(), POLLER)
  assert.match(await (await poll(owner)).text(), /Colleague export/)
})

test('a run outside the user\'s subtree is never told (a user moved to another tenant)', async () => {
  const mover = await addUser(db, tree.beta.id, 'mover@test.example', { roleIds: [await addRole(db, tree.beta.id, 'Beta exporter', [['Organisation', 'read'], ['Organisation', 'export']])] })
  const agent = await expecting('mover@test.example')
  const left = await insertRun('alpha', mover, { name: 'Alpha secret export', status: 'completed' })
  const res = await poll(agent)
  assert.is(res.status, 200)
  const html = await res.text()
  assert.not.match(html, /Alpha secret export/)
  assert.not.match(html, /Alpha/)
  assert.is((await rowOf(left)).notified_at, null, 'not marked through a handle that cannot see it')
  assert.not.ok(agent.cookies.has(COOKIE), 'nothing owed in scope: polling stops')
})

test('a run of a report the user may no longer read ends silently', async () => {
  const reader = await addUser(db, tree.alpha.id, 'notice-reader@test.example', { roleIds: [await addRole(db, tree.alpha.id, 'Alpha org reader', [['Organisation', 'read']])] })
  const agent = await expecting('notice-reader@test.example')
  const hidden = await insertRun('alpha', reader, { name: 'Invoice export', subject: 'Invoice', status: 'completed' })
  const shown = await insertRun('alpha', reader, { name: 'Readable export', status: 'completed' })
  const html = await (await poll(agent)).text()
  assert.not.match(html, /Invoice export/)
  assert.match(html, /Readable export/)
  assert.not.match(html, /\/download"/, 'no export permission: no download link')
  assert.ok((await rowOf(hidden)).notified_at instanceof Date)
  assert.ok((await rowOf(shown)).notified_at instanceof Date)
})

test('watching a run end on its own page owes no notice; someone else watching it changes nothing', async () => {
  const mine = await insertRun('alpha', alphaId, { name: 'Watched export', status: 'completed' })
  const op = await signedIn(rt.app, ADMIN.operator)
  assert.is((await op.get(`/reports/runs/${mine}`)).status, 200)
  assert.is((await rowOf(mine)).notified_at, null, 'the operator is not the requester')
  assert.is((await alpha.get(`/reports/runs/${mine}`, { 'hx-request': 'true' })).status, 200)
  assert.ok((await rowOf(mine)).notified_at instanceof Date)
  const agent = await expecting(ADMIN.alpha)
  assert.not.match(await (await poll(agent)).text(), /Watched export/)
})

test('runs started through the API owe no notice and set no cookie', async () => {
  const agent = await signedIn(rt.app, ADMIN.alpha)
  const { status, json } = await apiCall(agent, 'POST', `/api/v1/reports/${REPORT}/runs`, { format: 'csv', name: 'API export' })
  assert.is(status, 202)
  assert.ok((await rowOf(json.id)).notified_at instanceof Date)
  assert.not.ok(agent.cookies.has(COOKIE))
  await runFinished(agent, json.id)
  agent.cookies.set(COOKIE, String(alphaId))
  assert.not.match(await (await poll(agent)).text(), /API export/)
})

test('signed out (the session ended while a tab was left open): the poll stops quietly, no notice, no redirect', async () => {
  const res = await new Agent(rt.app).get(NOTICE, { 'hx-request': 'true', 'hx-current-url': 'http://localhost/organisations' })
  assert.is(res.status, 200)
  assert.is(await res.text(), '', 'an empty answer replaces the poller, so polling ends')
  assert.is(res.headers.get('hx-redirect'), null)
})

test('the poll does not keep an idle session alive; a page the reader opens does', async () => {
  const agent = await signedIn(rt.app, ADMIN.alpha)
  const session = await db.selectFrom('sessions').select(['id']).where('user_id', '=', alphaId).orderBy('created_at', 'desc').executeTakeFirstOrThrow()
  const idleSince = new Date(Date.now() - 10 * 60 * 1000)
  const expires = new Date(idleSince.getTime() + 12 * 60 * 60 * 1000)
  await db.updateTable('sessions').set({ last_seen_at: idleSince, expires_at: expires }).where('id', '=', session.id).execute()
  const seen = async () => (await db.selectFrom('sessions').select(['last_seen_at', 'expires_at']).where('id', '=', session.id).executeTakeFirstOrThrow())
  assert.ok((await poll(agent)).status < 400)
  assert.is((await seen()).last_seen_at.getTime(), idleSince.getTime(), 'a poll is not activity')
  assert.is((await seen()).expires_at.getTime(), expires.getTime())
  assert.is((await agent.get('/reports')).status, 200)
  assert.ok((await seen()).last_seen_at.getTime() > idleSince.getTime(), 'opening a page is')
  assert.ok((await seen()).expires_at.getTime() > expires.getTime())
})

test.run()
