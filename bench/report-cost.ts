/**
 * The cost & expense report on the generated data (read only): a month over all organisations as
 * the operator (first page + count + totals, as a page shows it, in both tabs; a full stream, as an
 * export reads it) and one organisation's month (p95), through the engine and the scoped handle.
 *
 *   npx tsx bench/report-cost.ts [--db ll_bench_10k] [--month 2025-12] [--runs 20] [--now 2026-01-15]
 */
import { cpus, totalmem } from 'node:os'
import { openDatabase } from '../core/db/database.ts'
import { runReport, streamReport } from '../core/reports/engine.ts'
import { queryInput } from '../core/reports/params.ts'
import { parseReportRequest } from '../core/reports/request.ts'
import { ScopedDb } from '../core/tenancy/scoped-db.ts'
import { costReport } from '../plugins/cost/cost-report.ts'
import { databaseSize, databaseUrl, flag, serverVersion, measure, monthQuery } from './support.ts'

const args = process.argv.slice(2)
const name = flag(args, 'db') ?? 'll_bench_10k'
const runs = Number(flag(args, 'runs') ?? 20)
const month = flag(args, 'month') ?? '2025-12'
const now = new Date(`${flag(args, 'now') ?? '2026-01-15'}T12:00:00Z`)
const database = await openDatabase({ databaseUrl: databaseUrl(name), poolSize: 4 })
const db = database.db

try {
  const root = await db.selectFrom('organisations').selectAll().where('parent_id', 'is', null).executeTakeFirstOrThrow()
  const counts = await db.selectFrom('usage_monthly').select((eb) => eb.fn.countAll<string>().as('n')).where('month', '=', `${month}-01`).executeTakeFirstOrThrow()
  process.stdout.write(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB; PostgreSQL ${await serverVersion()}; database ${name} (${await databaseSize(name)})\n`)
  process.stdout.write(`data: ${counts.n} monthly rollups in ${month}; report read at ${now.toISOString()}\n`)
  const operator = new ScopedDb(db, { orgId: root.id, path: root.path })
  const request = (sdb: ScopedDb, query: string) => parseReportRequest(costReport, queryInput(new URLSearchParams(query)), { db: sdb, now })

  await measure('all organisations, one month: first page + count + totals', runs, async () => (await runReport(await request(operator, monthQuery(month)))).total)
  await measure('all organisations, one month, by service: first page + count + totals', runs, async () => (await runReport(await request(operator, monthQuery(month, '&tab=by-service')))).total)
  await measure('all organisations, one month, sorted by margin %', runs, async () => (await runReport(await request(operator, monthQuery(month, '&sort=margin_pct')))).total)
  await measure('all organisations, one month: full stream (export read)', runs, async () => {
    let rows = 0
    for await (const batch of streamReport(await request(operator, monthQuery(month)))) rows += batch.length
    return rows
  })

  const one = await db.selectFrom('invoices').innerJoin('organisations', 'organisations.id', 'invoices.org_id')
    .select(['organisations.id', 'organisations.path']).where('invoices.period', '=', `${month}-01`).orderBy('invoices.total_minor', 'desc').limit(1).executeTakeFirstOrThrow()
  const customer = new ScopedDb(db, { orgId: one.id, path: one.path })
  const reseller = await db.selectFrom('organisations').select(['id', 'path']).where('id', '=', Number(one.path.split('/').filter(Boolean).at(-2))).executeTakeFirstOrThrow()
  const book = new ScopedDb(db, { orgId: reseller.id, path: reseller.path })
  await measure(`a reseller's book (id ${reseller.id}), one month`, runs, async () => (await runReport(await request(book, monthQuery(month)))).total)
  void customer
  await measure(`one organisation's month (id ${one.id}, as the operator with org=)`, runs, async () => (await runReport(await request(operator, monthQuery(month, `&org=${one.id}`)))).total)
} finally {
  await database.close()
}
