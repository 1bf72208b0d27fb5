/**
 * Boots a Ledgerlite instance from settings and installed plugins: orders the plugins, opens the
 * database, migrates it, seeds demo data into an empty one (when enabled), starts pg-boss with the
 * plugins' jobs and builds the app. `close()` stops it all in order.
 */
import type { Hono } from 'hono'
import type { PgBoss } from 'pg-boss'
import type { Settings } from '../config/settings.ts'
import { coreMigrations } from '../migrations/index.ts'
import { createApp, type CreateAppOptions } from './app.tsx'
import { resolveSessionSecret } from './auth/secret.ts'
import { openDatabase, type AppDatabase } from './db/database.ts'
import { migrateAll, type MigrationSet } from './db/migrate.ts'
import type { AppEnv } from './http/env.ts'
import { billingJobs } from './billing/jobs.ts'
import { coreJobs } from './jobs/core-jobs.ts'
import { reportJobs } from './reports/jobs.ts'
import { registerJobs, startBoss } from './jobs/jobs.ts'
import { createLogger, type Logger } from './log.ts'
import type { PluginDefinition } from './plugins/define.ts'
import { resolvePlugins } from './plugins/registry.ts'
import { seedDemo, isEmpty } from './seed/demo.ts'
import { ScopedDb } from './tenancy/scoped-db.ts'
import { ReportRegistry } from './reports/registry.ts'

export interface Runtime {
  readonly app: Hono<AppEnv>
  readonly database: AppDatabase
  readonly boss: PgBoss
  readonly plugins: readonly PluginDefinition[]
  readonly log: Logger
  /** Whether this start seeded the demo data. */
  readonly seeded: boolean
  close(): Promise<void>
}

export interface StartOptions {
  readonly settings: Settings
  readonly installed: readonly PluginDefinition[]
  /** An already opened database (tests); otherwise the settings decide. */
  readonly database?: AppDatabase
  readonly log?: Logger
  readonly jobPollingSeconds?: number
  readonly throttle?: CreateAppOptions['throttle']
}

export function migrationSets(plugins: readonly PluginDefinition[]): MigrationSet[] {
  return [{ owner: 'core', migrations: coreMigrations }, ...plugins.filter((p) => p.migrations).map((p) => ({ owner: p.id, migrations: p.migrations! }))]
}

export async function startRuntime(options: StartOptions): Promise<Runtime> {
  const { settings } = options
  const log = options.log ?? createLogger(settings.logLevel)
  const plugins = resolvePlugins(options.installed, settings.plugins)
  const database = options.database ?? (await openDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir }))
  let boss: PgBoss | undefined
  try {
    const migrations = migrationSets(plugins)
    const applied = await migrateAll(database.db, migrations)
    if (applied.length) log.info('migrations applied', { migrations: applied.map((m) => `${m.owner}/${m.name}`) })
    let seeded = false
    if (settings.demoData && (await isEmpty(database.db))) {
      await seedDemo(database.db)
      seeded = true
      log.info('demo data seeded')
    }
    boss = await startBoss({ bossOptions: database.bossOptions, log })
    const root = await database.db.selectFrom('organisations').select(['id', 'path']).where('parent_id', 'is', null).executeTakeFirst()
    const reports = new ReportRegistry(plugins)
    const jobContext = () => ({ db: new ScopedDb(database.db, root ? { orgId: root.id, path: root.path } : { orgId: 0, path: '/' }, boss), log, settings, reports })
    await registerJobs(boss, [...coreJobs, ...billingJobs, ...reportJobs, ...plugins.flatMap((p) => p.jobs ?? [])], jobContext, options.jobPollingSeconds)
    const app = createApp({
      db: database.db,
      boss,
      plugins,
      migrations,
      secret: resolveSessionSecret(settings),
      log,
      secureCookies: settings.publicUrl?.startsWith('https:') ?? false,
      publicUrl: settings.publicUrl,
      settings,
      ...(options.throttle ? { throttle: options.throttle } : {}),
    })
    const started = boss
    return {
      app, database, boss: started, plugins, log, seeded,
      async close() {
        await started.stop({ graceful: true, timeout: 5000, close: true })
        await database.close()
      },
    }
  } catch (error) {
    await boss?.stop({ graceful: false, timeout: 1000 }).catch(() => {})
    if (!options.database) await database.close().catch(() => {})
    throw error
  }
}
