/**
 * Test fixtures: a fresh migrated database per test file (PGlite, or PostgreSQL when the runner
 * says TEST_DB=postgres), a running Ledgerlite on it, and a small organisation tree with one admin
 * per organisation.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Kysely } from 'kysely'
import { loadSettings, type Settings } from '../../config/settings.ts'
import { adminRoleFor, grantSystemRole } from '../../core/access/roles.ts'
import { hashPassword } from '../../core/auth/password.ts'
import { openDatabase, type AppDatabase } from '../../core/db/database.ts'
import type { Database, OrganisationRow } from '../../core/db/schema.ts'
import { createLogger, type Logger } from '../../core/log.ts'
import type { PluginDefinition } from '../../core/plugins/define.ts'
import { startRuntime, type Runtime, type StartOptions } from '../../core/runtime.ts'
import { createOperator, insertOrganisation } from '../../core/tenancy/organisations.ts'
import { builtInPlugins } from '../../plugins/index.ts'
import { buildPgliteTemplate, cloneDatabase, dropDatabase, loadPgliteTemplate, withDatabase } from './template.ts'

export const onPostgres = process.env.TEST_DB === 'postgres'
export const dbLabel = onPostgres ? 'postgres' : 'pglite'

let pgliteTemplate: Promise<Blob> | undefined

export interface TestDatabase {
  readonly database: AppDatabase
  /** Closes and (on PostgreSQL) drops the database. */
  dispose(): Promise<void>
}

export async function freshDatabase(): Promise<TestDatabase> {
  if (onPostgres) {
    const adminUrl = process.env.TEST_DATABASE_URL
    const template = process.env.TEST_PG_TEMPLATE
    if (!adminUrl || !template) throw new Error('TEST_DB=postgres needs TEST_DATABASE_URL and TEST_PG_TEMPLATE (set by test/run.ts)')
    const name = await cloneDatabase(adminUrl, template)
    const database = await openDatabase({ databaseUrl: withDatabase(adminUrl, name), poolSize: 4 })
    return { database, dispose: async () => { await database.close().catch(() => {}); await dropDatabase(adminUrl, name) } }
  }
  pgliteTemplate ??= (async () => {
    let file = process.env.TEST_PGLITE_TEMPLATE
    if (!file) {
      file = join(mkdtempSync(join(tmpdir(), 'll-tpl-')), 'template.tar')
      await buildPgliteTemplate(file)
    }
    return loadPgliteTemplate(file)
  })()
  const database = await openDatabase({ dataDir: 'memory://', loadDataDir: await pgliteTemplate })
  return { database, dispose: () => database.close() }
}

export function testSettings(overrides: Record<string, string> = {}): Settings {
  return loadSettings({
    DATA_DIR: mkdtempSync(join(tmpdir(), 'll-data-')),
    SESSION_SECRET: 'test-secret-test-secret-test-secret-0123',
    LOG_LEVEL: 'silent',
    DEMO_DATA: 'false',
    ...overrides,
  }, process.cwd())
}

export interface LogLine {
  readonly level: string
  readonly msg: string
  readonly [key: string]: unknown
}

export interface TestRuntime extends Runtime {
  /** Every log line written, parsed. */
  readonly logs: LogLine[]
  dispose(): Promise<void>
}

export interface TestRuntimeOptions {
  readonly settings?: Record<string, string>
  readonly installed?: readonly PluginDefinition[]
  readonly throttle?: StartOptions['throttle']
}

export async function testRuntime(options: TestRuntimeOptions = {}): Promise<TestRuntime> {
  const { database, dispose } = await freshDatabase()
  const logs: LogLine[] = []
  const log: Logger = createLogger('debug', (line) => logs.push(JSON.parse(line) as LogLine))
  const runtime = await startRuntime({
    settings: testSettings(options.settings),
    installed: options.installed ?? builtInPlugins,
    database,
    log,
    jobPollingSeconds: 0.5,
    ...(options.throttle ? { throttle: options.throttle } : {}),
  })
  return Object.assign(Object.create(null), runtime, {
    logs,
    async dispose() {
      await runtime.close().catch(() => {})
      await dispose()
    },
  }) as TestRuntime
}

export const TEST_PASSWORD = 'correct horse battery staple'
let testHash: Promise<string> | undefined

