/**
 * Export throughput and memory on the generated 10,000-organisation database (read only): a
 * million rows through a real report definition, written as CSV (the COPY fast path and the JS
 * cursor path), XLSX and XML into a sink that only counts bytes, against PostgreSQL's own
 * `COPY (the same ordered query) TO STDOUT` in the same run.
 *
 * The report is defined here: every organisation times `--repeat` rows (10,001 x 100 = 1,000,100),
 * one column of each type (integer, link, negative money in EUR/JPY/KWD, its currency, quantity,
 * percent, date, text), sorted by name as a person would. A generated series rather than a table:
 * nothing to create or drop, and the rows are as wide as a usage report's.
 *
 * Each phase runs in its own child process, so its peak RSS is its own: the kernel's high-water
 * mark (`VmHWM`, reset when the phase starts) on Linux, else `process.memoryUsage.rss()` sampled
 * every 50 ms. The RSS at the start (Node, tsx, the export's modules, two connections) is shown
 * apart, and so is what the export added on top of it. A child imports only what an export needs
 * (not bench/support.ts, which brings every plugin): the `modules` line measures, in a child of
 * its own, a bare process, one with the export's modules and one with the whole app's.
 *
 *   npx tsx bench/export.ts [--db ll_bench_10k] [--repeat 100] [--phases copy,copy-formatted,csv-copy,csv-js,xlsx,xml] [--runs 1] [--default-gc]
 */
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import postgres from 'postgres'
import { openDatabase } from '../core/db/database.ts'
import { inlineParameters } from '../core/exports/pg-copy.ts'
import { orderedRows } from '../core/reports/engine.ts'
import { defineReport } from '../core/reports/define.ts'
import { copyStatement, writeReport } from '../core/reports/export.ts'
import { orgScopeParam, queryInput, textParam } from '../core/reports/params.ts'
import { parseReportRequest, type ReportRequest } from '../core/reports/request.ts'
import { ScopedDb } from '../core/tenancy/scoped-db.ts'

const PHASES = ['copy', 'copy-formatted', 'csv-copy', 'csv-js', 'xlsx', 'xml'] as const
type Phase = (typeof PHASES)[number]

interface PhaseResult {
  readonly phase: Phase
  readonly rows: number
  readonly bytes: number
  readonly seconds: number
  /** RSS when the phase started (the process with everything imported and connected). */
  readonly startRss: number
  readonly peakRss: number
  readonly copied?: boolean
}

/** What the export's own modules and the whole app's add to a process (the `modules` child). */
interface ModulesResult {
  readonly bare: number
  readonly exportModules: number
  readonly appModules: number
}

