/** Background jobs of the report engine (export runs, archive retention). Being written. */
import type { JobDefinition } from '../plugins/define.ts'

export const reportJobs: readonly JobDefinition<any>[] = []
