/** Jobs (stub: being written). */
import type { JobDefinition } from '../plugins/define.ts'

export const creditJobs: readonly JobDefinition<any>[] = []
