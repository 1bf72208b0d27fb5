/**
 * Billing runs: a recorded, queued `billPeriod` over one organisation's subtree. At most one run
 * per organisation and period is unfinished at a time (the partial unique index
 * `billing_runs_one_open`): starting a run while one is queued or running joins that one.
 *
 * @example
 * const { run, joined } = await startBillingRun(c.var.db, { period: '2026-10', userId: c.var.user.id })
 */
import { sql, type Kysely } from 'kysely'
import { recordAudit } from '../audit/audit.ts'
import type { BillingRunRow, Database } from '../db/schema.ts'
import { HttpProblem } from '../http/problem.ts'
import type { Logger } from '../log.ts'
import { executorOf, ScopedDb, SYSTEM_ACTOR, type Actor } from '../tenancy/scoped-db.ts'
import { billPeriod, isPeriod, monthOf, previousMonth, todayUtc } from './invoices.ts'

export const BILLING_RUN_QUEUE = 'core.billing-run'

/** Why `period` cannot be billed on `today`, or undefined when it can. */
export function periodProblem(period: unknown, today = todayUtc()): string | undefined {
  if (typeof period !== 'string' || !isPeriod(period)) return 'Use a month as YYYY-MM, e.g. 2026-10'
  if (period > monthOf(today)) return `${period} has not started yet: only the current month (as drafts) or past months can be billed`
  return undefined
}

/** Starts a run of the handle's organisation for `period`, or joins the unfinished one. */
export async function startBillingRun(sdb: ScopedDb, input: { period: string; userId: number | null; today?: string }): Promise<{ run: BillingRunRow; joined: boolean }> {
  const problem = periodProblem(input.period, input.today)
  if (problem) throw new HttpProblem(422, 'Some fields are not valid.', { period: problem })
  const orgId = sdb.scope.orgId
  const period = `${input.period}-01`
  for (let attempt = 0; attempt < 3; attempt++) {
    const result = await sdb.transaction(async (trx) => {
      const run = await (await trx.insertInto('billing_runs', { org_id: orgId, period, started_by_user_id: input.userId }))
        .onConflict((oc) => oc.columns(['org_id', 'period']).where('status', 'in', ['queued', 'running']).doNothing())
        .returningAll().executeTakeFirst() as BillingRunRow | undefined
      if (run) {
        await trx.sendJob(BILLING_RUN_QUEUE, { runId: run.id })
        await recordAudit(trx, { orgId, action: 'create', subject: 'BillingRun', subjectId: run.id, summary: `Billing run for ${input.period} started`, after: { period: input.period } })
        return { run, joined: false }
      }
      const open = await trx.selectFrom('billing_runs').selectAll()
        .where('billing_runs.org_id', '=', orgId).where('billing_runs.period', '=', period).where('billing_runs.status', 'in', ['queued', 'running'])
        .executeTakeFirst() as BillingRunRow | undefined
      return open ? { run: open, joined: true } : undefined
    })
    // The open run may have finished between the conflict and the read: then start a new one.
    if (result) return result
  }
  throw new HttpProblem(409, 'Another billing run for this period was finishing; try again.')
}

/** A run left `running` longer than this is taken to have died with its process, and is resumed. */
const STALE_MINUTES = 60

/**
 * Runs a queued run: claims it, bills its period for its organisation's subtree as the person who
 * started it, and records counts or the error. Claiming is one update, so a run executes once even
 * when the job is delivered twice. Returns the run as it ended, or undefined when not claimed.
 */
export async function executeBillingRun(root: ScopedDb, runId: number, log?: Logger, today?: string): Promise<BillingRunRow | undefined> {
  const db = executorOf(root) as Kysely<Database>
  const claimed = await root.updateTable('billing_runs')
    .set({ status: 'running', started_at: sql<Date>`now()` as unknown as Date })
    .where('billing_runs.id', '=', runId)
    .where((eb) => eb.or([
      eb('billing_runs.status', '=', 'queued'),
      eb.and([eb('billing_runs.status', '=', 'running'), eb('billing_runs.started_at', '<', sql<Date>`now() - make_interval(mins => ${STALE_MINUTES})`)]),
    ]))
    .returningAll().executeTakeFirst() as BillingRunRow | undefined
  if (!claimed) return undefined
  const org = await db.selectFrom('organisations').select(['id', 'path']).where('id', '=', claimed.org_id).executeTakeFirstOrThrow()
  const user = claimed.started_by_user_id === null ? undefined
    : await db.selectFrom('users').select(['id', 'email', 'org_id']).where('id', '=', claimed.started_by_user_id).executeTakeFirst()
  const actor: Actor = user ? { userId: user.id, email: user.email, orgId: user.org_id } : SYSTEM_ACTOR
  const scoped = new ScopedDb(db, { orgId: org.id, path: org.path }, undefined, actor)
  try {
    const result = await billPeriod(scoped, { period: claimed.period.slice(0, 7), ...(today ? { today } : {}) })
    log?.info('billing run done', { runId, created: result.created, updated: result.updated })
    return await db.updateTable('billing_runs')
      .set({ status: 'done', invoices_created: result.created, invoices_updated: result.updated, error: null, finished_at: sql<Date>`now()` as unknown as Date })
      .where('id', '=', runId).returningAll().executeTakeFirstOrThrow() as BillingRunRow
  } catch (error) {
    log?.error('billing run failed', { runId, error })
    // What failed is recorded on the run; a person starts a new run rather than pg-boss retrying it.
    const message = error instanceof Error ? error.message : String(error)
    return await db.updateTable('billing_runs')
      .set({ status: 'failed', error: message.slice(0, 1000), finished_at: sql<Date>`now()` as unknown as Date })
      .where('id', '=', runId).returningAll().executeTakeFirstOrThrow() as BillingRunRow
  }
}

/** The monthly job: bills the previous month for the whole tree as a recorded run of the root. */
export async function billPreviousMonth(root: ScopedDb, today: string, log?: Logger): Promise<BillingRunRow | undefined> {
  const period = previousMonth(today)
  const db = executorOf(root) as Kysely<Database>
  const inserted = await db.insertInto('billing_runs').values({ org_id: root.scope.orgId, period: `${period}-01` })
    .onConflict((oc) => oc.columns(['org_id', 'period']).where('status', 'in', ['queued', 'running']).doNothing())
    .returning('id').executeTakeFirst()
  // Joined an unfinished run: whoever queued it runs it.
  if (!inserted) return undefined
  return executeBillingRun(root, inserted.id, log, today)
}
