/**
 * Usage summary report (`usage.summary`), and the usage arithmetic the client and resource reports
 * share: how a period's quantity is read from the rollups for sum, max and last meters.
 */
import { definePlugin } from '../../core/plugins/define.ts'
import { usageSummaryReport } from './summary-report.ts'

export { usageSummaryReport, weekdayCounts } from './summary-report.ts'
export {
  aggregated, bucketTotals, GRANULARITIES, monthEndSql, monthPieces, monthsTable, orgFilter, periodQuantities, splitRange,
  type BucketRow, type DayRange, type Granularity, type OrgFilter, type OrgIds, type PieceRow, type QuantityRow,
} from './quantities.ts'
export { categoryParam, CATEGORY_LABELS, changePercentSql, changeSql, idParam, serviceParam, sharePercentSql } from './params.ts'

export const usageReportPlugin = definePlugin({
  id: 'usage',
  title: 'Usage summary report',
  description: 'Usage of every service and meter in scope: quantities, organisations, change, trend and patterns.',
  permissions: { subjects: ['UsageReport'], actions: ['read', 'export'] },
  reports: [usageSummaryReport],
})
