/**
 * Ingest benchmark: N usage events through `POST /api/v1/usage-events` (batches of 1,000, bearer
 * token, `app.request`) against the same events loaded into the same
 * table by the fastest plain path: `COPY ... from stdin` on PostgreSQL, batched multi-row inserts
 * on PGlite (which has no COPY from a client stream; there the same inserts writing the rollup inbox
 * rows too are a second baseline). The job workers idle during the measurement; the rollups are
 * folded afterwards and timed. Prints events/s and the ratios.
 *
 *   npx tsx bench/ingest.ts [--events 200000] [--batch 1000] [--concurrency 4] [--backend both|postgres|pglite]
 *
 * PostgreSQL: a scratch database is created on the server DATABASE_URL (or BENCH_ADMIN_URL) names,
 * and dropped afterwards. Never point it at a server you care about.
 */
import { sql, type Kysely } from 'kysely'
import postgres from 'postgres'
import { rollUpUsage } from '../core/billing/rollups.ts'
import type { Database } from '../core/db/schema.ts'
import { arg, machine, makeEvents, serverVersion, startBench, type Backend, type Bench, type BenchEvent } from './usage-fixture.ts'

const N = Number(arg('events', '200000'))
const BATCH = Number(arg('batch', '1000'))
const backends: Backend[] = arg('backend', 'both') === 'both' ? ['pglite', 'postgres'] : [arg('backend', 'both') as Backend]

async function resetUsage(db: Kysely<Database>): Promise<void> {
  await sql`truncate usage_rollup_inbox, usage_daily, usage_monthly, usage_events`.execute(db)
}

async function vacuum(bench: Bench): Promise<void> {
  if (bench.backend === 'postgres') await sql`vacuum analyze usage_events`.execute(bench.database.db)
}

/** The plain-path baseline: COPY on PostgreSQL, 1,000-row inserts on PGlite. Returns seconds. */
async function baseline(bench: Bench, events: readonly BenchEvent[]): Promise<number> {
  const meters = new Map((await bench.database.db.selectFrom('meters').select(['id', 'code']).execute()).map((m) => [m.code, m.id]))
  const subs = new Map((await bench.database.db.selectFrom('subscriptions').select(['id', 'org_id']).execute()).map((s) => [s.id, s.org_id]))
  const hash = 'f'.repeat(64)
  if (bench.backend === 'postgres') {
    const client = postgres(bench.url!, { max: 1, onnotice: () => {} })
    try {
      const started = performance.now()
      const stream = await client`copy usage_events (org_id, subscription_id, meter_id, quantity, occurred_at, idempotency_key, payload_hash, source) from stdin`.writable()
      const CHUNK = 5000
      for (let i = 0; i < events.length; i += CHUNK) {
        let text = ''
        for (const e of events.slice(i, i + CHUNK)) {
          text += `${subs.get(e.subscriptionId)}\t${e.subscriptionId}\t${meters.get(e.meter)}\t${e.quantity}\t${e.timestamp}\t${e.idempotencyKey}\t${hash}\tapi\n`
        }
        if (!stream.write(text)) await new Promise((r) => stream.once('drain', r))
      }
      await new Promise<void>((resolve, reject) => { stream.once('finish', resolve); stream.once('error', reject); stream.end() })
      return (performance.now() - started) / 1000
    } finally {
      await client.end()
    }
  }
  const started = performance.now()
  for (let i = 0; i < events.length; i += BATCH) {
    await bench.database.db.insertInto('usage_events').values(events.slice(i, i + BATCH).map((e) => ({
      org_id: subs.get(e.subscriptionId)!, subscription_id: e.subscriptionId, meter_id: meters.get(e.meter)!, quantity: e.quantity,
      occurred_at: e.timestamp, idempotency_key: e.idempotencyKey, payload_hash: hash,
    }))).execute()
  }
  return (performance.now() - started) / 1000
}

/** PGlite only: the same batched inserts, writing the rollup inbox rows too (what the API must write). Returns seconds. */
async function baselineWithInbox(bench: Bench, events: readonly BenchEvent[]): Promise<number> {
  const meters = new Map((await bench.database.db.selectFrom('meters').select(['id', 'code']).execute()).map((m) => [m.code, m.id]))
  const subs = new Map((await bench.database.db.selectFrom('subscriptions').select(['id', 'org_id']).execute()).map((s) => [s.id, s.org_id]))
  const started = performance.now()
  for (let i = 0; i < events.length; i += BATCH) {
    const rows = events.slice(i, i + BATCH).map((e) => ({
      org_id: subs.get(e.subscriptionId)!, subscription_id: e.subscriptionId, meter_id: meters.get(e.meter)!, quantity: e.quantity,
      occurred_at: e.timestamp, idempotency_key: e.idempotencyKey, payload_hash: 'f'.repeat(64),
    }))
    await bench.database.db.with('e', (db) => db.insertInto('usage_events').values(rows).returning(['id', 'org_id', 'subscription_id', 'meter_id', 'quantity', 'occurred_at']))
      .insertInto('usage_rollup_inbox').columns(['event_id', 'org_id', 'subscription_id', 'meter_id', 'quantity', 'occurred_at'])
      .expression((eb) => eb.selectFrom('e').select(['id', 'org_id', 'subscription_id', 'meter_id', 'quantity', 'occurred_at'])).execute()
  }
  return (performance.now() - started) / 1000
}

