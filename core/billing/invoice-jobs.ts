/**
 * Billing jobs: a queued billing run (`core.billing-run`, sent by POST /api/v1/billing-runs in the
 * transaction that records the run), the monthly run of the previous month for the whole tree, and
 * the daily overdue marking. All idempotent: a run is claimed once; re-billing a closed month
 * changes nothing; an invoice is marked overdue once.
 */
import type { JobDefinition } from '../plugins/define.ts'
import { BILLING_RUN_QUEUE, billPreviousMonth, executeBillingRun } from './billing-runs.ts'
import { markOverdue } from './invoice-actions.ts'
import { todayUtc } from './invoices.ts'

export const invoiceJobs: readonly JobDefinition<any>[] = [
  {
    id: BILLING_RUN_QUEUE,
    handler: async (jobs: { data: { runId?: unknown } }[], { db, log }) => {
      for (const job of jobs) {
        const runId = Number(job.data.runId)
        if (Number.isSafeInteger(runId) && runId > 0) await executeBillingRun(db, runId, log)
      }
    },
  },
  {
    id: 'core.billing-monthly',
    // 02:10 UTC on the 1st: the previous month has ended everywhere.
    cron: '10 2 1 * *',
    handler: async (_jobs, { db, log }) => {
      await billPreviousMonth(db, todayUtc(), log)
    },
  },
  {
    id: 'core.invoices-overdue',
    cron: '40 0 * * *',
    handler: async (_jobs, { db, log }) => {
      const ids = await markOverdue(db, todayUtc())
      if (ids.length) log.info('invoices marked overdue', { count: ids.length })
    },
  },
]
