/** Cost & expense report. Being written. */
import { definePlugin } from '../../core/plugins/define.ts'

export const costReportPlugin = definePlugin({
  id: 'cost',
  title: 'Cost & expense report',
})
