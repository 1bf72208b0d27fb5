/**
 * Generated usage, written set-based: the generator describes each (subscription, meter) stream
 * in a few numbers and one SQL statement per chunk of organisations expands the streams into
 * events, and folds those same rows into usage_daily and usage_monthly (respecting each meter's
 * aggregation) through data-modifying CTEs. The rollup inbox stays empty: the rollups are
 * already current.
 *
 * Randomness inside SQL comes from `hashint8extended`, PostgreSQL's seeded 64-bit hash (the one
 * hash partitioning relies on, so it is stable across versions), over (seed, subscription, meter,
 * event number): no dependence on row order. Quantities are computed in `numeric`.
 *
 * An event's quantity = base x trend x season x weekday x noise:
 *   trend   1 + growth x months since the window's first month (growing, a few shrinking);
 *   season  a month-of-year factor (summer lull, December peak);
 *   weekday the meter's weekend factor on Saturdays and Sundays;
 *   noise   1 +/- the meter's noise, uniform.
 */
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import type { GeneratedCatalog } from './catalog.ts'
import type { PlannedSubscription, Window } from './subscriptions.ts'

/** January .. December. */
export const SEASON = ['0.95', '0.97', '1.00', '1.00', '1.01', '0.96', '0.86', '0.83', '1.00', '1.04', '1.08', '1.15'] as const

export interface Stream {
  readonly orgId: number
  readonly subscriptionId: number
  readonly meterId: number
  /** First instant with usage (ISO). */
  readonly from: string
  /** Seconds between events (the event falls at a random point within its step). */
  readonly step: number
  readonly count: number
  readonly base: string
  readonly growth: string
  readonly weekend: string
  readonly noise: string
  readonly decimals: number
}

const DAY_MS = 86_400_000
const AVERAGE_MONTH_DAYS = 30.436875

/**
 * The streams of every subscription: each organisation gets about `eventsPerOrgMonth` events a
 * month over its streams (heavy consumers twice that), spread evenly with jitter.
 */
export function planStreams(subscriptions: readonly PlannedSubscription[], ids: readonly number[], catalog: GeneratedCatalog, window: Window, eventsPerOrgMonth: number): Stream[] {
  const streamsPerOrg = new Map<number, number>()
  for (const s of subscriptions) streamsPerOrg.set(s.profile.org.id, (streamsPerOrg.get(s.profile.org.id) ?? 0) + s.meters.length)
  const streams: Stream[] = []
  const windowStart = Date.parse(`${window.start}T00:00:00Z`)
  const windowEnd = Date.parse(`${window.today}T00:00:00Z`)
  subscriptions.forEach((s, i) => {
    const from = Math.max(windowStart, Date.parse(`${s.startsOn}T00:00:00Z`))
    let to = windowEnd
    if (s.endsOn) to = Math.min(to, Date.parse(`${s.endsOn}T00:00:00Z`) + DAY_MS)
    // A suspended contract stopped sending usage six weeks ago.
    if (s.status === 'suspended') to = Math.min(to, windowEnd - 45 * DAY_MS)
    if (to - from < 3_600_000) return
    const perMonth = Math.max(1, Math.round((eventsPerOrgMonth / streamsPerOrg.get(s.profile.org.id)!) * (s.profile.heavy ? 2 : 1)))
    const months = (to - from) / DAY_MS / AVERAGE_MONTH_DAYS
    const count = Math.max(1, Math.round(perMonth * months))
    const step = Math.max(1, Math.floor((to - from) / 1000 / count))
    for (const code of s.meters) {
      const meter = catalog.meters.get(code)!
      const spec = meter.spec
      // A sum meter's month total is spread over its events; a level is what each event reports.
      const level = spec.typical * s.profile.scale
      const base = spec.aggregation === 'sum' ? level / perMonth : level
      streams.push({
        orgId: s.profile.org.id, subscriptionId: ids[i]!, meterId: meter.id, from: new Date(from).toISOString(), step, count,
        base: base.toFixed(6), growth: s.profile.growth.toFixed(4), weekend: spec.weekend, noise: spec.noise, decimals: spec.decimals,
      })
    }
  })
  return streams
}

const pgArray = (values: readonly (string | number)[]) => `{${values.join(',')}}`

export interface UsageChunkResult {
  readonly events: number
  readonly daily: number
  readonly monthly: number
}

/**
 * Writes the events of `streams` (all streams of the organisations they name: a month's rollup
 * is computed from this chunk alone) and their daily and monthly rollups, in one statement.
 */
export async function writeUsageChunk(db: Kysely<Database>, streams: readonly Stream[], seed: number, window: Window, bulk: BulkMode): Promise<UsageChunkResult> {
  const { rows } = await db.transaction().execute(async (trx) => {
    await bulkSettings(trx, bulk)
    return usageChunkStatement(streams, seed, window).execute(trx)
  })
  const row = rows[0]!
  return { events: Number(row.events), daily: Number(row.daily), monthly: Number(row.monthly) }
}

export interface BulkMode {
  /** Skip per-row foreign-key triggers (superuser only). */
  readonly replica: boolean
}

/**
 * Whether this connection may load in bulk without per-row foreign-key checks. Those triggers
 * are most of the cost of writing events and rollups (about 6 µs per row per key), and every
 * id the generator writes comes from rows it has just inserted, so skipping them is safe here,
 * as pg_restore --disable-triggers does. Other roles get the checks.
 */
export async function bulkMode(db: Kysely<Database>): Promise<BulkMode> {
  const { rows } = await sql<{ su: string }>`select current_setting('is_superuser') as su`.execute(db)
  return { replica: rows[0]?.su === 'on' }
}

