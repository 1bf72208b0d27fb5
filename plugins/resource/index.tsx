/** Resource usage report (`resource.usage`): consumption per resource and disproportionate consumers. */
import { definePlugin } from '../../core/plugins/define.ts'
import { resourceUsageReport } from './usage-report.ts'

export { resourceUsageReport } from './usage-report.ts'

export const resourceReportPlugin = definePlugin({
  id: 'resource',
  title: 'Resource usage report',
  description: 'Consumption of each resource across organisations, shares, and organisations far above their peers.',
  dependsOn: ['usage'],
  permissions: { subjects: ['ResourceReport'], actions: ['read', 'export'] },
  reports: [resourceUsageReport],
})
