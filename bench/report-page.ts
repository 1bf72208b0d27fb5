/**
 * Report page latency under concurrent load, on the generated 10,000-organisation database: the
 * htmx fragment of the accounts report for one customer's month, as the operator, through the
 * whole app (session, grants, scoped handle, parse, rows + count + totals, chart, JSX), against
 * a bare Hono route doing one primary-key query on the same database, in the same run. The load
 * comes from a worker thread (its own event loop) over keep-alive HTTP on 127.0.0.1.
 *
 * The database is only read, except for one bench user, its role grant and its session, which
 * are created at the start and deleted at the end (a signed-in request needs them).
 *
 * `--clients` takes a list (`1,4,8,16`): each count gets its own bare run and fragment runs, back
 * to back, and a table at the end sums them up (the target: p99 <= 20 ms, >= 15 % of the bare
 * route's throughput). `--no-cold` leaves out the run that draws the chart on every request.
 *
 *   npx tsx bench/report-page.ts [--db ll_bench_10k] [--seconds 10] [--clients 1,4,8,16] [--org <customer id>] [--no-cold]
 */
import { readFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { Worker } from 'node:worker_threads'
import { serve, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import { sql } from 'kysely'
import { createSession } from '../core/auth/sessions.ts'
import { createApp } from '../core/app.tsx'
import { openDatabase } from '../core/db/database.ts'
import { createLogger } from '../core/log.ts'
import { resolvePlugins } from '../core/plugins/registry.ts'
import { clearChartCache } from '../core/reports/chart.ts'
import { clearChartTables } from '../views/reports/Chart.tsx'
import { migrationSets } from '../core/runtime.ts'
import { builtInPlugins } from '../plugins/index.ts'
import { databaseSize, databaseUrl, flag, percentile, serverVersion } from './support.ts'

const args = process.argv.slice(2)
const name = flag(args, 'db') ?? 'll_bench_10k'
const seconds = Number(flag(args, 'seconds') ?? 10)
const clientCounts = (flag(args, 'clients') ?? '16').split(',').map((v) => Number(v.trim()))
if (clientCounts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--clients takes whole numbers, e.g. 1,4,8,16')
const cold = !args.includes('--no-cold')
const database = await openDatabase({ databaseUrl: databaseUrl(name), poolSize: 8 })
const db = database.db
const BENCH_EMAIL = 'bench-report-page@bench.invalid'

interface LoadResult { readonly latencies: number[]; readonly errors: number; readonly statuses: Record<string, number>; readonly seconds: number }

/** Runs `clients` request loops for `seconds` in a worker thread; each loop waits for its answer. */
function load(url: string, headers: Record<string, string>, clients: number, duration: number): Promise<LoadResult> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    const { url, headers, clients, duration } = workerData
    const latencies = []; const statuses = {}; let errors = 0
    const end = performance.now() + duration * 1000
    async function loop() {
      while (performance.now() < end) {
        const started = performance.now()
        try {
          const res = await fetch(url, { headers })
          await res.arrayBuffer()
          statuses[res.status] = (statuses[res.status] || 0) + 1
          if (res.status !== 200) errors++
        } catch { errors++ }
        latencies.push(performance.now() - started)
      }
    }
    const t0 = performance.now()
    Promise.all(Array.from({ length: clients }, loop)).then(() => parentPort.postMessage({ latencies, errors, statuses, seconds: (performance.now() - t0) / 1000 }))
  `
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: { url, headers, clients, duration } })
    worker.once('message', (result: LoadResult) => { void worker.terminate(); resolve(result) })
    worker.once('error', reject)
  })
}

interface RunFigures { readonly rate: number; readonly p50: number; readonly p99: number; readonly cpuMs: number; readonly pgCpuMs: number }

/**
 * CPU time (ms) used so far by each PostgreSQL backend serving the app's pool on this database
 * (`/proc/<pid>/stat`, utime + stime; Linux only, empty elsewhere): the database's share of a
 * request, which req/s on a shared 2-core machine hides.
 */
async function backendCpu(): Promise<Map<number, number>> {
  const pids = await sql<{ pid: number }>`select pid from pg_stat_activity where datname = current_database() and application_name = 'ledgerlite'`.execute(db)
  const out = new Map<number, number>()
  for (const { pid } of pids.rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
      out.set(pid, (Number(fields[11]) + Number(fields[12])) * 10)
    } catch { /* not Linux, or the backend ended */ }
  }
  return out
}

/**
 * Runs the load and measures the server's CPU time per request: the main thread only (the app and
 * the bare route run there; the load runs in the worker), so it holds up on a busy machine where
 * req/s and latencies swing with the neighbours.
 */
async function measured(url: string, headers: Record<string, string>, clients: number, duration: number): Promise<{ result: LoadResult; cpuMs: number; pgCpuMs: number }> {
  const pgBefore = await backendCpu()
  const before = process.threadCpuUsage()
  const result = await load(url, headers, clients, duration)
  const after = process.threadCpuUsage()
  const pgAfter = await backendCpu()
  let pgMs = 0
  for (const [pid, ms] of pgAfter) pgMs += ms - (pgBefore.get(pid) ?? 0)
  const n = Math.max(1, result.latencies.length)
  return { result, cpuMs: (after.user - before.user + after.system - before.system) / 1000 / n, pgCpuMs: pgMs / n }
}

function report(label: string, { result, cpuMs, pgCpuMs }: { result: LoadResult; cpuMs: number; pgCpuMs: number }): RunFigures {
  const sorted = [...result.latencies].sort((a, b) => a - b)
  const rate = sorted.length / result.seconds
  const figures = { rate, p50: percentile(sorted, 50), p99: percentile(sorted, 99), cpuMs, pgCpuMs }
  process.stdout.write(`${label}: ${sorted.length} requests in ${result.seconds.toFixed(1)} s = ${rate.toFixed(0)} req/s; median ${figures.p50.toFixed(2)} ms, p99 ${figures.p99.toFixed(2)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms; server CPU ${cpuMs.toFixed(2)} ms/request, PostgreSQL CPU ${pgCpuMs.toFixed(2)} ms/request; non-200: ${result.errors} ${JSON.stringify(result.statuses)}\n`)
  return figures
}

function listen(fetch: (request: Request) => Response | Promise<Response>): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve({ server, port: info.port }))
  })
}

let userId: number | undefined
const servers: ServerType[] = []
try {
  const root = await db.selectFrom('organisations').select(['id', 'path']).where('parent_id', 'is', null).executeTakeFirstOrThrow()
  const customer = flag(args, 'org') ? Number(flag(args, 'org')) : (await db.selectFrom('usage_daily')
    .innerJoin('organisations', 'organisations.id', 'usage_daily.org_id')
    .where('organisations.kind', '=', 'customer').where('usage_daily.day', '>=', '2025-12-01').where('usage_daily.day', '<=', '2025-12-31')
    .groupBy('usage_daily.org_id').orderBy(sql`count(*)`, 'desc').select('usage_daily.org_id').limit(1).executeTakeFirstOrThrow()).org_id
  const counts = (await sql<{ orgs: string; daily: string }>`select (select count(*) from organisations) as orgs, (select count(*) from usage_daily) as daily`.execute(db)).rows[0]!
  process.stdout.write(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB; PostgreSQL ${await serverVersion()}; database ${name} (${await databaseSize(name)})\n`)
  process.stdout.write(`data: ${counts.orgs} organisations, ${Number(counts.daily).toLocaleString('en')} daily rollup rows; customer ${customer}; ${clientCounts.join(', ')} concurrent clients, ${seconds} s per run\n`)

  // The bench's only writes: a user with the operator's super admin role, and its session.
  await db.deleteFrom('users').where('email', '=', BENCH_EMAIL).execute()
  userId = (await db.insertInto('users').values({ org_id: root.id, email: BENCH_EMAIL, name: 'Bench', password_hash: 'x' }).returning('id').executeTakeFirstOrThrow()).id
  const role = await db.selectFrom('roles').select('id').where('system_key', '=', 'super_admin').executeTakeFirstOrThrow()
  await db.insertInto('user_roles').values({ user_id: userId, role_id: role.id }).execute()
  const token = await createSession(db, userId, { ip: null, userAgent: 'bench' })

  const plugins = resolvePlugins(builtInPlugins)
  const app = createApp({ db, plugins, migrations: migrationSets(plugins), secret: 'bench-secret-bench-secret-bench-secret-00', log: createLogger('silent'), secureCookies: false })
  const bare = new Hono()
  bare.get('/pk/:id', async (c) => c.json(await db.selectFrom('organisations').select(['id', 'name', 'kind']).where('id', '=', Number(c.req.param('id'))).executeTakeFirst()))
  const appServer = await listen(app.fetch)
  const bareServer = await listen(bare.fetch)
  servers.push(appServer.server, bareServer.server)

  const path = `/reports/organisations.accounts?period=custom&from=2025-12-01&to=2025-12-31&org=${customer}`
  // What htmx 4 sends when the filter form swaps the results (it selects parts of the answer, so "full").
  const headers = { cookie: `ll_session=${token}`, 'hx-request': 'true', 'hx-request-type': 'full', 'hx-target': 'div#report-results' }
  const check = await fetch(`http://127.0.0.1:${appServer.port}${path}`, { headers })
  const body = await check.text()
  if (check.status !== 200 || !body.includes('id="report-results"') || !body.includes('<svg role="img"')) throw new Error(`the fragment did not render (${check.status}): ${body.slice(0, 300)}`)
  process.stdout.write(`fragment: ${body.length.toLocaleString('en')} bytes, with the table and the chart\n`)

  const bareUrl = `http://127.0.0.1:${bareServer.port}/pk/${customer}`
  const pageUrl = `http://127.0.0.1:${appServer.port}${path}`
  const rows: string[] = []
  for (const clients of clientCounts) {
    process.stdout.write(`\n${clients} concurrent client${clients === 1 ? '' : 's'}, load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}\n`)
    // Warm-up (JIT, pool, plans), then the bare route and the fragment back to back.
    await load(bareUrl, {}, clients, 2)
    await load(pageUrl, headers, clients, 2)
    const bareRun = report('bare Hono route, one primary-key query', await measured(bareUrl, {}, clients, seconds))
    const pageRun = report('report fragment (htmx), chart drawing cached', await measured(pageUrl, headers, clients, seconds))
    let coldRatio = ''
    if (cold) {
      const interval = setInterval(() => { clearChartCache(); clearChartTables() }, 0)
      const coldRun = report('report fragment (htmx), chart drawn every time', await measured(pageUrl, headers, clients, Math.min(seconds, 5)))
      clearInterval(interval)
      coldRatio = ` (${(100 * coldRun.rate / bareRun.rate).toFixed(1)} % with the chart drawn every time)`
    }
    const ratio = 100 * pageRun.rate / bareRun.rate
    process.stdout.write(`ratio: fragment ${ratio.toFixed(1)} % of the bare route's throughput${coldRatio}\n`)
    const ms = (v: number) => v.toFixed(1)
    const bold = (text: string, met: boolean) => (met ? text : `**${text}**`)
    rows.push(`| ${clients} | ${loadavg()[0]!.toFixed(1)} | ${bareRun.rate.toFixed(0)} req/s, p50 ${ms(bareRun.p50)} ms, p99 ${ms(bareRun.p99)} ms | ${pageRun.rate.toFixed(0)} req/s | ${ms(pageRun.p50)} ms | ${bold(`${ms(pageRun.p99)} ms`, pageRun.p99 <= 20)} | ${bold(`${ratio.toFixed(1)} %`, ratio >= 15)} | ${bareRun.cpuMs.toFixed(2)} / ${pageRun.cpuMs.toFixed(2)} ms | ${bareRun.pgCpuMs.toFixed(2)} / ${pageRun.pgCpuMs.toFixed(2)} ms |`)
  }
  process.stdout.write(`\nsummary (targets: fragment p99 <= 20 ms, >= 15 % of the bare route's req/s; misses in bold)\n`)
  process.stdout.write(`| clients | load avg | bare route | fragment | fragment p50 | fragment p99 | ratio | server CPU per request, bare / fragment | PostgreSQL CPU per request, bare / fragment |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n${rows.join('\n')}\n`)
} finally {
  for (const server of servers) server.close()
  if (userId !== undefined) {
    await db.deleteFrom('sessions').where('user_id', '=', userId).execute()
    await db.deleteFrom('user_roles').where('user_id', '=', userId).execute()
    await db.deleteFrom('users').where('id', '=', userId).execute()
  }
  await database.close()
}
