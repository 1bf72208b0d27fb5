/**
 * Row actions in a report definition: `defineReport` refuses a wrong one at boot with
 * LL_ERR_REPORT_INVALID, `actionsFor` offers them on the declared tabs only, and
 * `selectionReturnPath` only ever sends the browser back to the same report's view.
 */
import { sql } from 'kysely'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { actionsFor, defineReport, selectionReturnPath, type RowActionsDefinition } from '../../core/reports/define.ts'

const test = suite('report row actions')

const actions: RowActionsDefinition = { requires: ['update', 'Thing'], key: 'id', path: '/things/actions', choices: [{ value: 'close', label: 'Close' }], tabs: ['open'] }

function report(overrides: Partial<RowActionsDefinition> = {}) {
  return defineReport({
    id: 'things.list', title: 'Things', description: 'Things.', category: 'Test', subject: 'Thing', params: {},
    tabs: [{ id: 'open', label: 'Open' }, { id: 'closed', label: 'Closed' }],
    columns: [{ key: 'id', label: 'Id', type: 'integer' }, { key: 'name', label: 'Name', type: 'text' }],
    defaultSort: 'name', rowKey: ['id'],
    // Deliberately loose: the wrong definitions below are what is being tested.
    actions: { ...actions, ...overrides } as RowActionsDefinition<any>,
    query: ({ db }) => (db as any).selectNoFrom(sql`1`.as('id')),
  })
}

test('a valid definition keeps its actions; they are offered on their tabs only', () => {
  const r = report()
  assert.is(actionsFor(r, 'open'), r.actions)
  assert.is(actionsFor(r, 'closed'), undefined)
  assert.is(actionsFor(report({ tabs: undefined }), 'closed')?.path, '/things/actions')
})

test('a wrong definition fails at boot with a code', () => {
  const cases: Array<[Partial<RowActionsDefinition>, RegExp]> = [
    [{ key: 'nope' }, /actions key "nope" is not a column/],
    [{ path: 'https://evil.example/x' }, /same-site path/],
    [{ path: '//evil.example/x' }, /same-site path/],
    [{ path: '/x?y=<b>' }, /same-site path/],
    [{ choices: [] }, /at least one choice/],
    [{ name: 'id"><b' }, /plain form field name/],
    [{ tabs: ['archived'] }, /tab "archived"/],
  ]
  for (const [overrides, message] of cases) {
    try {
      report(overrides)
      assert.unreachable(JSON.stringify(overrides))
    } catch (error: any) {
      assert.is(error.code, 'LL_ERR_REPORT_INVALID', JSON.stringify(overrides))
      assert.match(error.message, message)
    }
  }
})

test('the way back is this report\'s view or nothing', () => {
  const r = report()
  assert.is(selectionReturnPath(r, '/reports/things.list'), '/reports/things.list')
  assert.is(selectionReturnPath(r, '/reports/things.list?tab=open&sort=-name&page=2'), '/reports/things.list?tab=open&sort=-name&page=2')
  for (const bad of [undefined, 3, '', '/reports/things.listx', '/reports/other.list?a=1', '/reports/things.list?a=<script>', '/reports/things.list?a="b"',
    'https://evil.example/reports/things.list', '//evil.example/reports/things.list?', '/reports/things.list#x']) {
    assert.is(selectionReturnPath(r, bad), undefined, String(bad))
  }
})

test.run()
