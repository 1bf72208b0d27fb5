/**
 * Cross-tenant matrix: background report runs and the archive (pages and JSON API). A run is
 * visible with `read` on its report's subject inside the caller's subtree; downloading,
 * cancelling and deleting need `export` too. A run outside the subtree is a 404 whatever the
 * caller's permissions (its subject is only known once it is found). The start routes are
 * requested for the built-in accounts report (`path`); the runs they start export only the
 * starter's subtree (test/http/report-runs.test.ts checks the files).
 */
import type { Kysely } from 'kysely'
import type { Database } from '../../../core/db/schema.ts'
import type { Case, MatrixArea, OrgKey, ParamContext } from './types.ts'

const stable = new Map<string, number>()

/** A completed run of the accounts report owned by the target organisation, with a one-chunk file. */
async function makeRun({ db, tree, org, fresh, sequence }: ParamContext): Promise<number> {
  const key = `report-run:${org}`
  if (!fresh && stable.has(key)) return stable.get(key)!
  const run = await (db as Kysely<Database>).insertInto('report_runs').values({
    org_id: tree[org].id, user_id: null, report_id: 'organisations.accounts', subject: 'Organisation', report_title: 'Accounts',
    name: `Run of ${org} only #${sequence}`, format: 'csv', status: 'completed', attempts: 1, chunks: 1, bytes: 12, rows_done: 1, rows_total: 1,
    started_at: new Date(), finished_at: new Date(), expires_at: new Date(Date.now() + 86_400_000), content_type: 'text/csv; charset=utf-8', file_name: 'accounts.csv',
  }).returning('id').executeTakeFirstOrThrow()
  await db.insertInto('report_run_chunks').values({ run_id: run.id, org_id: tree[org].id, attempt: 1, seq: 0, data: Buffer.from('name\nmatrix\n') }).execute()
  if (!fresh) stable.set(key, run.id)
  return run.id
}

/** The custom actor reads organisations but may not export: 403 on a run it can see. */
const exporting = (ok: number) => ({ actor }: Case) => (actor === 'custom' ? 403 : ok)

export const reportRunsArea: MatrixArea = {
  routes: {
    'POST /reports/:id/runs': { path: '/reports/organisations.accounts/runs', needs: ['read', 'Organisation'], body: { format: 'csv' }, ok: exporting(303) },
    'GET /reports/archive': { ok: 200 },
    'POST /reports/archive/:id/delete': { param: 'reportRun', fresh: true, ok: exporting(303) },
    // The caller's own finished runs only (test/http/report-run-notice.test.ts): 204 while they are going.
    'GET /reports/runs/notice': { ok: [200, 204] },
    'GET /reports/runs/:id': { param: 'reportRun', needs: ['read', 'Organisation'], ok: 200 },
    'POST /reports/runs/:id/cancel': { param: 'reportRun', ok: exporting(303) },
    'GET /reports/runs/:id/download': { param: 'reportRun', ok: exporting(200) },
    'POST /api/v1/reports/:id/runs': { path: '/api/v1/reports/organisations.accounts/runs', needs: ['read', 'Organisation'], body: { format: 'csv' }, ok: exporting(202) },
    'GET /api/v1/report-runs': { ok: 200 },
    'GET /api/v1/report-runs/:id': { param: 'reportRun', needs: ['read', 'Organisation'], ok: 200 },
    'DELETE /api/v1/report-runs/:id': { param: 'reportRun', fresh: true, ok: exporting(204) },
    'GET /api/v1/report-runs/:id/download': { param: 'reportRun', ok: exporting(200) },
  },
  params: { reportRun: makeRun },
  secrets: (org: OrgKey) => [`Run of ${org} only`],
}
