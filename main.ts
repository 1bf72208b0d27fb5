/**
 * The composition root: settings + installed plugins -> runtime -> HTTP server.
 * `npm start` runs this file.
 */
import { loadSettings, SettingsError } from './config/settings.ts'
import { PluginError } from './core/plugins/errors.ts'
import { loadInstalledPlugins } from './core/plugins/load.ts'
import { startRuntime } from './core/runtime.ts'
import { exitOnSignals, listen } from './core/server.ts'
import { DEMO_LOGINS, DEMO_PASSWORD } from './core/seed/demo.ts'
import { MigrationError } from './core/db/migrate.ts'
import { builtInPlugins } from './plugins/index.ts'

async function main(): Promise<void> {
  const settings = loadSettings()
  const { installed, enabled } = await loadInstalledPlugins(builtInPlugins, settings.plugins)
  const runtime = await startRuntime({ settings: { ...settings, plugins: enabled }, installed })
  const serving = await listen(runtime, settings.port, settings.host)
  exitOnSignals(serving)
  const lines = [
    '',
    `Ledgerlite is running at ${settings.publicUrl ?? serving.url}`,
    `  database: ${runtime.database.description}`,
    `  plugins:  ${runtime.plugins.map((p) => p.id).join(', ') || 'none'}`,
  ]
  const demoUsers = await runtime.database.db.selectFrom('users').select('email').where('email', 'in', DEMO_LOGINS.map((l) => l.email)).execute()
  if (settings.demoData && demoUsers.length > 0) {
    lines.push(`  demo logins (password "${DEMO_PASSWORD}"):`)
    for (const login of DEMO_LOGINS) lines.push(`    ${login.email.padEnd(20)} ${login.role} (${login.org})`)
  }
  process.stdout.write(lines.join('\n') + '\n\n')
}

main().catch((error: unknown) => {
  if (error instanceof SettingsError || error instanceof PluginError || error instanceof MigrationError) {
    process.stderr.write(`Ledgerlite cannot start: ${error.message}\n`)
  } else if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    process.stderr.write(`Ledgerlite cannot start: the port is already in use (set PORT to another one).\n`)
  } else if ((error as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
    process.stderr.write(`Ledgerlite cannot start: the database refused the connection (check DATABASE_URL and that PostgreSQL is running).\n`)
  } else {
    process.stderr.write(`Ledgerlite cannot start: ${(error as Error).message ?? String(error)}\n`)
  }
  process.exit(1)
})
