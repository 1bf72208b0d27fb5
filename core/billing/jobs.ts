/** The metering and billing jobs the core schedules: rollups, billing, overdue marking, credit expiry. */
import type { JobDefinition } from '../plugins/define.ts'
import { creditJobs } from './credit-jobs.ts'
import { invoiceJobs } from './invoice-jobs.ts'
import { usageJobs } from './usage-jobs.ts'

export const billingJobs: readonly JobDefinition<any>[] = [...usageJobs, ...invoiceJobs, ...creditJobs]
