/**
 * The deterministic data generator: a whole operator's book (tree, catalog, contracts, months of
 * seasonal and growing usage with a few heavy consumers, rollups, invoices billed month by month,
 * payments, overdue accounts, top-ups and discounts). The same options give the same data: every
 * choice comes from a seeded PRNG ({@link Random}) or, inside SQL, from a seeded hash of the row's
 * own identity.
 *
 * @example
 * const summary = await generate(db, { orgs: 1000, months: 3, seed: 7, today: '2026-01-15' })
 * // or, under an existing tree (the demo seed):
 * await generateBilling(db, operator, { months: 12, seed: 1, eventsPerOrgMonth: 40 })
 */
import { sql, type Kysely } from 'kysely'
import type { Database, OrganisationRow } from '../db/schema.ts'
import { recordAudit } from '../audit/audit.ts'
import { billPeriod, todayUtc } from '../billing/invoices.ts'
import { ScopedDb } from '../tenancy/scoped-db.ts'
import { writeCatalog } from './catalog.ts'
import { addMonths, planCredits, settleInvoices, writeCredits, writeDiscounts } from './ledger.ts'
import { Random } from './random.ts'
import { planSubscriptions, profileCustomers, writeSubscriptions, type Window } from './subscriptions.ts'
import { planTree, writeTree } from './tree.ts'
import { bulkMode, chunkStreams, planStreams, writeUsageChunk } from './usage.ts'

export interface BillingDataOptions {
  readonly months: number
  readonly seed: number
  /** Usage events per customer and month (heavy consumers send twice as many). Default 100. */
  readonly eventsPerOrgMonth?: number
  /** 'YYYY-MM-DD'; default today (UTC). Usage stops at its start; months before its month are billed. */
  readonly today?: string
  /** Bill only the last N closed months (default: all of them). */
  readonly billMonths?: number
  /** Events per SQL statement. */
  readonly chunkEvents?: number
  readonly onProgress?: (line: string) => void
}

export interface GenerateOptions extends BillingDataOptions {
  /** Organisations below the operator. */
  readonly orgs: number
  readonly operatorName?: string
}

export interface GenerateSummary {
  organisations: number
  resellers: number
  customers: number
  heavyConsumers: number
  subscriptions: number
  events: number
  dailyRollups: number
  monthlyRollups: number
  invoices: Record<string, number>
  payments: number
  creditEntries: number
  discounts: number
  /** Seconds per phase, and `total`. */
  seconds: Record<string, number>
}

/** Wrong options or a database that is not empty: the CLI prints the message. */
export class GenerateError extends Error {}

const DAY = /^\d{4}-\d{2}-\d{2}$/

function check(options: BillingDataOptions & { orgs?: number }): void {
  const int = (value: number | undefined, min: number, max: number) => value === undefined || (Number.isSafeInteger(value) && value >= min && value <= max)
  if (!int(options.orgs, 1, 1_000_000)) throw new GenerateError('--orgs must be a whole number from 1 to 1,000,000')
  if (!int(options.months, 1, 120)) throw new GenerateError('--months must be a whole number from 1 to 120')
  if (!int(options.seed, 0, 2_147_483_647)) throw new GenerateError('--seed must be a whole number from 0 to 2147483647')
  if (!int(options.eventsPerOrgMonth, 1, 100_000)) throw new GenerateError('--events-per-org-month must be a whole number from 1 to 100,000')
  if (!int(options.billMonths, 0, 120)) throw new GenerateError('--bill-months must be a whole number from 0 to 120')
  if (options.today !== undefined && (!DAY.test(options.today) || Number.isNaN(Date.parse(`${options.today}T00:00:00Z`)))) throw new GenerateError('--today must be a date like 2026-01-15')
}

/** Generates a complete book into an empty database. */
export async function generate(db: Kysely<Database>, options: GenerateOptions): Promise<GenerateSummary> {
  check(options)
  if (await db.selectFrom('organisations').select('id').limit(1).executeTakeFirst()) {
    throw new GenerateError('the database already has organisations; generate only fills an empty database (create a new one, or point DATA_DIR / DATABASE_URL elsewhere)')
  }
  const progress = options.onProgress ?? (() => {})
  const started = performance.now()
  const planned = planTree(new Random(options.seed).fork('tree'), options.orgs, 'EUR')
  const orgs = await writeTree(db, options.operatorName ?? 'Generated Cloud Operator', 'EUR', planned)
  const treeSeconds = (performance.now() - started) / 1000
  progress(`organisations: ${orgs.length} written in ${treeSeconds.toFixed(1)} s`)
  const summary = await generateBilling(db, orgs[0]!, options)
  summary.seconds = { tree: round(treeSeconds), ...summary.seconds, total: round((performance.now() - started) / 1000) }
  return summary
}

const round = (seconds: number) => Math.round(seconds * 100) / 100

/**
 * Fills billing data under an existing tree rooted at `root` (the operator): its catalog, the
 * customers' subscriptions and usage, invoices for the closed months, settlement, credits and
 * discounts. Runs outside one big transaction on purpose (10M events); start from an empty
 * billing schema.
 */