/** The API path: bodies are built before the clock starts (that is the client's work). Returns seconds. */
async function throughApi(bench: Bench, events: readonly BenchEvent[], concurrency: number): Promise<number> {
  const bodies: string[] = []
  for (let i = 0; i < events.length; i += BATCH) bodies.push(JSON.stringify({ events: events.slice(i, i + BATCH) }))
  const headers = { authorization: `Bearer ${bench.token}`, 'content-type': 'application/json' }
  let next = 0
  let accepted = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!
      // Requests arrive as I/O on a real server; yield like that, or PGlite's synchronous work starves the job timers.
      await new Promise((r) => setImmediate(r))
      const res = await bench.runtime.app.request('/api/v1/usage-events', { method: 'POST', headers, body })
      const report = (await res.json()) as { accepted: number; errors: unknown[] }
      if (res.status !== 200 || report.errors.length) throw new Error(`ingest failed: ${res.status} ${JSON.stringify(report).slice(0, 300)}`)
      accepted += report.accepted
    }
  }))
  const seconds = (performance.now() - started) / 1000
  if (accepted !== events.length) throw new Error(`accepted ${accepted} of ${events.length}`)
  return seconds
}

/** Seconds to fold the whole inbox, as the job would (one worker). */
async function catchUp(bench: Bench): Promise<number> {
  const started = performance.now()
  await rollUpUsage(bench.database.db, { batchSize: 10_000 })
  return (performance.now() - started) / 1000
}

async function run(backend: Backend): Promise<void> {
  // The job workers idle (polling hourly): this measures the ingest path alone; bench/rollup.ts measures the two together.
  const bench = await startBench(backend, { jobs: false })
  try {
    const concurrency = Number(arg('concurrency', backend === 'postgres' ? '4' : '1'))
    const version = await serverVersion(bench)
    // Warm-up (plans, JIT, caches), not measured.
    await throughApi(bench, makeEvents(bench, Math.min(N, 5 * BATCH), 'warm'), concurrency)
    await catchUp(bench)
    await resetUsage(bench.database.db)
    await vacuum(bench)

    const copySeconds = await baseline(bench, makeEvents(bench, N, 'copy'))
    await resetUsage(bench.database.db)
    await vacuum(bench)

    let inboxSeconds: number | undefined
    if (backend === 'pglite') {
      inboxSeconds = await baselineWithInbox(bench, makeEvents(bench, N, 'inbox'))
      await resetUsage(bench.database.db)
    }

    const apiEvents = makeEvents(bench, N, 'api')
    const rss = process.memoryUsage().rss
    const apiSeconds = await throughApi(bench, apiEvents, concurrency)
    const lag = await catchUp(bench)
    const copyRate = N / copySeconds
    const apiRate = N / apiSeconds
    const label = backend === 'postgres' ? 'COPY' : 'batched insert (1,000 rows)'
    console.log(JSON.stringify({
      backend, version, machine: machine(), events: N, batch: BATCH, concurrency,
      baseline: label, baselineSeconds: +copySeconds.toFixed(2), baselineEventsPerSecond: Math.round(copyRate),
      apiSeconds: +apiSeconds.toFixed(2), apiEventsPerSecond: Math.round(apiRate), ratio: +(apiRate / copyRate).toFixed(2),
      ...(inboxSeconds !== undefined ? { baselineWithInboxEventsPerSecond: Math.round(N / inboxSeconds), ratioToBaselineWithInbox: +(apiRate / (N / inboxSeconds)).toFixed(2) } : {}),
      rollupAfterwardsSeconds: +lag.toFixed(2), rollupAfterwardsEventsPerSecond: Math.round(N / lag), rssMB: Math.round(Math.max(rss, process.memoryUsage().rss) / 1024 / 1024),
    }, null, 1))
  } finally {
    await bench.close()
  }
}

for (const backend of backends) await run(backend)
process.exit(0)
