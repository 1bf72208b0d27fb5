/**
 * Rollup benchmark. Two measurements per back end:
 *
 * 1. Throughput: N events stored with the rollup job idle, then folded by `rollUpUsage` (one
 *    worker, then the same again with two workers at once): events folded per second.
 * 2. Lag under load: N events through the API at full speed with the job running as in
 *    production (triggered by each batch, debounced to 1 s, workers polling every 2 s); the age of
 *    the oldest inbox row is sampled every 250 ms. Reported: the largest and the median age.
 *
 *   npx tsx bench/rollup.ts [--events 200000] [--rollup-batch 10000] [--backend both|postgres|pglite]
 */
import { sql } from 'kysely'
import { rollUpUsage } from '../core/billing/rollups.ts'
import { ingestUsage } from '../core/billing/usage.ts'
import { ScopedDb } from '../core/tenancy/scoped-db.ts'
import { arg, machine, makeEvents, serverVersion, startBench, type Backend, type Bench } from './usage-fixture.ts'
import { percentile } from './support.ts'

const N = Number(arg('events', '200000'))
const ROLLUP_BATCH = Number(arg('rollup-batch', '10000'))
const backends: Backend[] = arg('backend', 'both') === 'both' ? ['pglite', 'postgres'] : [arg('backend', 'both') as Backend]

async function store(bench: Bench, prefix: string): Promise<void> {
  const root = await bench.database.db.selectFrom('organisations').select(['id', 'path']).where('parent_id', 'is', null).executeTakeFirstOrThrow()
  const sdb = new ScopedDb(bench.database.db, { orgId: root.id, path: root.path })
  const events = makeEvents(bench, N, prefix)
  for (let i = 0; i < events.length; i += 5000) {
    const report = await ingestUsage(sdb, events.slice(i, i + 5000), { source: 'generator', window: { maxAgeDays: null, maxFutureMinutes: 5 }, triggerRollup: false, audit: false })
    if (report.errors.length) throw new Error(JSON.stringify(report.errors.slice(0, 3)))
  }
  if (bench.backend === 'postgres') await sql`vacuum analyze usage_rollup_inbox`.execute(bench.database.db)
}

async function throughput(backend: Backend): Promise<Record<string, unknown>> {
  const bench = await startBench(backend, { jobs: false })
  try {
    await store(bench, 'one')
    let started = performance.now()
    const folded = await rollUpUsage(bench.database.db, { batchSize: ROLLUP_BATCH })
    const one = (performance.now() - started) / 1000
    await store(bench, 'two')
    started = performance.now()
    const both = await Promise.all([rollUpUsage(bench.database.db, { batchSize: ROLLUP_BATCH }), rollUpUsage(bench.database.db, { batchSize: ROLLUP_BATCH })])
    const two = (performance.now() - started) / 1000
    const daily = await bench.database.db.selectFrom('usage_daily').select((eb) => eb.fn.sum<string>('event_count').as('n')).executeTakeFirstOrThrow()
    if (folded !== N || both[0] + both[1] !== N || Number(daily.n) !== 2 * N) throw new Error(`miscounted: ${folded}, ${both}, ${daily.n}`)
    return {
      version: await serverVersion(bench), rollupBatch: ROLLUP_BATCH,
      oneWorkerSeconds: +one.toFixed(2), oneWorkerEventsPerSecond: Math.round(N / one),
      twoWorkersSeconds: +two.toFixed(2), twoWorkersEventsPerSecond: Math.round(N / two),
    }
  } finally {
    await bench.close()
  }
}

async function lagUnderLoad(backend: Backend): Promise<Record<string, unknown>> {
  const bench = await startBench(backend)
  try {
    const events = makeEvents(bench, N, 'lag')
    const bodies: string[] = []
    for (let i = 0; i < events.length; i += 1000) bodies.push(JSON.stringify({ events: events.slice(i, i + 1000) }))
    const headers = { authorization: `Bearer ${bench.token}`, 'content-type': 'application/json' }
    const samples: number[] = []
    let done = false
    const sampler = (async () => {
      while (!done) {
        const row = await sql<{ age: string | null }>`select extract(epoch from now() - (select e.received_at from usage_events e
          where e.id = (select min(event_id) from usage_rollup_inbox)))::text as age`.execute(bench.database.db)
        samples.push(Number(row.rows[0]?.age ?? 0))
        await new Promise((r) => setTimeout(r, 250))
      }
    })()
    const concurrency = backend === 'postgres' ? 4 : 1
    let next = 0
    const started = performance.now()
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        // Requests arrive as I/O on a real server; yield like that, or PGlite's synchronous work starves the job timers.
        await new Promise((r) => setImmediate(r))
        const res = await bench.runtime.app.request('/api/v1/usage-events', { method: 'POST', headers, body: bodies[next++]! })
        if (res.status !== 200) throw new Error(`ingest failed: ${res.status}`)
        await res.arrayBuffer()
      }
    }))
    const ingestSeconds = (performance.now() - started) / 1000
    for (;;) {
      const left = await bench.database.db.selectFrom('usage_rollup_inbox').select('event_id').limit(1).executeTakeFirst()
      if (!left) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const drained = (performance.now() - started) / 1000
    done = true
    await sampler
    const sorted = [...samples].sort((a, b) => a - b)
    return {
      ingestSeconds: +ingestSeconds.toFixed(2), ingestEventsPerSecond: Math.round(N / ingestSeconds), allRolledUpAfterSeconds: +drained.toFixed(2),
      lagMaxSeconds: +(sorted[sorted.length - 1] ?? 0).toFixed(2), lagMedianSeconds: +percentile(sorted, 50).toFixed(2), lagP95Seconds: +percentile(sorted, 95).toFixed(2),
    }
  } finally {
    await bench.close()
  }
}

for (const backend of backends) {
  const result = { backend, machine: machine(), events: N, ...(await throughput(backend)), ...(await lagUnderLoad(backend)) }
  console.log(JSON.stringify(result, null, 1))
}
process.exit(0)