export async function generateBilling(db: Kysely<Database>, root: OrganisationRow, options: BillingDataOptions): Promise<GenerateSummary> {
  check(options)
  const progress = options.onProgress ?? (() => {})
  const seconds: Record<string, number> = {}
  let mark = performance.now()
  const lap = (phase: string) => {
    const now = performance.now()
    seconds[phase] = round((now - mark) / 1000)
    mark = now
    return seconds[phase]!
  }
  const rng = new Random(options.seed)
  const today = options.today ?? todayUtc()
  const openMonth = `${today.slice(0, 7)}-01`
  const window: Window = { start: addMonths(openMonth, -options.months), openMonth, today }

  const orgs = (await db.selectFrom('organisations').selectAll().where('path', 'like', `${root.path}%`).orderBy('id').execute()) as OrganisationRow[]
  const customers = orgs.filter((o) => o.kind === 'customer')
  const currencies = [...new Set([root.currency, ...orgs.map((o) => o.currency)])].sort()
  const catalog = await writeCatalog(db, root.id, currencies, root.currency)
  progress(`catalog: ${catalog.plans.length} plans in ${currencies.join(', ')} (${lap('catalog')} s)`)

  const profiles = profileCustomers(rng.fork('profiles'), customers)
  const planned = planSubscriptions(rng.fork('subscriptions'), profiles, catalog, window)
  const ids = await writeSubscriptions(db, planned)
  const discounts = await writeDiscounts(db, rng.fork('discounts'), profiles, planned, catalog, window)
  progress(`subscriptions: ${ids.length}, discounts: ${discounts} (${lap('subscriptions')} s)`)

  const streams = planStreams(planned, ids, catalog, window, options.eventsPerOrgMonth ?? 100)
  const expected = streams.reduce((sum, s) => sum + s.count, 0)
  let events = 0
  let daily = 0
  let monthly = 0
  const usageStarted = performance.now()
  const bulk = await bulkMode(db)
  for (const chunk of chunkStreams(streams, options.chunkEvents ?? 200_000)) {
    const written = await writeUsageChunk(db, chunk, options.seed, window, bulk)
    events += written.events
    daily += written.daily
    monthly += written.monthly
    const elapsed = (performance.now() - usageStarted) / 1000
    progress(`usage: ${events.toLocaleString('en')} / ${expected.toLocaleString('en')} events (${Math.round(events / Math.max(elapsed, 0.001)).toLocaleString('en')} events/s)`)
  }
  // A live system's rollup rows lie in the order they arrived, day after day; the chunks above
  // wrote them subscription by subscription. Rewrite them in period order, so a report over a
  // month reads the pages a real database would, not the whole table.
  for (const table of ['usage_daily', 'usage_monthly'] as const) await sql`cluster ${sql.table(table)} using ${sql.ref(`${table}_period`)}`.execute(db)
  // Fresh statistics (billing and every report plan their queries on these tables) and, as
  // autovacuum would, a visibility map, so index-only scans skip the heap.
  for (const table of ['usage_events', 'usage_daily', 'usage_monthly', 'subscriptions', 'organisations', 'services', 'meters', 'plans', 'plan_prices', 'catalog_costs'] as const) await sql`vacuum (analyze) ${sql.table(table)}`.execute(db)
  lap('usage')

  const credits = planCredits(rng.fork('credits'), profiles, window)
  const sdb = new ScopedDb(db, { orgId: root.id, path: root.path })
  const closed: string[] = []
  for (let m = window.start; m < openMonth; m = addMonths(m, 1)) closed.push(m.slice(0, 7))
  const billFrom = closed.length - Math.min(options.billMonths ?? closed.length, closed.length)
  let creditEntries = 0
  for (const [i, period] of closed.entries()) {
    creditEntries += await writeCredits(db, credits, period)
    if (i < billFrom) continue
    // Billed on the first day of the next month, as the monthly job would have.
    const result = await billPeriod(sdb, { period, today: `${addMonths(`${period}-01`, 1)}` })
    progress(`invoices ${period}: ${result.created} created`)
  }
  creditEntries += await writeCredits(db, credits, openMonth.slice(0, 7))
  await settleInvoices(db, options.seed, today)
  lap('invoices')

  for (const table of ['invoices', 'invoice_lines', 'payments', 'credit_entries', 'discounts'] as const) await sql`vacuum (analyze) ${sql.table(table)}`.execute(db)
  const counts = await db.selectFrom('invoices').select(['status', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('status').execute()
  const payments = await db.selectFrom('payments').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  const summary: GenerateSummary = {
    organisations: orgs.length, resellers: orgs.filter((o) => o.kind === 'reseller').length, customers: customers.length,
    heavyConsumers: profiles.filter((p) => p.heavy).length, subscriptions: ids.length, events, dailyRollups: daily, monthlyRollups: monthly,
    invoices: Object.fromEntries(counts.map((c) => [c.status, Number(c.n)])), payments: Number(payments.n), creditEntries, discounts, seconds,
  }
  await sdb.transaction((trx) => recordAudit(trx, {
    orgId: root.id, action: 'generate', subject: 'Organisation', subjectId: root.id,
    summary: `Generated billing data: ${summary.subscriptions} subscriptions, ${summary.events} usage events, ${Object.values(summary.invoices).reduce((a, b) => a + b, 0)} invoices (seed ${options.seed}, ${options.months} months to ${today})`,
    after: { seed: options.seed, months: options.months, today, eventsPerOrgMonth: options.eventsPerOrgMonth ?? 100 },
  }))
  return summary
}
