/**
 * The audit log: who changed what, where, before and after, within the reader's subtree. The
 * query, the scope and the masking of outside actors live in `core/audit/query.ts`; this plugin
 * draws the page and streams the CSV export.
 */
import type { Context } from 'hono'
import { can } from '../../core/access/ability.ts'
import {
  actorLabel, auditBatches, auditPage, parseAuditQuery, recentChoices, type AuditEntryView, type AuditPage, type AuditQuery,
} from '../../core/audit/query.ts'
import { CSV_CONTENT_TYPE, csvStream, type CsvCell } from '../../core/exports/csv.ts'
import type { AppEnv } from '../../core/http/env.ts'
import { HttpProblem } from '../../core/http/problem.ts'
import { page } from '../../core/http/render.tsx'
import { definePlugin } from '../../core/plugins/define.ts'
import { organisationTree } from '../../core/tenancy/organisations.ts'
import { AuditResults, AuditScreen, RESULTS_ID, type FilterChoices } from './views.tsx'

/** Above this many organisations in scope, the organisation filter is an id field, not a list. */
const MAX_ORG_CHOICES = 1000
const MAX_ACTOR_CHOICES = 500
const COMMON_ACTIONS = ['create', 'update', 'delete']

async function filterChoices(c: Context<AppEnv>): Promise<FilterChoices> {
  const db = c.var.db
  const [actors, orgCount, recent] = await Promise.all([
    db.selectFrom('users').select('users.email').orderBy('users.email').limit(MAX_ACTOR_CHOICES).execute(),
    db.organisations().select('organisations.id').limit(MAX_ORG_CHOICES + 1).execute(),
    recentChoices(db),
  ])
  const organisations = orgCount.length > MAX_ORG_CHOICES ? undefined
    : (await organisationTree(db)).map(({ org, depth }) => ({ id: org.id, name: org.name, depth }))
  return {
    actors: actors.map((a) => a.email),
    hasProvider: c.var.org.parent_id !== null,
    organisations,
    subjects: [...new Set([...c.var.catalogue.map((s) => s.subject), ...recent.subjects])].sort(),
    actions: [...new Set([...COMMON_ACTIONS, ...recent.actions])].sort(),
  }
}

/** The CSV columns, in order. */
const CSV_HEADER = ['id', 'at', 'organisation_id', 'organisation', 'actor', 'action', 'subject', 'subject_id', 'summary', 'before', 'after']

function csvRow(e: AuditEntryView): CsvCell[] {
  const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v))
  return [e.id, e.at.toISOString(), e.orgId, e.orgName, actorLabel(e.actor), e.action, e.subject, e.subjectId, e.summary, json(e.before), json(e.after)]
}

export const auditPlugin = definePlugin({
  id: 'audit',
  title: 'Audit log',
  description: 'Every administrative change, filterable by actor, organisation, subject and date.',
  nav: [{ section: 'Administration', label: 'Audit log', href: '/audit', requires: ['read', 'AuditLog'], order: 40 }],
  routes: (app) => {
    app.get('/', can('read', 'AuditLog'), async (c) => {
      const raw = c.req.query()
      let query: AuditQuery | undefined
      let result: AuditPage = { entries: [], next: null }
      let problem: HttpProblem | undefined
      try {
        query = parseAuditQuery(raw)
        result = await auditPage(c.var.db, query, c.var.grants)
      } catch (error) {
        if (!(error instanceof HttpProblem) || error.status !== 400) throw error
        problem = error
      }
      const results = (
        <AuditResults entries={result.entries} next={result.next} filter={query?.filter} paged={query?.before !== undefined}
          canExport={c.var.ability.can('export', 'AuditLog')}
          problem={problem && { message: problem.message, fields: problem.fields ?? {} }} />
      )
      const status = problem ? 400 : 200
      c.header('Vary', 'HX-Target', { append: true })
      // A filter change or "Older" swaps only the results: no need to rebuild the filter choices.
      if ((c.req.header('hx-target') ?? '').endsWith(`#${RESULTS_ID}`)) return page(c, { title: 'Audit log', body: results, status })
      return page(c, { title: 'Audit log', status, body: <AuditScreen raw={raw} choices={await filterChoices(c)} results={results} /> })
    })

    app.get('/export.csv', can('export', 'AuditLog'), async (c) => {
      const { filter } = parseAuditQuery(c.req.query())
      const db = c.var.db
      const log = c.var.log
      const batches = auditBatches(db, filter, undefined, c.var.grants)
      // Pull the first batch now: a bad organisation filter is then a 400 page, not a broken download.
      const first = await batches.next()
      async function* rows() {
        try {
          if (first.done) return
          yield first.value.map(csvRow)
          for await (const batch of batches) yield batch.map(csvRow)
        } catch (error) {
          log.error('audit export failed', { error })
          throw error
        }
      }
      const day = new Date().toISOString().slice(0, 10)
      return c.body(csvStream(rows(), { header: CSV_HEADER, bom: true }), 200, {
        'Content-Type': CSV_CONTENT_TYPE,
        'Content-Disposition': `attachment; filename="audit-log-${day}.csv"`,
        'Cache-Control': 'no-store',
      })
    })
  },
})
