/**
 * A tab's own default sort and row key (`TabDefinition.defaultSort`/`rowKey`), which client.usage's
 * meters tab uses: `orderOf` falls back to the report's, and `defineReport` refuses an override
 * naming a column the tab does not show (LL_ERR_REPORT_INVALID).
 */
import { sql } from 'kysely'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { defineReport, orderOf, ReportDefinitionError, type TabDefinition } from '../../core/reports/define.ts'
import { clientUsageReport } from '../../plugins/client/index.tsx'

const test = suite('client.usage tab order')

function report(items: TabDefinition) {
  return defineReport({
    id: 'things.list', title: 'Things', description: 'Things.', category: 'Test', subject: 'Thing', params: {},
    tabs: [{ id: 'all', label: 'All' }, items],
    columns: [
      { key: 'position', label: 'Position', type: 'integer', tabs: ['all'] },
      { key: 'id', label: 'Id', type: 'integer' },
      { key: 'name', label: 'Name', type: 'text' },
    ],
    defaultSort: 'position', rowKey: ['position'],
    query: ({ db }) => (db as any).selectNoFrom(sql`1`.as('id')),
  })
}

test('the meters tab has its own order; the other tabs keep the report\'s', () => {
  assert.equal(orderOf(clientUsageReport, 'meters'), { defaultSort: 'organisation', rowKey: ['org_id', 'subscription_id', 'meter', 'meter_id'] })
  for (const tab of ['clients', 'subscriptions', 'days', undefined]) assert.equal(orderOf(clientUsageReport, tab), { defaultSort: 'position', rowKey: ['position'] })
  const ok = report({ id: 'items', label: 'Items', defaultSort: '-name', rowKey: ['id'] })
  assert.equal(orderOf(ok, 'items'), { defaultSort: '-name', rowKey: ['id'] })
})

test('an override naming a column the tab does not show, or an empty row key, is refused at definition', () => {
  const wrong: TabDefinition[] = [
    { id: 'items', label: 'Items', defaultSort: 'position', rowKey: ['id'] },
    { id: 'items', label: 'Items', defaultSort: '-position', rowKey: ['id'] },
    { id: 'items', label: 'Items', defaultSort: 'name', rowKey: ['position'] },
    { id: 'items', label: 'Items', defaultSort: 'nope' },
    { id: 'items', label: 'Items', rowKey: [] },
  ]
  for (const tab of wrong) {
    try {
      report(tab)
      assert.unreachable(JSON.stringify(tab))
    } catch (error) {
      assert.instance(error, ReportDefinitionError, JSON.stringify(tab))
      assert.is((error as ReportDefinitionError).code, 'LL_ERR_REPORT_INVALID')
      assert.match((error as Error).message, 'tab "items"')
    }
  }
})

test.run()
