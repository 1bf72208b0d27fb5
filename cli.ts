/**
 * The command line: `npm run ledgerlite -- <command>`.
 *
 *   migrate                                   apply pending core and plugin migrations
 *   seed-demo                                 load the demo organisations and logins (empty database only)
 *   create-admin --email E --org ORG [--name N]
 *       create an administrator in organisation ORG (an id or an exact name); on an empty database
 *       ORG becomes the operator. The password comes from LEDGERLITE_ADMIN_PASSWORD, or one is
 *       generated and printed once.
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
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
import { createOperator } from './core/tenancy/organisations.ts'

const USAGE = `Usage: npm run ledgerlite -- <command>

Commands:
  migrate                                       apply pending migrations
  seed-demo                                     seed demo organisations and logins into an empty database
  create-admin --email EMAIL --org ORG [--name NAME]
                                                create an administrator (ORG: id or exact name;
                                                on an empty database ORG becomes the operator)`

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
    const known = error instanceof UsageError || error instanceof SettingsError || error instanceof PluginError || error instanceof MigrationError
    const message = known || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? (error as Error).message : `unexpected error: ${(error as Error).message}`
    process.stderr.write(`ledgerlite: ${message}\n`)
    process.exit(1)
  },
)
