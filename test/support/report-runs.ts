/**
 * A test-only plugin with a report big enough to watch a background export run and cancel it:
 * `rows` rows per organisation in scope, from generate_series, through the scoped handle. And the
 * two calls the run tests share: a JSON API call, and waiting for a run to finish.
 */
import { sql } from 'kysely'
import { definePlugin } from '../../core/plugins/define.ts'
import { defineReport } from '../../core/reports/define.ts'
import { integerParam, orgScopeParam } from '../../core/reports/params.ts'
import type { Agent } from './agent.ts'

export const bigReport = defineReport({
  id: 'runtest.big',
  title: 'Big test report',
  description: 'Many rows per organisation, for background-run tests.',
  category: 'Test',
  subject: 'Organisation',
  params: { rows: integerParam({ label: 'Rows per organisation', min: 1, max: 5_000_000, default: 10 }), orgs: orgScopeParam() },
  columns: [
    { key: 'org', label: 'Organisation', type: 'text' },
    { key: 'n', label: 'Row', type: 'integer' },
    { key: 'note', label: 'Note', type: 'text' },
  ],
  defaultSort: 'n',
  rowKey: ['org', 'n'],
  query: ({ db, params, orgIds }) => (db.organisations() as any)
    .where('organisations.id', 'in', orgIds)
    .crossJoin(sql`generate_series(1, ${params.rows}::int)`.as('g'))
    .select(['organisations.name as org', sql<number>`g`.as('n'), sql<string>`'row ' || g || ' of ' || organisations.name`.as('note')]),
})

export const runTestPlugin = definePlugin({ id: 'runtest', title: 'Run tests', reports: [bigReport] })

/** A JSON API call as a signed-in browser would make it (CSRF header, same-origin): status, body, headers. */
export async function apiCall(agent: Agent, method: string, path: string, body?: unknown) {
  const token = await agent.csrf('/')
  const res = await agent.request(path, {
    method, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', 'x-csrf-token': token, 'sec-fetch-site': 'same-origin', accept: 'application/json' },
  })
  const text = await res.text()
  let json: any = {}
  try { json = text ? JSON.parse(text) : {} } catch { json = { text } }
  return { status: res.status, json, headers: res.headers }
}

/** Waits for the job worker (0.5 s polling in tests) to finish a run; its JSON. */
export async function runFinished(agent: Agent, id: number): Promise<any> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const { json } = await apiCall(agent, 'GET', `/api/v1/report-runs/${id}`)
    if (['completed', 'failed', 'cancelled'].includes(json.run.status)) return json.run
    if (Date.now() > deadline) throw new Error(`run ${id} still ${json.run.status}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
