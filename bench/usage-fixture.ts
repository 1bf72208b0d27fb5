/**
 * Shared by bench/ingest.ts and bench/rollup.ts: a running Ledgerlite on a scratch database
 * (a PostgreSQL database created and dropped on the server DATABASE_URL names, or an in-memory
 * PGlite), a small tree with a catalog and subscriptions, an operator API token, and events.
 */
import { mkdtempSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { loadSettings } from '../config/settings.ts'
import { insertApiToken } from '../core/auth/tokens.ts'
import { openDatabase, type AppDatabase } from '../core/db/database.ts'
import { startRuntime, type Runtime } from '../core/runtime.ts'
import { createLogger } from '../core/log.ts'
import { builtInPlugins } from '../plugins/index.ts'
import { addSubscription, seedCatalog, PLANS } from '../test/support/billing.ts'
import { ADMIN, seedTree } from '../test/support/fixture.ts'

export const SERVER_URL = process.env.DATABASE_URL ?? process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export type Backend = 'pglite' | 'postgres'

export interface Bench {
  readonly runtime: Runtime
  readonly database: AppDatabase
  readonly backend: Backend
  /** The scratch database's URL (PostgreSQL only). */
  readonly url: string | undefined
  readonly token: string
  /** Subscriptions with the meter codes priced on their plan. */
  readonly subscriptions: ReadonlyArray<{ id: number; meters: readonly string[] }>
  close(): Promise<void>
}

function scratchUrl(name: string): string {
  const url = new URL(SERVER_URL)
  url.pathname = `/${name}`
  return url.toString()
}

async function onServer<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(SERVER_URL, { max: 1, onnotice: () => {} })
  try {
    return await fn(sql)
  } finally {
    await sql.end()
  }
}

/** Starts Ledgerlite (with its job workers) on a fresh database and seeds what ingestion needs. */
export async function startBench(backend: Backend, options: { subscriptions?: number; jobs?: boolean } = {}): Promise<Bench> {
  const name = `ll_bench_usage_${process.pid}`
  let database: AppDatabase
  let url: string | undefined
  if (backend === 'postgres') {
    await onServer(async (sql) => {
      await sql.unsafe(`drop database if exists ${name} with (force)`)
      await sql.unsafe(`create database ${name}`)
    })
    url = scratchUrl(name)
    database = await openDatabase({ databaseUrl: url, poolSize: 10 })
  } else {
    database = await openDatabase({ dataDir: 'memory://' })
  }
  const settings = loadSettings({ DATA_DIR: mkdtempSync(join(tmpdir(), 'll-bench-')), SESSION_SECRET: 'bench-secret-bench-secret-bench-secret', LOG_LEVEL: 'silent', DEMO_DATA: 'false' }, process.cwd())
  const runtime = await startRuntime({ settings, installed: builtInPlugins, database, log: createLogger('silent'), ...(options.jobs === false ? { jobPollingSeconds: 3600 } : {}) })
  const db = database.db
  const tree = await seedTree(db)
  const catalog = await seedCatalog(db, tree.operator.id)
  const customers = [tree.alphaCustomer, tree.alphaSubCustomer, tree.betaCustomer]
  const subscriptions: Array<{ id: number; meters: string[] }> = []
  for (let i = 0; i < (options.subscriptions ?? 60); i++) {
    const plan = PLANS[i % PLANS.length]!
    subscriptions.push({ id: await addSubscription(db, customers[i % customers.length]!.id, catalog.plans[plan.code]!), meters: Object.keys(plan.prices) })
  }
  const user = (await db.selectFrom('users').select('id').where('email', '=', ADMIN.operator).executeTakeFirstOrThrow()).id
  const { token } = await insertApiToken(db, { orgId: tree.operator.id, userId: user, name: 'bench', expiresAt: null })
  return {
    runtime, database, backend, url, token, subscriptions,
    async close() {
      await runtime.close().catch(() => {})
      await database.close().catch(() => {})
      if (backend === 'postgres') await onServer((sql) => sql.unsafe(`drop database if exists ${name} with (force)`))
    },
  }
}

export interface BenchEvent {
  readonly idempotencyKey: string
  readonly subscriptionId: number
  readonly meter: string
  readonly quantity: string
  readonly timestamp: string
}

/** `n` distinct events spread over the subscriptions and the last `days` days. */
export function makeEvents(bench: Bench, n: number, prefix: string, days = 20): BenchEvent[] {
  const now = Date.now()
  const out: BenchEvent[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const sub = bench.subscriptions[i % bench.subscriptions.length]!
    out[i] = {
      idempotencyKey: `${prefix}-${i}`,
      subscriptionId: sub.id,
      meter: sub.meters[(i >> 3) % sub.meters.length]!,
      quantity: `${(i % 97) + 1}.${String(i % 1000).padStart(3, '0')}`,
      timestamp: new Date(now - ((i * 7919) % (days * 86_400_000))).toISOString(),
    }
  }
  return out
}

export async function serverVersion(bench: Bench): Promise<string> {
  const row = await bench.database.db.selectNoFrom((eb) => eb.fn<string>('version', []).as('v')).executeTakeFirstOrThrow()
  return row.v.split(' ').slice(0, 2).join(' ')
}

export function machine(): string {
  return `${cpus().length} CPU (${cpus()[0]?.model.trim() ?? 'unknown'}), ${Math.round(totalmem() / 1024 ** 3)} GB RAM, Node ${process.version}`
}

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] ?? fallback : fallback
}
