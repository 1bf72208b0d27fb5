/**
 * Generator speed: organisations/s and events/s for `generate` on a scratch database.
 *
 *   npx tsx bench/generate.ts [--orgs 1000] [--months 3] [--events 100] [--seed 1] [--today 2026-01-15]
 *                             [--bill-months K] [--db ll_bench_gen | --pglite] [--keep]
 *
 * PostgreSQL (the default) uses BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 * to create the database `--db`, and drops it afterwards unless `--keep` (then bench/month-usage.ts
 * can read it). `--pglite` runs in an in-memory PGlite instead.
 */
import { cpus, totalmem } from 'node:os'
import { generate } from '../core/seed/generate.ts'
import { databaseSize, dropDatabase, flag, openMigrated, recreateDatabase, serverVersion } from './support.ts'

const args = process.argv.slice(2)
const num = (name: string, fallback: number) => Number(flag(args, name) ?? fallback)
const orgs = num('orgs', 1000)
const months = num('months', 3)
const eventsPerOrgMonth = num('events', 100)
const seed = num('seed', 1)
const today = flag(args, 'today') ?? '2026-01-15'
const billMonths = flag(args, 'bill-months')
const pglite = args.includes('--pglite')
const name = pglite ? undefined : flag(args, 'db') ?? 'll_bench_gen'
const keep = args.includes('--keep')

const backend = pglite ? 'PGlite (in memory)' : `PostgreSQL ${await serverVersion()}`
process.stdout.write(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB; ${backend}\n`)
process.stdout.write(`generate --orgs ${orgs} --months ${months} --events-per-org-month ${eventsPerOrgMonth} --seed ${seed} --today ${today}${billMonths ? ` --bill-months ${billMonths}` : ''}\n`)
if (name) await recreateDatabase(name)
const database = await openMigrated(name)
try {
  const summary = await generate(database.db, {
    orgs, months, seed, eventsPerOrgMonth, today, ...(billMonths ? { billMonths: Number(billMonths) } : {}),
    onProgress: (line) => process.stdout.write(`  ${line}\n`),
  })
  const s = summary.seconds
  const invoices = Object.values(summary.invoices).reduce((a, b) => a + b, 0)
  process.stdout.write(`\nresult: ${summary.organisations} organisations, ${summary.subscriptions} subscriptions, ${summary.events} events, `
    + `${summary.dailyRollups} daily / ${summary.monthlyRollups} monthly rollups, ${invoices} invoices ${JSON.stringify(summary.invoices)}\n`)
  process.stdout.write(`seconds: ${JSON.stringify(s)}\n`)
  process.stdout.write(`rates: ${Math.round(summary.organisations / (s.total ?? 1))} orgs/s overall, `
    + `${Math.round(summary.events / (s.usage ?? 1)).toLocaleString('en')} events/s (events + rollups), `
    + `${Math.round(invoices / Math.max(s.invoices ?? 1, 0.001))} invoices/s (billing + settlement)\n`)
  process.stdout.write(`peak RSS: ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB${name ? `; database size ${await databaseSize(name)}` : ''}\n`)
} finally {
  await database.close()
  if (name && !keep) await dropDatabase(name)
  else if (name) process.stdout.write(`kept database ${name}; drop it with: dropdb -h 127.0.0.1 -U postgres ${name}\n`)
}