/** Transaction-local settings for one large statement: no JIT (the row estimates of unnest are guesses), sorts in memory. */
export async function bulkSettings(trx: Kysely<Database>, bulk: BulkMode): Promise<void> {
  await sql`set local jit = off`.execute(trx)
  await sql`set local work_mem = '64MB'`.execute(trx)
  if (bulk.replica) await sql`set local session_replication_role = replica`.execute(trx)
}

/** The statement {@link writeUsageChunk} runs (benchmarks EXPLAIN it). */
export function usageChunkStatement(streams: readonly Stream[], seed: number, window: Window) {
  const col = <K extends keyof Stream>(key: K) => pgArray(streams.map((s) => s[key] as string | number))
  const [startYear, startMonth] = window.start.split('-').map(Number) as [number, number]
  const startIndex = startYear * 12 + startMonth
  return sql<{ events: string; daily: string; monthly: string }>`
    with s as (
      select * from unnest(${col('orgId')}::int[], ${col('subscriptionId')}::int[], ${col('meterId')}::int[], ${col('from')}::timestamptz[],
                           ${col('step')}::bigint[], ${col('count')}::int[], ${col('base')}::numeric[], ${col('growth')}::numeric[],
                           ${col('weekend')}::numeric[], ${col('noise')}::numeric[], ${col('decimals')}::int[])
        as s(org_id, subscription_id, meter_id, from_at, step, n, base, growth, weekend, noise, decimals)
    ), g as (
      select s.*, m.code, x.i, hashint8extended(x.i, hashint8extended(s.subscription_id::bigint * 1000003 + s.meter_id, ${seed}::bigint)) as h
      from s join meters m on m.id = s.meter_id cross join lateral generate_series(0, s.n - 1) as x(i)
    ), t as (
      select g.*, g.from_at + make_interval(secs => (g.i * g.step + (g.h & 2147483647) % g.step)::double precision) as at from g
    ), q as (
      select t.*, 'gen-' || t.subscription_id || '-' || t.code || '-' || t.i as key,
        round(t.base
          * greatest(0.2, 1 + t.growth * (extract(year from t.at at time zone 'UTC') * 12 + extract(month from t.at at time zone 'UTC') - ${startIndex}))
          * (${pgArray(SEASON)}::numeric[])[extract(month from t.at at time zone 'UTC')::int]
          * (case when extract(isodow from t.at at time zone 'UTC') >= 6 then t.weekend else 1 end)
          * (1 - t.noise + 2 * t.noise * (((t.h >> 32) & 1048575) / 1048575.0)), t.decimals) as quantity
      from t
    ), ev as (
      insert into usage_events (org_id, subscription_id, meter_id, quantity, occurred_at, received_at, idempotency_key, payload_hash, source)
      select org_id, subscription_id, meter_id, quantity, at, at + make_interval(secs => (30 + ((h >> 8) & 255))::double precision), key,
        -- The ingestion API's canonical form: [subscriptionId, meter, quantity, timestamp, properties].
        encode(sha256(convert_to('[' || subscription_id || ',"' || code || '","' || trim_scale(quantity)::text || '","'
          || to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '",null]', 'UTF8')), 'hex'),
        'generator'
      from q
      returning id, org_id, subscription_id, meter_id, quantity, occurred_at
    ), d as (
      insert into usage_daily (org_id, subscription_id, meter_id, day, quantity, event_count, last_at)
      select ev.org_id, ev.subscription_id, ev.meter_id, (ev.occurred_at at time zone 'UTC')::date,
        case m.aggregation when 'sum' then sum(ev.quantity) when 'max' then max(ev.quantity)
          else (max(array[extract(epoch from ev.occurred_at), ev.id, ev.quantity]) filter (where m.aggregation = 'last'))[3] end,
        count(*), max(ev.occurred_at)
      from ev join meters m on m.id = ev.meter_id
      group by ev.org_id, ev.subscription_id, ev.meter_id, m.aggregation, (ev.occurred_at at time zone 'UTC')::date
      returning org_id, subscription_id, meter_id, day, quantity, event_count, last_at
    ), mo as (
      insert into usage_monthly (org_id, subscription_id, meter_id, month, quantity, event_count, last_at)
      select d.org_id, d.subscription_id, d.meter_id, d.day - (extract(day from d.day)::int - 1),
        case m.aggregation when 'sum' then sum(d.quantity) when 'max' then max(d.quantity)
          else (max(array[extract(epoch from d.last_at), d.quantity]) filter (where m.aggregation = 'last'))[2] end,
        sum(d.event_count), max(d.last_at)
      from d join meters m on m.id = d.meter_id
      group by d.org_id, d.subscription_id, d.meter_id, m.aggregation, d.day - (extract(day from d.day)::int - 1)
      returning 1
    )
    select (select count(*) from ev) as events, (select count(*) from d) as daily, (select count(*) from mo) as monthly`
}

/** Splits streams into chunks of about `target` events without splitting an organisation. */
export function chunkStreams(streams: readonly Stream[], target: number): Stream[][] {
  const chunks: Stream[][] = []
  let current: Stream[] = []
  let events = 0
  for (let i = 0; i < streams.length; i++) {
    const s = streams[i]!
    current.push(s)
    events += s.count
    const next = streams[i + 1]
    if (events >= target && (!next || next.orgId !== s.orgId)) {
      chunks.push(current)
      current = []
      events = 0
    }
  }
  if (current.length) chunks.push(current)
  return chunks
}
