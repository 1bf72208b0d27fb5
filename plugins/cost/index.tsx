/**
 * Cost & expense report plugin: the `cost.expense` report (by account and by service), served by
 * the report engine under /reports. Its subject `CostReport` (read, export) appears in the role
 * matrix; the operator sees its whole book, a reseller its own.
 */
import { definePlugin } from '../../core/plugins/define.ts'
import { costReport } from './cost-report.ts'

export const costReportPlugin = definePlugin({
  id: 'cost',
  title: 'Cost & expense report',
  description: 'Cost of providing the services against what was invoiced: margin and balances by account and service.',
  permissions: { subjects: ['CostReport'], actions: ['read', 'export'] },
  reports: [costReport],
})