export interface Tree {
  readonly operator: OrganisationRow
  readonly alpha: OrganisationRow
  readonly alphaCustomer: OrganisationRow
  readonly alphaSub: OrganisationRow
  readonly alphaSubCustomer: OrganisationRow
  readonly beta: OrganisationRow
  readonly betaCustomer: OrganisationRow
}

/** Email of the admin user seeded for each organisation of {@link seedTree}. */
export const ADMIN = {
  operator: 'op@test.example', alpha: 'alpha@test.example', alphaCustomer: 'alpha-customer@test.example',
  alphaSub: 'alpha-sub@test.example', alphaSubCustomer: 'alpha-sub-customer@test.example', beta: 'beta@test.example',
  betaCustomer: 'beta-customer@test.example',
} as const satisfies Record<keyof Tree, string>

/**
 * operator -> alpha (reseller) -> alphaCustomer, alphaSub (reseller) -> alphaSubCustomer;
 * operator -> beta (reseller) -> betaCustomer. One admin per organisation, password TEST_PASSWORD, holding
 * the system admin role of its organisation's kind (Super Administrator, Reseller Admin, Customer Admin).
 */
export async function seedTree(db: Kysely<Database>): Promise<Tree> {
  testHash ??= hashPassword(TEST_PASSWORD)
  const operator = await createOperator(db, 'Test Operator')
  const alpha = await insertOrganisation(db, operator, { kind: 'reseller', name: 'Alpha Reseller' })
  const alphaCustomer = await insertOrganisation(db, alpha, { kind: 'customer', name: 'Alpha Customer' })
  const alphaSub = await insertOrganisation(db, alpha, { kind: 'reseller', name: 'Alpha Sub Reseller' })
  const alphaSubCustomer = await insertOrganisation(db, alphaSub, { kind: 'customer', name: 'Alpha Sub Customer' })
  const beta = await insertOrganisation(db, operator, { kind: 'reseller', name: 'Beta Reseller' })
  const betaCustomer = await insertOrganisation(db, beta, { kind: 'customer', name: 'Beta Customer' })
  const tree: Tree = { operator, alpha, alphaCustomer, alphaSub, alphaSubCustomer, beta, betaCustomer }
  const hash = await testHash
  const users = await db.insertInto('users').values(Object.entries(ADMIN).map(([key, email]) => ({
    org_id: tree[key as keyof Tree].id, email, name: `Admin of ${tree[key as keyof Tree].name}`, password_hash: hash,
  }))).returning(['id', 'org_id']).execute()
  for (const org of Object.values(tree)) {
    await grantSystemRole(db, users.filter((u) => u.org_id === org.id).map((u) => u.id), adminRoleFor(org.kind))
  }
  return tree
}

/** A custom role owned by `orgId`, holding `grants` as (subject, action) pairs. Returns its id. */
export async function addRole(db: Kysely<Database>, orgId: number, name: string, grants: readonly (readonly [string, string])[] = [['Organisation', 'read']]): Promise<number> {
  const role = await db.insertInto('roles').values({ org_id: orgId, name }).returning('id').executeTakeFirstOrThrow()
  if (grants.length) await db.insertInto('role_permissions').values(grants.map(([subject, action]) => ({ role_id: role.id, subject, action }))).execute()
  return role.id
}

/** A user of `orgId` with password TEST_PASSWORD, holding `roleIds`. Returns its id. */
export async function addUser(db: Kysely<Database>, orgId: number, email: string, options: { name?: string; roleIds?: readonly number[] } = {}): Promise<number> {
  testHash ??= hashPassword(TEST_PASSWORD)
  const user = await db.insertInto('users').values({ org_id: orgId, email, name: options.name ?? email, password_hash: await testHash }).returning('id').executeTakeFirstOrThrow()
  const roleIds = options.roleIds ?? []
  if (roleIds.length) await db.insertInto('user_roles').values(roleIds.map((role_id) => ({ user_id: user.id, role_id }))).execute()
  return user.id
}

/** Ids of the system roles by key: `super_admin`, `reseller_admin`, `customer_admin`, `auditor`. */
export async function systemRoleIds(db: Kysely<Database>): Promise<Record<string, number>> {
  const rows = await db.selectFrom('roles').select(['id', 'system_key']).where('system_key', 'is not', null).execute()
  return Object.fromEntries(rows.map((r) => [r.system_key!, r.id]))
}
