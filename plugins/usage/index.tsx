/** Usage summary report. Being written. */
import { definePlugin } from '../../core/plugins/define.ts'

export const usageReportPlugin = definePlugin({
  id: 'usage',
  title: 'Usage summary report',
})
