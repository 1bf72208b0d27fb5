/**
 * Fresh, migrated databases per test file without paying for initdb and migrations each time:
 * the runner builds one template per run (a PGlite dump file, a PostgreSQL template database)
 * and every test file clones it.
 */
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import postgres from 'postgres'
import { openDatabase, type AppDatabase } from '../../core/db/database.ts'
import { migrateAll } from '../../core/db/migrate.ts'
import { startBoss } from '../../core/jobs/jobs.ts'
import { createLogger } from '../../core/log.ts'
import { resolvePlugins } from '../../core/plugins/registry.ts'
import { migrationSets } from '../../core/runtime.ts'
import { builtInPlugins } from '../../plugins/index.ts'

const silent = createLogger('silent')

/** Migrations of the core and every built-in plugin, plus pg-boss's own schema. */
async function prepare(database: AppDatabase): Promise<void> {
  await migrateAll(database.db, migrationSets(resolvePlugins(builtInPlugins)))
  const boss = await startBoss({ bossOptions: database.bossOptions, log: silent })
  await boss.stop({ graceful: false, close: true, timeout: 1000 })
}

export async function buildPgliteTemplate(file: string): Promise<void> {
  const database = await openDatabase({ dataDir: 'memory://' })
  await prepare(database)
  const dump = await database.dump!()
  await writeFile(file, Buffer.from(await dump.arrayBuffer()))
  await database.close()
}

export async function loadPgliteTemplate(file: string): Promise<Blob> {
  return new Blob([await readFile(file)])
}

/** A connection string for another database on the same server. */
export function withDatabase(url: string, name: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${name}`
  return parsed.toString()
}

export async function buildPostgresTemplate(adminUrl: string): Promise<string> {
  const name = `ll_tpl_${randomBytes(4).toString('hex')}`
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const database = await openDatabase({ databaseUrl: withDatabase(adminUrl, name), poolSize: 2 })
  try {
    await prepare(database)
  } finally {
    await database.close()
  }
  return name
}

export async function cloneDatabase(adminUrl: string, template: string): Promise<string> {
  const name = `ll_t_${randomBytes(5).toString('hex')}`
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`create database ${name} template ${template}`)
  } finally {
    await admin.end()
  }
  return name
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`)
  } finally {
    await admin.end()
  }
}
