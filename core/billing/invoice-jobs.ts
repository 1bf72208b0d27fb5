/** Jobs (stub: being written). */
import type { JobDefinition } from '../plugins/define.ts'

export const invoiceJobs: readonly JobDefinition<any>[] = []
