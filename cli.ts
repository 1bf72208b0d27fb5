/**
 * The command line: `npm run ledgerlite -- <command>`.
 *
 *   migrate                                   apply pending core and plugin migrations
 *   seed-demo                                 load the demo organisations and logins (empty database only)
 *   create-admin --email E --org ORG [--name N]
 *       create an administrator in organisation ORG (an id or an exact name); on an empty database
 *       ORG becomes the operator. The password comes from LEDGERLITE_ADMIN_PASSWORD, or one is
 *       generated and printed once.
 *   import-usage --file F [--delimiter comma|pipe]
 *       backfill usage events from a CSV file (operator scope, no time window), print the row report, roll up
 *   create-token --email E --name N [--org ORG] [--expires-in-days D]
 *       make an API token for user E scoped to ORG (default: the user's organisation); prints the secret once
 *   generate --orgs N --months M --seed S [--events-per-org-month E] [--today YYYY-MM-DD] [--bill-months K]
 *       fill an empty database with a deterministic generated book (see core/seed/generate.ts)
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { readFileSync } from 'node:fs'
import { abilityForUser, loadGrants } from './core/access/ability.ts'
import { issueApiToken } from './core/access/api-tokens.ts'
import { rollUpUsage } from './core/billing/rollups.ts'
import { importUsageCsv } from './core/billing/usage-import.ts'
import { ScopedDb } from './core/tenancy/scoped-db.ts'
import { loadSettings, SettingsError } from './config/settings.ts'
import { builtInPlugins } from './plugins/index.ts'
import { adminRoleFor, grantSystemRole } from './core/access/roles.ts'
import { hashPassword, passwordProblem } from './core/auth/password.ts'
import { openDatabase, type AppDatabase } from './core/db/database.ts'
import { migrateAll, MigrationError } from './core/db/migrate.ts'
import type { OrganisationRow } from './core/db/schema.ts'
import { PluginError } from './core/plugins/errors.ts'
import { loadInstalledPlugins } from './core/plugins/load.ts'
import { resolvePlugins } from './core/plugins/registry.ts'
import { migrationSets } from './core/runtime.ts'
import { DEMO_LOGINS, DEMO_PASSWORD, isEmpty, seedDemo } from './core/seed/demo.ts'
import { generate, GenerateError } from './core/seed/generate.ts'
import { createOperator } from './core/tenancy/organisations.ts'

const USAGE = `Usage: npm run ledgerlite -- <command>

Commands:
  migrate                                       apply pending migrations
  seed-demo                                     seed demo organisations and logins into an empty database
  create-admin --email EMAIL --org ORG [--name NAME]
                                                create an administrator (ORG: id or exact name;
                                                on an empty database ORG becomes the operator)
  import-usage --file FILE [--delimiter comma|pipe]
                                                backfill usage from a CSV file; prints a row-by-row report
  create-token --email EMAIL --name NAME [--org ORG] [--expires-in-days D]
                                                make an API token for a user, scoped to ORG (id or exact
                                                name, default the user's organisation); secret shown once
  generate --orgs N --months M --seed S [--events-per-org-month E] [--today YYYY-MM-DD] [--bill-months K]
                                                fill an empty database with deterministic generated data:
                                                N organisations, M closed months of usage and invoices
                                                (the same options give the same data)`

class UsageError extends Error {}

async function withDatabase<T>(fn: (database: AppDatabase) => Promise<T>): Promise<T> {
  const settings = loadSettings()
  const { installed, enabled } = await loadInstalledPlugins(builtInPlugins, settings.plugins)
  const database = await openDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir })
  try {
    const applied = await migrateAll(database.db, migrationSets(resolvePlugins(installed, enabled)))
    for (const m of applied) process.stdout.write(`applied ${m.owner}/${m.name}\n`)
    return await fn(database)
  } finally {
    await database.close()
  }
}

async function createAdmin(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { email: { type: 'string' }, org: { type: 'string' }, name: { type: 'string' } }, strict: true })
  const email = values.email?.trim().toLowerCase()
  if (!email || !/^[^\s@]+@[^\s@]+$/.test(email)) throw new UsageError('create-admin needs --email with a valid address')
  if (!values.org?.trim()) throw new UsageError('create-admin needs --org (an organisation id or exact name)')
  const given = process.env.LEDGERLITE_ADMIN_PASSWORD
  if (given !== undefined && passwordProblem(given)) throw new UsageError(`LEDGERLITE_ADMIN_PASSWORD: ${passwordProblem(given)}`)
  const password = given ?? randomBytes(15).toString('base64url')
  await withDatabase(async ({ db }) => {
    let org: OrganisationRow | undefined
    if (await isEmpty(db)) {
      org = await createOperator(db, values.org!.trim())
      process.stdout.write(`created the operator organisation "${org.name}" (id ${org.id})\n`)
    } else {
      const ref = values.org!.trim()
      org = (await db.selectFrom('organisations').selectAll()
        .where((eb) => (/^\d+$/.test(ref) ? eb('id', '=', Number(ref)) : eb('name', '=', ref)))
        .executeTakeFirst()) as OrganisationRow | undefined
      if (!org) throw new UsageError(`no organisation with id or name "${ref}"`)
    }
    const existing = await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()
    if (existing) throw new UsageError(`a user with email ${email} already exists`)
    const user = await db.insertInto('users').values({ org_id: org.id, email, name: values.name?.trim() || email, password_hash: await hashPassword(password) })
      .returning('id').executeTakeFirstOrThrow()
    const role = adminRoleFor(org.kind)
    await grantSystemRole(db, [user.id], role)
    process.stdout.write(`created administrator ${email} in "${org.name}" with the ${role.replace('_', ' ')} role\n`)
    if (given === undefined) process.stdout.write(`password (shown once): ${password}\n`)
  })
}

async function generateCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args, strict: true,
    options: { orgs: { type: 'string' }, months: { type: 'string' }, seed: { type: 'string' }, 'events-per-org-month': { type: 'string' }, today: { type: 'string' }, 'bill-months': { type: 'string' } },
  })
  const whole = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined
    if (!/^\d{1,10}$/.test(value)) throw new UsageError(`--${name} must be a whole number, got "${value}"`)
    return Number(value)
  }
  const orgs = whole('orgs', values.orgs)
  const months = whole('months', values.months)
  const seed = whole('seed', values.seed)
  if (orgs === undefined || months === undefined || seed === undefined) throw new UsageError('generate needs --orgs N --months M --seed S')
  const eventsPerOrgMonth = whole('events-per-org-month', values['events-per-org-month'])
  const billMonths = whole('bill-months', values['bill-months'])
  await withDatabase(async ({ db, description }) => {
    process.stdout.write(`generating into ${description}\n`)
    const summary = await generate(db, {
      orgs, months, seed, ...(eventsPerOrgMonth !== undefined ? { eventsPerOrgMonth } : {}), ...(billMonths !== undefined ? { billMonths } : {}),
      ...(values.today !== undefined ? { today: values.today } : {}),
      onProgress: (line) => process.stdout.write(`  ${line}\n`),
    })
    const total = summary.seconds.total ?? 0
    process.stdout.write(`done in ${total} s: ${summary.organisations} organisations (${summary.resellers} resellers, ${summary.customers} customers, ${summary.heavyConsumers} heavy), `
      + `${summary.subscriptions} subscriptions, ${summary.events} events (${Math.round(summary.events / Math.max(summary.seconds.usage ?? 0, 0.001))} events/s), `
      + `${summary.dailyRollups} daily and ${summary.monthlyRollups} monthly rollups, invoices ${JSON.stringify(summary.invoices)}, ${summary.payments} payments, `
      + `${summary.creditEntries} credit entries, ${summary.discounts} discounts\nseconds per phase: ${JSON.stringify(summary.seconds)}\n`
      + `sign in: npm run ledgerlite -- create-admin --email you@example.com --org ${JSON.stringify('Generated Cloud Operator')}\n`)
  })
}

async function importUsageCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, strict: true, options: { file: { type: 'string' }, delimiter: { type: 'string' } } })
  if (!values.file) throw new UsageError('import-usage needs --file (a CSV file)')
  if (values.delimiter !== undefined && !['comma', 'pipe'].includes(values.delimiter)) throw new UsageError('--delimiter must be comma or pipe')
  let text: string
  try {
    text = readFileSync(values.file, 'utf8')
  } catch (error) {
    throw new UsageError(`cannot read ${values.file}: ${(error as Error).message}`)
  }
  await withDatabase(async ({ db }) => {
    const root = await db.selectFrom('organisations').select(['id', 'path']).where('parent_id', 'is', null).executeTakeFirst()
    if (!root) throw new UsageError('the database has no organisations yet')
    // The operator's whole tree; no job queue here, so the rollups run right after the import.
    const sdb = new ScopedDb(db, { orgId: root.id, path: root.path })
    const report = await importUsageCsv(sdb, text, { delimiter: values.delimiter === 'pipe' ? '|' : ',', triggerRollup: false })
    for (const e of report.errors) process.stdout.write(`line ${e.line}: ${e.message}\n`)
    const folded = await rollUpUsage(db)
    process.stdout.write(`${report.rows} rows read: ${report.accepted} stored, ${report.duplicates} duplicates, ${report.errors.length} with errors; ${folded} events rolled up\n`)
    if (report.errors.length) throw new UsageError(`${report.errors.length} row(s) were not imported (listed above)`)
  })
}

async function createTokenCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, strict: true, options: { email: { type: 'string' }, name: { type: 'string' }, org: { type: 'string' }, 'expires-in-days': { type: 'string' } } })
  const email = values.email?.trim().toLowerCase()
  if (!email) throw new UsageError('create-token needs --email (the user the token acts as)')
  const name = values.name?.trim()
  if (!name || name.length > 100) throw new UsageError('create-token needs --name (1 to 100 characters)')
  const days = values['expires-in-days']
  if (days !== undefined && (!/^\d{1,3}$/.test(days) || Number(days) < 1 || Number(days) > 365)) throw new UsageError('--expires-in-days must be 1 to 365')
  await withDatabase(async ({ db }) => {
    const user = await db.selectFrom('users as u').innerJoin('organisations as o', 'o.id', 'u.org_id')
      .select(['u.id', 'u.status', 'o.id as org_id', 'o.path', 'o.name as org_name']).where('u.email', '=', email).executeTakeFirst()
    if (!user || user.status !== 'active') throw new UsageError(`no active user with email ${email}`)
    // The same rule as the page: the user must be allowed to make tokens.
    if (!abilityForUser(user.id, await loadGrants(db, user.id)).can('create', 'ApiToken')) throw new UsageError(`${email} may not create API tokens`)
    const ref = values.org?.trim()
    const target = ref
      ? await db.selectFrom('organisations').select(['id', 'name']).where('path', 'like', `${user.path}%`)
        .where((eb) => (/^\d+$/.test(ref) ? eb('id', '=', Number(ref)) : eb('name', '=', ref))).executeTakeFirst()
      : { id: user.org_id, name: user.org_name }
    if (!target) throw new UsageError(`no organisation "${ref}" inside the subtree of ${email}'s organisation`)
    const sdb = new ScopedDb(db, { orgId: user.org_id, path: user.path })
    const { token, secret } = await issueApiToken(sdb, { userId: user.id, orgId: target.id, name, expiresInDays: days === undefined ? undefined : Number(days) })
    process.stdout.write(`created API token "${token.name}" (id ${token.id}) for ${email}, scoped to "${target.name}"${token.expires_at ? `, expires ${token.expires_at.toISOString()}` : ''}\n`)
    process.stdout.write(`token (shown once): ${secret}\n`)
  })
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  switch (command) {
    case 'migrate':
      await withDatabase(async () => { process.stdout.write('database is up to date\n') })
      return
    case 'seed-demo':
      await withDatabase(async ({ db }) => {
        if (!(await isEmpty(db))) throw new UsageError('the database already has organisations; seed-demo only fills an empty one')
        await seedDemo(db)
        process.stdout.write(`demo data seeded; logins (password "${DEMO_PASSWORD}"): ${DEMO_LOGINS.map((l) => l.email).join(', ')}\n`)
      })
      return
    case 'create-admin':
      await createAdmin(rest)
      return
    case 'import-usage':
      await importUsageCommand(rest)
      return
    case 'create-token':
      await createTokenCommand(rest)
      return
    case 'generate':
      await generateCommand(rest)
      return
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE + '\n')
      return
    default:
      throw new UsageError(`unknown command "${command}"\n\n${USAGE}`)
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    const known = error instanceof UsageError || error instanceof SettingsError || error instanceof PluginError || error instanceof MigrationError || error instanceof GenerateError
    const message = known || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? (error as Error).message : `unexpected error: ${(error as Error).message}`
    process.stderr.write(`ledgerlite: ${message}\n`)
    process.exit(1)
  },
)
