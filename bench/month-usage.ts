/**
 * Reading a month's usage from the rollups: every organisation's month grouped by organisation
 * and meter (what an operator-wide usage report reads), and one organisation's month, both
 * through the operator's / the organisation's ScopedDb as a request would. Median and p95 over
 * repeated runs, rows fetched into Node included.
 *
 *   npx tsx bench/generate.ts --orgs 10000 --months 12 --events 90 --bill-months 1 --keep
 *   npx tsx bench/month-usage.ts [--db ll_bench_gen] [--month 2025-12] [--runs 20] [--drop]
 */
import { cpus, totalmem } from 'node:os'
import { sql } from 'kysely'
import { openDatabase } from '../core/db/database.ts'
import { ScopedDb } from '../core/tenancy/scoped-db.ts'
import { databaseSize, databaseUrl, dropDatabase, flag, serverVersion, measure } from './support.ts'

const args = process.argv.slice(2)
const name = flag(args, 'db') ?? 'll_bench_gen'
const runs = Number(flag(args, 'runs') ?? 20)
const database = await openDatabase({ databaseUrl: databaseUrl(name), poolSize: 2 })
const db = database.db

try {
  const root = await db.selectFrom('organisations').selectAll().where('parent_id', 'is', null).executeTakeFirstOrThrow()
  const months = await db.selectFrom('usage_monthly').select('month').distinct().orderBy('month', 'desc').execute()
  // The last closed month: the newest one is still open.
  const month = flag(args, 'month') ? `${flag(args, 'month')}-01` : (months[1] ?? months[0])!.month
  const counts = await sql<{ events: string; monthly: string; orgs: string }>`select
    (select count(*) from usage_events) as events, (select count(*) from usage_monthly) as monthly, (select count(*) from organisations) as orgs`.execute(db)
  const c = counts.rows[0]!
  process.stdout.write(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB; PostgreSQL ${await serverVersion()}; database ${name} (${await databaseSize(name)})\n`)
  process.stdout.write(`data: ${c.orgs} organisations, ${Number(c.events).toLocaleString('en')} events, ${Number(c.monthly).toLocaleString('en')} monthly rollups; month ${month.slice(0, 7)}\n`)

  const operator = new ScopedDb(db, { orgId: root.id, path: root.path })
  await measure('all organisations, one month, by organisation and meter', runs, async () => {
    const rows = await operator.selectFrom('usage_monthly')
      .select(['usage_monthly.org_id', 'usage_monthly.meter_id', sql<string>`sum(usage_monthly.quantity)`.as('quantity'), sql<string>`sum(usage_monthly.event_count)`.as('events')])
      .where('usage_monthly.month', '=', month)
      .groupBy(['usage_monthly.org_id', 'usage_monthly.meter_id'])
      .execute()
    return rows.length
  })

  const busiest = await db.selectFrom('usage_monthly').select('org_id').where('month', '=', month).groupBy('org_id')
    .orderBy(sql`sum(event_count)`, 'desc').limit(1).executeTakeFirstOrThrow()
  const org = await db.selectFrom('organisations').selectAll().where('id', '=', busiest.org_id).executeTakeFirstOrThrow()
  const one = new ScopedDb(db, { orgId: org.id, path: org.path })
  await measure(`one organisation's month (the busiest, id ${org.id}), by subscription and meter`, runs, async () => {
    const rows = await one.selectFrom('usage_monthly')
      .innerJoin('meters', 'meters.id', 'usage_monthly.meter_id')
      .select(['usage_monthly.subscription_id', 'meters.code', 'meters.unit', 'usage_monthly.quantity', 'usage_monthly.event_count'])
      .where('usage_monthly.month', '=', month)
      .orderBy('usage_monthly.subscription_id').orderBy('meters.code')
      .execute()
    return rows.length
  })
  const daily = await db.selectFrom('usage_daily').select('org_id').where('org_id', '=', org.id).limit(1).executeTakeFirst()
  if (daily) {
    const next = new Date(`${month}T00:00:00Z`)
    next.setUTCMonth(next.getUTCMonth() + 1)
    await measure('one organisation\'s month by day (usage_daily)', runs, async () => {
      const rows = await one.selectFrom('usage_daily')
        .select(['usage_daily.day', 'usage_daily.meter_id', sql<string>`sum(usage_daily.quantity)`.as('quantity')])
        .where('usage_daily.day', '>=', month).where('usage_daily.day', '<', next.toISOString().slice(0, 10))
        .groupBy(['usage_daily.day', 'usage_daily.meter_id'])
        .execute()
      return rows.length
    })
  }
} finally {
  await database.close()
  if (args.includes('--drop')) await dropDatabase(name)
}
