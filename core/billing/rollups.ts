/**
 * Usage rollups: folds the rollup inbox into `usage_daily` and `usage_monthly`. Each batch is one
 * statement that deletes inbox rows (oldest first, skipping rows another worker holds), aggregates
 * them per organisation, subscription, meter and UTC day, and upserts the day and the month with
 * the meter's aggregation: sum adds, max keeps the peak, last keeps the value with the latest
 * `last_at`. Deleting and folding in one statement means an event is counted once, whatever the
 * order in which ingest transactions commit and however many workers run.
 *
 * @example
 * const folded = await rollUpUsage(db, { batchSize: 10_000 }) // until the inbox is empty
 */
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'

export interface RollupOptions {
  /** Inbox rows per statement (default 10,000). */
  readonly batchSize?: number
  /** Stop after this many batches (default: until the inbox is empty). */
  readonly maxBatches?: number
}

/** PostgreSQL's deadlock and serialization failures: the statement rolled back, retrying is safe. */
const RETRYABLE = new Set(['40P01', '40001'])

// The upsert's new value per aggregation; `d` is the stored row, `excluded` the batch's.
const MERGE = sql.raw(`case (select m.aggregation from meters m where m.id = d.meter_id)
        when 'sum' then d.quantity + excluded.quantity
        when 'max' then greatest(d.quantity, excluded.quantity)
        else case when excluded.last_at >= d.last_at then excluded.quantity else d.quantity end end`)

/** Folds one batch; returns how many inbox rows it folded (0: the inbox is empty, or all rows are held by other workers). */
export async function rollUpBatch(db: Kysely<Database>, batchSize = 10_000): Promise<number> {
  // Rows are upserted in key order so two workers lock shared rows in the same order.
  const result = await sql<{ folded: string }>`
    with taken as (
      delete from usage_rollup_inbox
      where event_id in (select event_id from usage_rollup_inbox order by event_id limit ${batchSize} for update skip locked)
      returning event_id, org_id, subscription_id, meter_id, quantity, occurred_at
    ), events as (
      select t.*, m.aggregation, (t.occurred_at at time zone 'UTC')::date as day
      from taken t join meters m on m.id = t.meter_id
    ), days as (
      select org_id, subscription_id, meter_id, day, aggregation,
        case aggregation when 'sum' then sum(quantity) when 'max' then max(quantity)
          else (array_agg(quantity order by occurred_at desc, event_id desc))[1] end as quantity,
        count(*) as event_count, max(occurred_at) as last_at
      from events group by org_id, subscription_id, meter_id, day, aggregation
    ), months as (
      select org_id, subscription_id, meter_id, date_trunc('month', day)::date as month,
        case aggregation when 'sum' then sum(quantity) when 'max' then max(quantity)
          else (array_agg(quantity order by last_at desc))[1] end as quantity,
        sum(event_count) as event_count, max(last_at) as last_at
      from days group by org_id, subscription_id, meter_id, date_trunc('month', day), aggregation
    ), daily as (
      insert into usage_daily as d (org_id, subscription_id, meter_id, day, quantity, event_count, last_at)
      select org_id, subscription_id, meter_id, day, quantity, event_count, last_at from days
      order by org_id, day, subscription_id, meter_id
      on conflict (org_id, day, subscription_id, meter_id) do update set
        quantity = ${MERGE}, event_count = d.event_count + excluded.event_count, last_at = greatest(d.last_at, excluded.last_at)
      returning 1
    ), monthly as (
      insert into usage_monthly as d (org_id, subscription_id, meter_id, month, quantity, event_count, last_at)
      select org_id, subscription_id, meter_id, month, quantity, event_count, last_at from months
      order by org_id, month, subscription_id, meter_id
      on conflict (org_id, month, subscription_id, meter_id) do update set
        quantity = ${MERGE}, event_count = d.event_count + excluded.event_count, last_at = greatest(d.last_at, excluded.last_at)
      returning 1
    )
    select (select count(*) from taken) as folded, (select count(*) from daily) + (select count(*) from monthly) as upserts`.execute(db)
  return Number(result.rows[0]?.folded ?? 0)
}

/**
 * Folds the inbox until it is empty (or `maxBatches` ran); returns how many events it folded.
 * Safe to run from several workers at once. A deadlock between two workers rolls back only that
 * batch, whose rows go back to the inbox; it is retried.
 */
export async function rollUpUsage(db: Kysely<Database>, options: RollupOptions = {}): Promise<number> {
  const batchSize = options.batchSize ?? 10_000
  let folded = 0
  for (let batch = 0; batch < (options.maxBatches ?? Infinity); batch++) {
    let n = 0
    for (let attempt = 1; ; attempt++) {
      try {
        n = await rollUpBatch(db, batchSize)
        break
      } catch (error) {
        if (attempt >= 5 || !RETRYABLE.has((error as { code?: string }).code ?? '')) throw error
      }
    }
    folded += n
    if (n < batchSize) break
  }
  return folded
}

/** How far the rollups are behind in the caller's subtree: inbox rows waiting, and when the oldest of them was received. */
export async function rollupLag(sdb: ScopedDb): Promise<{ waiting: number; oldestReceivedAt: Date | null }> {
  const row = await sdb.selectFrom('usage_rollup_inbox')
    .select((eb) => [eb.fn.countAll<string>().as('waiting'), eb.fn.min('usage_rollup_inbox.event_id').as('first')])
    .executeTakeFirst()
  if (!row || row.first === null) return { waiting: 0, oldestReceivedAt: null }
  const first = await sdb.selectFrom('usage_events').select('usage_events.received_at').where('usage_events.id', '=', String(row.first)).executeTakeFirst()
  return { waiting: Number(row.waiting), oldestReceivedAt: first?.received_at ?? null }
}