const args = process.argv.slice(2)
function flag(name: string): string | undefined {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const name = flag('db') ?? 'll_bench_10k'
const repeat = Number(flag('repeat') ?? 100)

const benchReport = defineReport({
  id: 'bench.export',
  title: 'Export bench',
  description: 'Every organisation, repeated',
  category: 'Bench',
  subject: 'Organisation',
  params: { orgs: orgScopeParam(), repeat: textParam({ label: 'Rows per organisation' }) },
  columns: [
    { key: 'id', label: 'Id', type: 'integer' },
    { key: 'name', label: 'Name', type: 'link', href: (row: any) => `/organisations/${row.id}` },
    { key: 'amount', label: 'Amount', type: 'money', currency: 'currency' },
    { key: 'currency', label: 'Currency', type: 'text' },
    { key: 'gb', label: 'Storage', type: 'quantity', unit: { fixed: 'GB' } },
    { key: 'share', label: 'Share', type: 'percent' },
    { key: 'day', label: 'Day', type: 'date' },
    { key: 'kind', label: 'Kind', type: 'text' },
  ],
  defaultSort: 'name',
  rowKey: ['id'],
  query: ({ db, params, orgIds }) => db.organisations()
    .crossJoin(sql<{ g: number }>`generate_series(1, ${Number(params.repeat ?? 1)})`.as('g'))
    .where('organisations.id', 'in', orgIds)
    .select([
      sql<number>`organisations.id::int8 * 1000 + g.g`.as('id'),
      'organisations.name',
      sql<string>`(-1 * (organisations.id * 7919 + g.g * 104729) % 10000000)::int8`.as('amount'),
      sql<string>`(array['EUR', 'JPY', 'KWD'])[(organisations.id + g.g) % 3 + 1]`.as('currency'),
      sql<string>`round((organisations.id * g.g)::numeric / 1024, 6)`.as('gb'),
      sql<string>`round((g.g)::numeric / 3, 2)`.as('share'),
      sql<string>`(date '2025-01-01' + (g.g % 365))::text`.as('day'),
      'organisations.kind',
    ]),
})

/**
 * The kernel's peak RSS of this process since the last {@link resetHighWaterMark} (Linux), or
 * undefined elsewhere.
 */
function highWaterMark(): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
    return match ? Number(match[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

/** Starts the peak RSS over from the current RSS (Linux: `5` to `clear_refs`), so start-up does not count. */
function resetHighWaterMark(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5')
    return true
  } catch {
    return false
  }
}

/** One phase, in this (child) process; prints its result as a JSON line. */
async function runPhase(phase: Phase, url: string): Promise<void> {
  const database = await openDatabase({ databaseUrl: url, poolSize: 2 })
  let sampler: NodeJS.Timeout | undefined
  try {
    const root = await database.db.selectFrom('organisations').select(['id', 'path']).where('parent_id', 'is', null).executeTakeFirstOrThrow()
    const request = await parseReportRequest(benchReport, queryInput(new URLSearchParams(`repeat=${repeat}`)), { db: new ScopedDb(database.db, { orgId: root.id, path: root.path }), forExport: true })
    let bytes = 0
    const sink = async (chunk: Uint8Array) => { bytes += chunk.byteLength }
    global.gc?.()
    const startRss = process.memoryUsage.rss()
    let sampled = startRss
    sampler = setInterval(() => { sampled = Math.max(sampled, process.memoryUsage.rss()) }, 50)
    const kernelPeak = resetHighWaterMark()
    const started = performance.now()
    let rows = 0
    let copied: boolean | undefined
    if (phase === 'copy' || phase === 'copy-formatted') {
      bytes = await rawCopy(url, copySql(request, phase))
    } else {
      const format = phase === 'csv-copy' || phase === 'csv-js' ? 'csv' : phase
      const result = await writeReport(request, format, sink, { fastPath: phase !== 'csv-js' })
      rows = result.rows
      copied = result.copied
    }
    const seconds = (performance.now() - started) / 1000
    clearInterval(sampler)
    sampled = Math.max(sampled, process.memoryUsage.rss())
    const result: PhaseResult = { phase, rows, bytes, seconds, startRss, peakRss: (kernelPeak ? highWaterMark() : undefined) ?? sampled, ...(copied === undefined ? {} : { copied }) }
    process.stdout.write(`${JSON.stringify(result)}\n`)
  } finally {
    clearInterval(sampler)
    await database.close()
  }
}

/** The baseline statements: the report's ordered query as it is, or formatted as the fast path formats it. */
function copySql(request: ReportRequest, phase: 'copy' | 'copy-formatted'): string {
  if (phase === 'copy-formatted') return copyStatement(request, ',')!.sql
  const compiled = orderedRows(request).compile()
  return `copy (${inlineParameters(compiled.sql, compiled.parameters)!}) to stdout with (format csv)`
}

/** PostgreSQL's own COPY, read by a bare postgres.js client; returns the bytes. */
async function rawCopy(url: string, text: string): Promise<number> {
  const client = postgres(url, { max: 1, onnotice: () => {} })
  try {
    let bytes = 0
    for await (const chunk of await client.unsafe(text).readable()) bytes += (chunk as Buffer).byteLength
    return bytes
  } finally {
    await client.end()
  }
}

/**
 * RSS after a full GC: of this process when it started (before its static imports ran: the
 * `--bare` figure is taken by a preloaded one-liner), with the export's modules (imported
 * statically by this file), and with the whole app's modules on top.
 */
async function measureModules(bare: number): Promise<void> {
  const settled = () => { global.gc?.(); return process.memoryUsage.rss() }
  const exportModules = settled()
  await import('../core/app.tsx')
  await import('../plugins/index.ts')
  const result: ModulesResult = { bare, exportModules, appModules: settled() }
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

/**
 * The V8 flags the server runs with (`npm start`, the Docker image): each phase's process gets them,
 * so its memory is the server's. `--default-gc` leaves them out (V8's own young-generation sizing).
 */
const SERVER_FLAGS = args.includes('--default-gc') ? [] : ['--max-semi-space-size=8']

function child<T>(phase: Phase | 'modules', url: string): Promise<T> {
  const script = fileURLToPath(import.meta.url)
  // The bare figure is read before tsx and the static imports load (a preload runs first).
  const preload = ['--import', `data:text/javascript,${encodeURIComponent('globalThis.gc?.(); process.env.BENCH_BARE_RSS = String(process.memoryUsage.rss())')}`]
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', ...SERVER_FLAGS, ...preload, ...process.execArgv, script, ...args, '--phase', phase, '--url', url], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    proc.stdout.on('data', (data: Buffer) => { out += data.toString() })
    proc.once('error', reject)
    proc.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? ''
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`phase ${phase} exited with ${code}: ${out.slice(-500)}`))
      else resolve(JSON.parse(line) as T)
    })
  })
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`

async function main(): Promise<void> {
  const only = flag('phase') as Phase | 'modules' | undefined
  if (only === 'modules') return measureModules(Number(process.env.BENCH_BARE_RSS))
  if (only) return runPhase(only, flag('url')!)
  const { databaseSize, databaseUrl, percentile, serverVersion } = await import('./support.ts')
  const url = databaseUrl(name)
  const phases = (flag('phases') ?? PHASES.join(',')).split(',') as Phase[]
  for (const phase of phases) if (!PHASES.includes(phase)) throw new Error(`unknown phase ${phase}; use ${PHASES.join(',')}`)
  const runs = Number(flag('runs') ?? 1)
  const database = await openDatabase({ databaseUrl: url, poolSize: 1 })
  const rows = Number((await sql<{ n: string }>`select count(*) * ${repeat} as n from organisations`.execute(database.db)).rows[0]!.n)
  await database.close()
  process.stdout.write(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; PostgreSQL ${await serverVersion()}; database ${name} (${await databaseSize(name)})\n`)
  process.stdout.write(`report: every organisation x ${repeat} = ${rows.toLocaleString('en')} rows, 8 columns, sorted by name; ${runs} run(s) per phase, each in its own process; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`)
  const results = new Map<Phase, PhaseResult[]>()
  // Phases interleaved run by run, so a change in the machine's load hits them all alike.
  for (let run = 0; run < runs; run++) {
    for (const phase of phases) {
      const result = await child<PhaseResult>(phase, url)
      if (result.rows && result.rows !== rows) throw new Error(`${phase}: ${result.rows} rows, expected ${rows}`)
      results.set(phase, [...(results.get(phase) ?? []), result])
    }
  }
  const median = (phase: Phase) => {
    const list = results.get(phase)
    if (!list) return undefined
    const seconds = percentile(list.map((r) => r.seconds).sort((a, b) => a - b), 50)
    return { ...list[0]!, seconds, startRss: Math.max(...list.map((r) => r.startRss)), peakRss: Math.max(...list.map((r) => r.peakRss)) }
  }
  const baseline = median('copy')
  process.stdout.write('\n| phase | rows/s | seconds | output | RSS at start | peak RSS | added | vs COPY |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n')
  for (const phase of new Set(phases)) {
    const r = median(phase)!
    const rate = rows / r.seconds
    const ratio = baseline ? `${(100 * baseline.seconds / r.seconds).toFixed(0)} %` : ''
    const note = r.copied === undefined ? '' : r.copied ? ' (COPY)' : ' (JS)'
    // The largest peak-minus-start of the runs: what the export itself held at most.
    const added = Math.max(...results.get(phase)!.map((x) => x.peakRss - x.startRss))
    process.stdout.write(`| ${phase}${note} | ${Math.round(rate).toLocaleString('en')} | ${r.seconds.toFixed(2)} | ${mb(r.bytes)} | ${mb(r.startRss)} | ${mb(r.peakRss)} | ${mb(added)} | ${ratio} |\n`)
  }
  const modules = await child<ModulesResult>('modules', url)
  process.stdout.write(`\nRSS after a full GC, Node ${process.version} under tsx: bare ${mb(modules.bare)}; with the export's modules ${mb(modules.exportModules)}; with the whole app's modules ${mb(modules.appModules)}\n`)
  const fast = median('csv-copy')
  const js = median('csv-js')
  if (fast && js && fast.bytes !== js.bytes) throw new Error(`the two CSV paths wrote different sizes: ${fast.bytes} and ${js.bytes} bytes`)
  process.stdout.write(`\nload average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`)
}

await main()
