/**
 * One migrator for the core and every enabled plugin. Each owner keeps its own history table in
 * the `ledgerlite_migrations` schema (`core`, `organisations`, ...), so disabling a plugin leaves
 * its history alone instead of making the core's look corrupted. Owners run in the order given:
 * the core first, then plugins in dependency order.
 */
import { Migrator, type Migration, type MigrationResultSet } from 'kysely/migration'
import type { Kysely } from 'kysely'

export const MIGRATION_SCHEMA = 'ledgerlite_migrations'

export interface MigrationSet {
  /** `core` or a plugin id. */
  readonly owner: string
  readonly migrations: Readonly<Record<string, Migration>>
}

export class MigrationError extends Error {
  readonly code = 'LL_ERR_MIGRATION'
  readonly owner: string
  constructor(owner: string, migration: string | undefined, cause: unknown) {
    super(`Migration ${owner}/${migration ?? '?'} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    this.name = 'MigrationError'
    this.owner = owner
  }
}

function migratorFor(db: Kysely<any>, set: MigrationSet): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...set.migrations }) },
    migrationTableSchema: MIGRATION_SCHEMA,
    migrationTableName: migratorTable(set.owner),
    migrationLockTableName: 'lock',
  })
}

export interface AppliedMigration {
  readonly owner: string
  readonly name: string
}

/** Runs every pending migration; returns those it applied. Throws {@link MigrationError}. */
export async function migrateAll(db: Kysely<any>, sets: readonly MigrationSet[]): Promise<AppliedMigration[]> {
  const applied: AppliedMigration[] = []
  for (const set of sets) {
    const result: MigrationResultSet = await migratorFor(db, set).migrateToLatest()
    const failed = result.results?.find((r) => r.status === 'Error')
    if (result.error) throw new MigrationError(set.owner, failed?.migrationName, result.error)
    for (const r of result.results ?? []) if (r.status === 'Success') applied.push({ owner: set.owner, name: r.migrationName })
  }
  return applied
}

/** Names of migrations not yet applied (readiness check). */
export async function pendingMigrations(db: Kysely<any>, sets: readonly MigrationSet[]): Promise<AppliedMigration[]> {
  const pending: AppliedMigration[] = []
  for (const set of sets) {
    const known = Object.keys(set.migrations)
    if (known.length === 0) continue
    let done = new Set<string>()
    try {
      const rows = await db.withSchema(MIGRATION_SCHEMA).selectFrom(migratorTable(set.owner)).select('name').execute()
      done = new Set(rows.map((r: { name: string }) => r.name))
    } catch {
      // No history table yet: everything is pending.
    }
    for (const name of known) if (!done.has(name)) pending.push({ owner: set.owner, name })
  }
  return pending
}

function migratorTable(owner: string): string {
  return owner.replace(/[^a-z0-9_]/g, '_')
}
