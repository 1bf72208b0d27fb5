/**
 * A test-only plugin with a report big enough to watch a background export run and cancel it:
 * `rows` rows per organisation in scope, from generate_series, through the scoped handle.
 */
import { sql } from 'kysely'
import { definePlugin } from '../../core/plugins/define.ts'
import { defineReport } from '../../core/reports/define.ts'
import { integerParam, orgScopeParam } from '../../core/reports/params.ts'

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
