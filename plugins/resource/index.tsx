/** Resource usage report. Being written. */
import { definePlugin } from '../../core/plugins/define.ts'

export const resourceReportPlugin = definePlugin({
  id: 'resource',
  title: 'Resource usage report',
})
