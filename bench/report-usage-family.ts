/**
 * The usage-family reports (usage.summary, client.usage, resource.usage) through the engine on the
 * generated data set: a month over every organisation as the operator (first page + count +
 * totals + the tab's charts, i.e. what a page shows), and one organisation's month (the busiest)
 * through its own scoped handle and as the operator's pick (`org=`). Median and p95 over repeated runs.
 *
 *   npx tsx bench/report-usage-family.ts [--db ll_bench_10k] [--runs 10] [--now 2026-01-15] [--only client.usage]
 */
import { openDatabase } from '../core/db/database.ts'
import { runReportWithCharts } from '../core/reports/engine.ts'
import type { AnyReport } from '../core/reports/define.ts'
import { queryInput } from '../core/reports/params.ts'
import { parseReportRequest } from '../core/reports/request.ts'
import { ScopedDb } from '../core/tenancy/scoped-db.ts'
import { clientUsageReport } from '../plugins/client/index.tsx'
import { resourceUsageReport } from '../plugins/resource/index.tsx'
import { usageSummaryReport } from '../plugins/usage/index.tsx'
import { databaseUrl, flag, measure } from './support.ts'

const args = process.argv.slice(2)
const name = flag(args, 'db') ?? 'll_bench_10k'
const runs = Number(flag(args, 'runs') ?? 10)
const now = new Date(`${flag(args, 'now') ?? '2026-01-15'}T12:00:00Z`)
const database = await openDatabase({ databaseUrl: databaseUrl(name), poolSize: 4 })
const db = database.db

async function page(report: AnyReport, sdb: ScopedDb, query: string): Promise<number> {
  const request = await parseReportRequest(report, queryInput(new URLSearchParams(query)), { db: sdb, now })
  return (await runReportWithCharts(request)).result.total
}

try {
  const root = await db.selectFrom('organisations').selectAll().where('parent_id', 'is', null).executeTakeFirstOrThrow()
  const operator = new ScopedDb(db, { orgId: root.id, path: root.path })
  const busiest = await db.selectFrom('usage_monthly').select('org_id').where('month', '=', '2025-12-01').groupBy('org_id')
    .orderBy((eb) => eb.fn.sum('event_count'), 'desc').limit(1).executeTakeFirstOrThrow()
  const org = await db.selectFrom('organisations').selectAll().where('id', '=', busiest.org_id).executeTakeFirstOrThrow()
  const own = new ScopedDb(db, { orgId: org.id, path: org.path })
  const only = flag(args, 'only')
  const all: Array<[string, AnyReport, string]> = [
    ['usage.summary', usageSummaryReport, 'period=last_month'],
    ['usage.summary growing', usageSummaryReport, 'period=last_month&tab=growing'],
    ['usage.summary by weekday', usageSummaryReport, 'period=last_month&tab=by-weekday'],
    ['client.usage', clientUsageReport, 'period=last_month'],
    ['client.usage meters', clientUsageReport, 'period=last_month&tab=meters'],
    ['resource.usage', resourceUsageReport, 'period=last_month'],
    ['resource.usage outliers', resourceUsageReport, 'period=last_month&tab=outliers'],
  ]
  const cases = only ? all.filter(([label]) => label.startsWith(only)) : all
  for (const [label, report, query] of cases) await measure(`all organisations, ${label} (${query})`, Math.min(runs, 5), () => page(report, operator, query), 1)
  for (const [label, report, query] of cases) await measure(`one organisation (${org.id}), ${label}`, runs * 3, () => page(report, own, query), 1)
  // The operator picking that organisation (`org=`): the listed-organisation path, charts on the page statement.
  for (const [label, report, query] of cases) await measure(`operator, org=${org.id}, ${label}`, runs * 3, () => page(report, operator, `${query}&org=${org.id}`), 1)
} finally {
  await database.close()
}
