/** Invoice report. Being written. */
import { definePlugin } from '../../core/plugins/define.ts'

export const invoiceReportPlugin = definePlugin({
  id: 'invoice',
  title: 'Invoice report',
})
