/**
 * The rollup job: folds the usage inbox into daily and monthly rollups. Ingestion enqueues it with
 * every batch that stored something (debounced to one job a second), so rollups trail ingest by a
 * few seconds; the cron every minute is the safety net for a lost or failed trigger.
 */
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import type { JobDefinition } from '../plugins/define.ts'
import { executorOf } from '../tenancy/scoped-db.ts'
import { rollUpUsage } from './rollups.ts'
import { ROLLUP_QUEUE } from './usage.ts'

export const usageRollupJob: JobDefinition = {
  id: ROLLUP_QUEUE,
  cron: '* * * * *',
  async handler(_jobs, { db, log }) {
    // System work over every tenant: the inbox rows carry their own org_id, nothing is read per caller.
    const folded = await rollUpUsage(executorOf(db) as Kysely<Database>, { batchSize: 10_000 })
    if (folded) log.debug('usage rolled up', { events: folded })
  },
}

export const usageJobs: readonly JobDefinition<any>[] = [usageRollupJob]
