/**
 * pg-boss wiring: one queue per job definition (`<plugin>.<name>`), created before it is scheduled
 * or worked, one schedule per queue. Handlers must be idempotent: pg-boss retries failed jobs.
 */
import { PgBoss, type ConstructorOptions } from 'pg-boss'
import type { Settings } from '../../config/settings.ts'
import type { Logger } from '../log.ts'
import type { JobDefinition } from '../plugins/define.ts'
import type { ReportRegistry } from '../reports/registry.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'

export interface JobContext {
  /** Handle scoped to the operator's whole tree: jobs are system work. */
  readonly db: ScopedDb
  readonly log: Logger
  readonly settings: Settings
  /** The reports of the enabled plugins (export runs rebuild a report request from it). */
  readonly reports: ReportRegistry
}

export interface JobsOptions {
  readonly bossOptions: ConstructorOptions
  readonly log: Logger
  /** Seconds between polls of each queue; tests use 0.5. */
  readonly pollingIntervalSeconds?: number
}

export async function startBoss(options: JobsOptions): Promise<PgBoss> {
  const boss = new PgBoss({ schema: 'pgboss', ...options.bossOptions })
  // Without a listener, an 'error' event (e.g. the database going away) would crash the process.
  boss.on('error', (error) => options.log.error('job queue error', { error }))
  await boss.start()
  return boss
}

export async function registerJobs(
  boss: PgBoss,
  jobs: readonly JobDefinition<any>[],
  context: () => JobContext,
  pollingIntervalSeconds = 2,
): Promise<void> {
  for (const job of jobs) {
    if (!(await boss.getQueue(job.id))) await boss.createQueue(job.id)
    if (job.cron) await boss.schedule(job.id, job.cron, {}, job.tz ? { tz: job.tz } : {})
    await boss.work(job.id, { pollingIntervalSeconds }, async (batch) => {
      const ctx = context()
      const log = ctx.log.child({ job: job.id })
      try {
        await job.handler(batch, { ...ctx, log })
      } catch (error) {
        log.error('job failed', { error, jobIds: batch.map((j) => j.id) })
        throw error
      }
    })
  }
}
