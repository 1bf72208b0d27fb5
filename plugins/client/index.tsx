/** Client usage summary report (`client.usage`): per client consumption and charges at its prices. */
import { definePlugin } from '../../core/plugins/define.ts'
import { clientUsageReport } from './usage-report.ts'

export { clientUsageReport } from './usage-report.ts'

export const clientReportPlugin = definePlugin({
  id: 'client',
  title: 'Client usage summary report',
  description: 'Per client what it consumed and the charges at its own prices, down to subscriptions, meters and days.',
  dependsOn: ['usage'],
  permissions: { subjects: ['ClientUsageReport'], actions: ['read', 'export'] },
  reports: [clientUsageReport],
})
