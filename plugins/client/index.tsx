/** Client usage summary report. Being written. */
import { definePlugin } from '../../core/plugins/define.ts'

export const clientReportPlugin = definePlugin({
  id: 'client',
  title: 'Client usage summary report',
})
