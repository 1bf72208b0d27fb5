import { deleteExpiredSessions } from '../auth/sessions.ts'
import type { JobDefinition } from '../plugins/define.ts'
import { executorOf } from '../tenancy/scoped-db.ts'
import type { Database } from '../db/schema.ts'
import type { Kysely } from 'kysely'

/** Housekeeping the core itself schedules. */
export const coreJobs: readonly JobDefinition[] = Object.freeze([
  {
    id: 'core.sessions-cleanup',
    cron: '17 * * * *',
    handler: async (_jobs, { db, log }) => {
      const removed = await deleteExpiredSessions(executorOf(db) as Kysely<Database>)
      if (removed) log.info('expired sessions removed', { removed })
    },
  },
])
