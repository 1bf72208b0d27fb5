/**
 * Shared by the generator and usage-read benchmarks: a scratch PostgreSQL database (created,
 * migrated, dropped) or an in-memory PGlite, and small statistics helpers.
 */
import postgres from 'postgres'
import { openDatabase, type AppDatabase } from '../core/db/database.ts'
import { migrateAll } from '../core/db/migrate.ts'
import { resolvePlugins } from '../core/plugins/registry.ts'
import { migrationSets } from '../core/runtime.ts'
import { builtInPlugins } from '../plugins/index.ts'

export const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  return url.toString()
}

async function admin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
  try {
    return await fn(sql)
  } finally {
    await sql.end()
  }
}

export async function recreateDatabase(name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`)
  await admin(async (sql) => {
    await sql.unsafe(`drop database if exists ${name} with (force)`)
    await sql.unsafe(`create database ${name}`)
  })
}

export async function dropDatabase(name: string): Promise<void> {
  await admin((sql) => sql.unsafe(`drop database if exists ${name} with (force)`))
}

export async function databaseSize(name: string): Promise<string> {
  return admin(async (sql) => (await sql`select pg_size_pretty(pg_database_size(${name})) as size`)[0]!.size as string)
}

export async function serverVersion(): Promise<string> {
  return admin(async (sql) => (await sql`show server_version`)[0]!.server_version as string)
}

/** Opens (PostgreSQL `name`, or an in-memory PGlite when `name` is undefined) and migrates. */
export async function openMigrated(name: string | undefined): Promise<AppDatabase> {
  const database = name ? await openDatabase({ databaseUrl: databaseUrl(name), poolSize: 4 }) : await openDatabase({ dataDir: 'memory://' })
  await migrateAll(database.db, migrationSets(resolvePlugins(builtInPlugins)))
  return database
}

export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

export function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}

/**
 * Times `fn` `runs` times after `warmups` untimed calls and prints rows, median, p95 and max.
 * `fn` returns the number of rows it read.
 */
export async function measure(label: string, runs: number, fn: () => Promise<number>, warmups = 3): Promise<void> {
  for (let i = 0; i < warmups; i++) await fn()
  const times: number[] = []
  let rows = 0
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    rows = await fn()
    times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  process.stdout.write(`${label}: ${rows} rows, median ${percentile(times, 50).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms, max ${times[times.length - 1]!.toFixed(1)} ms (${runs} runs)\n`)
}

/** `from=YYYY-MM-01&to=<last day>` for a month `YYYY-MM`, plus `extra` (report query keys). */
export function monthQuery(month: string, extra = ''): string {
  const [y, m] = month.split('-').map(Number) as [number, number]
  const last = new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10)
  return `from=${month}-01&to=${last}${extra}`
}
