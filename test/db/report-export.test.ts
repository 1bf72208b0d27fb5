/**
 * Report exports against a real database: CSV (the JS writer, and on PostgreSQL the COPY fast
 * path), XLSX and XML read back equal the engine's rows for the same request, with money in major
 * units, formula payloads neutralised, negative numbers kept as numbers, a reseller's export
 * limited to its subtree, and cancelling mid-export leaving the database usable.
 */
import ExcelJS from 'exceljs'
import { parse } from 'csv-parse/sync'
import { sql } from 'kysely'
import { SaxesParser } from 'saxes'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { toMajor } from '../../core/billing/money.ts'
import { copyPoolOf, openDatabase } from '../../core/db/database.ts'
import { copyChunks } from '../../core/exports/pg-copy.ts'
import { xmlSafe } from '../../core/exports/xml.ts'
import { defineReport, type ColumnDefinition } from '../../core/reports/define.ts'
import { runReport } from '../../core/reports/engine.ts'
import { copyStatement, exportStream, writeReport, type WriteOptions } from '../../core/reports/export.ts'
import { orgScopeParam, periodParam, queryInput, textParam } from '../../core/reports/params.ts'
import { parseReportRequest, requestTimeZone, type ReportRequest } from '../../core/reports/request.ts'
import { formatCell } from '../../views/reports/DataTable.tsx'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { insertOrganisation } from '../../core/tenancy/organisations.ts'
import { dbLabel, onPostgres, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'
import { withDatabase } from '../support/template.ts'

const test = suite(`report export (${dbLabel})`)
let rt: TestRuntime
let tree: Tree

const PAYLOADS = ['=HYPERLINK("http://x")', '+1', '-2', '@SUM(A1)', '\tx', 'a,b|c "q"\nnext line', 'Ünïcødé ]]> & <x/>', 'bell\u0007here']

/** A report with every column type; money alternates EUR, JPY and KWD and is negative. */
const sampleReport = defineReport({
  id: 'test.sample',
  title: 'Sample',
  description: 'Every column type',
  category: 'Test',
  subject: 'Organisation',
  params: { orgs: orgScopeParam(), q: textParam({ label: 'Name contains' }), repeat: textParam({ label: 'Rows per organisation' }) },
  columns: [
    { key: 'id', label: 'Id', type: 'integer', hiddenInTable: true },
    { key: 'name', label: 'Name', type: 'link', href: (row: any) => `/organisations/${row.id}` },
    { key: 'amount', label: 'Amount', type: 'money', currency: 'currency', total: true },
    { key: 'currency', label: 'Currency', type: 'text' },
    { key: 'gb', label: 'Storage', type: 'quantity', unit: { fixed: 'GB' }, total: true },
    { key: 'share', label: 'Share', type: 'percent' },
    { key: 'created', label: 'Created', type: 'date' },
    { key: 'parent', label: 'Parent', type: 'text' },
  ],
  defaultSort: 'name',
  rowKey: ['id'],
  totalsBy: ['currency'],
  query: ({ db, params, orgIds }) => db.organisations()
    .leftJoin('organisations as p', 'p.id', 'organisations.parent_id')
    .crossJoin(sql<{ g: number }>`generate_series(1, ${Number(params.repeat ?? 1)})`.as('g'))
    .where('organisations.id', 'in', orgIds)
    .$if(params.q !== undefined, (qb) => qb.where(sql<boolean>`strpos(organisations.name, ${params.q}) > 0`))
    .select([
      sql<number>`organisations.id * 1000000 + g.g`.as('id'),
      'organisations.name',
      sql<string>`(-125 * organisations.id - g.g)::bigint`.as('amount'),
      sql<string>`(array['EUR', 'JPY', 'KWD'])[organisations.id % 3 + 1]`.as('currency'),
      sql<string>`organisations.id::numeric / 8`.as('gb'),
      sql<string>`12.5::numeric`.as('share'),
      sql<string>`date '2026-01-01' + organisations.id`.as('created'),
      'p.name as parent',
    ]),
})

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  for (const name of PAYLOADS) await insertOrganisation(rt.database.db, tree.alpha, { kind: 'customer', name })
  await insertOrganisation(rt.database.db, tree.beta, { kind: 'customer', name: 'Beta secret & co' })
})
test.after(async () => { await rt?.dispose() })

const scoped = (org: keyof Tree) => new ScopedDb(rt.database.db, { orgId: tree[org].id, path: tree[org].path })
const request = (org: keyof Tree, query = '') => parseReportRequest(sampleReport, queryInput(new URLSearchParams(query)), { db: scoped(org), forExport: true })

async function exportBytes(req: ReportRequest, format: 'csv' | 'xlsx' | 'xml', options: WriteOptions = {}): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  const result = await writeReport(req, format, async (chunk) => { chunks.push(chunk) }, options)
  const bytes = Buffer.concat(chunks)
  assert.is(result.bytes, bytes.length)
  // Whenever the fast path applies (PostgreSQL, several columns), COPY is what wrote the file.
  assert.is(result.copied, format !== 'xml' && options.fastPath !== false && onPostgres && req.columns.length > 1, 'copied')
  return bytes
}

const FORMULA = /^[=+\-@\t\r]/
const NUMERIC = new Set(['money', 'quantity', 'percent', 'integer'])

/** What a cell must read back as, computed from the JSON row independently of the export code. */
function expectedText(column: ColumnDefinition, row: Record<string, unknown>, neutralise: boolean): string {
  const value = row[column.key]
  if (value === null || value === undefined) return ''
  if (column.type === 'money') return toMajor(String(value), String(row[column.currency!]))
  const text = String(value)
  return neutralise && !NUMERIC.has(column.type) && FORMULA.test(text) ? `'${text}` : text
}

async function jsonRows(req: ReportRequest) {
  const all = await parseReportRequest(sampleReport, queryInput(new URLSearchParams(`${req.query}&pageSize=500`.replace(/^&/, ''))), { db: req.context.db })
  return (await runReport(all)).rows
}

test('CSV parses back to the JSON rows, money in major units, formulas neutralised', async () => {
  const req = await request('operator')
  const rows = await jsonRows(req)
  assert.ok(rows.length >= 15)
  const expected = rows.map((row) => req.columns.map((c) => expectedText(c, row, true)))
  const paths: Array<[string, WriteOptions]> = [['js', { fastPath: false }]]
  if (onPostgres) paths.push(['copy', {}])
  assert.is(copyStatement(req, ',') !== undefined, onPostgres, 'COPY is used on PostgreSQL only')
  for (const [label, options] of paths) {
    const text = (await exportBytes(req, 'csv', options)).toString('utf8')
    const records: string[][] = parse(text, { relax_column_count: false })
    assert.equal(records[0], ['Id', 'Name', 'Amount (in Currency)', 'Currency', 'Storage (GB)', 'Share (%)', 'Created', 'Parent'], label)
    assert.equal(records.slice(1), expected, label)
    // Negative amounts are bare numbers, never quoted or neutralised.
    assert.match(text, /,-125\.00\d*,|,-\d+(\.\d+)?,(EUR|JPY|KWD),/, label)
    for (const payload of ['=HYPERLINK', '+1', '-2', '@SUM(A1)']) assert.ok(records.some((r) => r[1] === `'${payload}` || r[1]!.startsWith(`'${payload}`)), `${label}: ${payload}`)
    assert.not.ok(records.some((r) => r[1]!.startsWith('=') || r[1]!.startsWith('@')), label)
  }
})

test('pipe delimiter and BOM; the COPY path and the JS writer give the same values', async () => {
  const req = await request('alpha', 'delimiter=pipe&bom=1')
  const js = (await exportBytes(req, 'csv', { fastPath: false })).toString('utf8')
  assert.ok(js.startsWith('\uFEFFId|Name|'), js.slice(0, 30))
  const records = parse(js.slice(1), { delimiter: '|' }) as string[][]
  assert.ok(records.some((r) => r[1] === 'a,b|c "q"\nnext line'))
  assert.ok(js.includes('"a,b|c ""q""\nnext line"'))
  if (onPostgres) {
    const copy = (await exportBytes(req, 'csv')).toString('utf8')
    assert.ok(copy.startsWith('\uFEFFId|Name|'))
    assert.equal(parse(copy.slice(1), { delimiter: '|' }), records)
  }
})

test("a reseller's export never contains another subtree's rows", async () => {
  for (const format of ['csv', 'xlsx', 'xml'] as const) {
    const req = await request('alpha')
    const bytes = await exportBytes(req, format)
    const text = format === 'xlsx' ? JSON.stringify(await xlsxRows(bytes)) : bytes.toString('utf8')
    assert.not.ok(text.includes('Beta'), format)
    assert.ok(text.includes('Alpha Customer'), format)
  }
})

async function xlsxRows(bytes: Buffer): Promise<unknown[][]> {
  const workbook = new ExcelJS.Workbook()
  await workbook.xlsx.load(bytes as unknown as ArrayBuffer)
  const out: unknown[][] = []
  workbook.worksheets[0]!.eachRow((row) => { out.push((row.values as unknown[]).slice(1)) })
  return out
}

test('XLSX reads back equal: numbers as number cells, text neutralised and XML-safe', async () => {
  const req = await request('operator')
  const rows = await jsonRows(req)
  const sheet = await xlsxRows(await exportBytes(req, 'xlsx'))
  assert.equal(sheet[0], req.columns.map((c) => (c.key === 'amount' ? 'Amount (in Currency)' : c.key === 'gb' ? 'Storage (GB)' : c.key === 'share' ? 'Share (%)' : c.label)))
  const expected = rows.map((row) => req.columns.map((c) => {
    const text = expectedText(c, row, true)
    if (NUMERIC.has(c.type)) return Number(text)
    return text === '' ? undefined : xmlSafe(text)
  }))
  const actual = sheet.slice(1).map((r) => req.columns.map((_, i) => r[i]))
  assert.equal(actual, expected)
  assert.ok(actual.some((r) => typeof r[2] === 'number' && (r[2] as number) < 0), 'negative amounts are numbers')
})

function parseXml(text: string) {
  const rows: Record<string, string>[] = []
  const totals: Record<string, string>[] = []
  let current: Record<string, string> | undefined
  let field: string | undefined
  let root: Record<string, string> = {}
  const parser = new SaxesParser()
  parser.on('error', (error) => { throw error })
  parser.on('opentag', (tag) => {
    if (tag.name === 'report') root = tag.attributes as Record<string, string>
    else if (tag.name === 'row' || tag.name === 'total') { current = {}; (tag.name === 'row' ? rows : totals).push(current) }
    else if (current) { field = tag.name; current[field] = '' }
  })
  parser.on('text', (t) => { if (current && field) current[field] += t })
  parser.on('closetag', (tag) => { if (tag.name === 'row' || tag.name === 'total') current = undefined; field = undefined })
  parser.write(text).close()
  return { root, rows, totals }
}

test('XML is well-formed with hostile names and holds the same values and totals', async () => {
  const req = await request('operator', `name=${encodeURIComponent('Q1 "all" <export> & more')}`)
  const rows = await jsonRows(req)
  const xml = parseXml((await exportBytes(req, 'xml')).toString('utf8'))
  assert.is(xml.root.id, 'test.sample')
  assert.is(xml.root.name, 'Q1 "all" <export> & more')
  const expected = rows.map((row) => Object.fromEntries(req.columns.map((c) => [c.key, xmlSafe(expectedText(c, row, false))])))
  assert.equal(xml.rows, expected)
  assert.ok(xml.rows.some((r) => r.name === 'Ünïcødé ]]> & <x/>'))
  assert.ok(xml.rows.some((r) => r.name === 'bell\ufffdhere'))
  assert.is(xml.totals.length, 3)
  const eur = xml.totals.find((t) => t.currency === 'EUR')!
  const sum = rows.filter((r) => r.currency === 'EUR').reduce((n, r) => n + BigInt(String(r.amount)), 0n)
  assert.is(eur.amount, toMajor(sum, 'EUR'))
})

test('progress is reported per batch; aborting mid-export rejects and leaves the database usable', async () => {
  for (const fastPath of onPostgres ? [true, false] : [false]) {
    for (const format of ['csv', 'xlsx', 'xml'] as const) {
      const req = await request('operator', 'repeat=4000')
      const controller = new AbortController()
      const seen: number[] = []
      try {
        await writeReport(req, format, async () => {}, {
          signal: controller.signal, batchSize: 500, fastPath,
          onProgress: ({ rows }) => { seen.push(rows); if (rows >= 1000) controller.abort() },
        })
        assert.unreachable('the export should have been cancelled')
      } catch (error) {
        assert.is((error as Error).name, 'AbortError', `${format}: ${String(error)}`)
      }
      assert.ok(seen.length >= 1 && seen[0]! > 0, `${format}: ${seen.join(',')}`)
      const rows = await Promise.all([1, 2, 3, 4, 5].map(() => sql<{ n: string }>`select count(*) as n from organisations`.execute(rt.database.db)))
      assert.ok(rows.every((r) => Number(r.rows[0]!.n) >= 16), `${format}: the database answers after the abort`)
    }
  }
})

test('cancelling the download stream stops the export and frees the connection', async () => {
  const req = await request('operator', 'repeat=4000')
  const reader = exportStream(req, 'csv').getReader()
  const first = await reader.read()
  assert.ok(first.value && first.value.byteLength > 0)
  await reader.cancel()
  if (onPostgres) {
    // The COPY is drained and its connection handed back, not left hanging.
    const pool = copyPoolOf(rt.database.db)!
    const deadline = Date.now() + 15000
    while (pool.inUse > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.is(pool.inUse, 0)
    const running = await sql<{ n: string }>`select count(*) as n from pg_stat_activity where datname = current_database() and state = 'active' and query like 'copy (%'`.execute(rt.database.db)
    assert.is(Number(running.rows[0]!.n), 0)
  }
  const counts = await Promise.all([1, 2, 3, 4, 5].map(() => sql<{ n: string }>`select 1 as n`.execute(rt.database.db)))
  assert.is(counts.length, 5)
  const full = await exportBytes(await request('operator', 'repeat=3'), 'csv')
  assert.is(parse(full.toString('utf8')).length, 1 + 16 * 3)
})

test('a cancelled COPY stops on the server at once instead of streaming to its end', async () => {
  const pool = copyPoolOf(rt.database.db)
  if (!onPostgres) {
    assert.is(pool, undefined, 'PGlite has no COPY path')
    return
  }
  // About 2 GB of output: read to the end and dropped, as it used to be, it took well over 10 s.
  const big = "copy (select g, repeat('x', 100) from generate_series(1, 20000000) g) to stdout with (format csv)"
  const copying = async () => Number((await sql<{ n: string }>`select count(*) as n from pg_stat_activity where datname = current_database() and application_name = 'ledgerlite-copy' and state = 'active' and query like 'copy (%'`.execute(rt.database.db)).rows[0]!.n)
  for (const how of ['return', 'break'] as const) {
    const chunks = copyChunks(pool!.tryAcquire()!, big)
    let bytes = 0
    let stopping = 0
    if (how === 'return') {
      bytes += (await chunks.next()).value?.byteLength ?? 0
      assert.is(await copying(), 1, 'the COPY runs while its output is held')
      stopping = performance.now()
      await chunks.return(undefined)
    } else {
      for await (const chunk of chunks) {
        bytes += chunk.byteLength
        stopping = performance.now()
        if (bytes > 1_000_000) break
      }
    }
    // Cancelled, what was in flight drained, released: long before 2 GB could have streamed.
    const took = performance.now() - stopping
    assert.ok(bytes > 0 && took < 3000, `${how}: stopping took ${Math.round(took)} ms`)
    assert.is(pool!.inUse, 0, how)
    assert.is(await copying(), 0, `${how}: the backend is no longer running the COPY`)
  }
  // The connections are clean: the next COPY runs to its end on the same pool.
  let lines = 0
  for await (const chunk of copyChunks(pool!.tryAcquire()!, 'copy (select g from generate_series(1, 1000) g) to stdout')) lines += Buffer.from(chunk).toString().split('\n').length - 1
  assert.is(lines, 1000)
})

const AWKWARD = ['cr\rmid', 'crlf\r\nmid', '\rstarts with CR', 'pipe|and,comma', '"quoted" twice ""', 'back\\slash', 'ünïcødé € 😀', '-12', '=1+1', ' spaced ', 'tab\tmid']

/** Values COPY and the JS writer could disagree on: empty text, null, zero, big and tiny numbers. */
const awkwardReport = defineReport({
  id: 'test.awkward',
  title: 'Awkward',
  description: 'Values the two CSV writers could disagree on',
  category: 'Test',
  subject: 'Organisation',
  params: { orgs: orgScopeParam() },
  columns: [
    { key: 'id', label: 'Id', type: 'integer' },
    { key: 'name', label: 'Name "quoted", |piped|', type: 'text' },
    { key: 'note', label: 'Note', type: 'text' },
    { key: 'amount', label: 'Amount', type: 'money', currency: 'currency' },
    { key: 'currency', label: 'Currency', type: 'text' },
    { key: 'qty', label: 'Quantity', type: 'quantity', unit: { fixed: 'GB' } },
    { key: 'day', label: 'Day', type: 'date' },
  ],
  defaultSort: 'id',
  rowKey: ['id'],
  query: ({ db, orgIds }) => db.organisations()
    .crossJoin(sql<{ g: number }>`generate_series(0, 5)`.as('g'))
    .where('organisations.id', 'in', orgIds)
    .select([
      sql<number>`organisations.id * 10 + g.g`.as('id'),
      'organisations.name',
      sql<string>`(array['', null, organisations.name, '-', '''', 'x'])[g.g + 1]`.as('note'),
      sql<string>`((array[0, -1, -125, 1, null, -987654321012345678])[g.g + 1] * (organisations.id % 7 - 3))::bigint`.as('amount'),
      sql<string>`(array['EUR', 'JPY', 'KWD', 'XYZ'])[organisations.id % 4 + 1]`.as('currency'),
      sql<string>`(array[0.125, -0.001, 123456789012345678.25, 0, null, 'NaN'])[g.g + 1]::numeric`.as('qty'),
      sql<string>`(date '2026-01-01' + g.g)::text`.as('day'),
    ]),
})

test('the COPY fast path writes the same bytes as the JS writer, for comma and pipe, with and without BOM', async () => {
  for (const name of AWKWARD) await insertOrganisation(rt.database.db, tree.alpha, { kind: 'customer', name })
  for (const report of [sampleReport, awkwardReport]) {
    for (const query of ['', 'bom=1', 'delimiter=pipe', 'delimiter=pipe&bom=1']) {
      const req = await parseReportRequest(report, queryInput(new URLSearchParams(query)), { db: scoped('operator'), forExport: true })
      assert.is(copyStatement(req, query.includes('pipe') ? '|' : ',') !== undefined, onPostgres, `${report.id} ${query}: COPY is used on PostgreSQL only`)
      const js = await exportBytes(req, 'csv', { fastPath: false })
      const fast = await exportBytes(req, 'csv')
      assert.ok(js.length > 1000, `${report.id} ${query}`)
      assert.is(fast.toString('hex'), js.toString('hex'), `${report.id} ${query}`)
      const text = js.toString('utf8')
      assert.is(text.startsWith('\uFEFF'), query.includes('bom'))
      for (const name of ['cr\rmid', 'crlf\r\nmid', '"quoted" twice ""']) assert.ok(text.includes(`"${name.replaceAll('"', '""')}"`), `${report.id} ${query}: ${JSON.stringify(name)}`)
      const records = parse(text.replace(/^\uFEFF/, ''), { delimiter: query.includes('pipe') ? '|' : ',', record_delimiter: '\r\n' }) as string[][]
      assert.ok(records.every((r) => r.length === req.columns.length), `${report.id} ${query}: every record whole`)
    }
  }
})

/** A `date` column holding instants (`timestamptz`), in a report with a period and so a time zone. */
const instantReport = defineReport({
  id: 'test.instants',
  title: 'Instants',
  description: 'A date column holding timestamps',
  category: 'Test',
  subject: 'Organisation',
  params: { orgs: orgScopeParam(), period: periodParam() },
  columns: [
    { key: 'id', label: 'Id', type: 'integer' },
    { key: 'at', label: 'At', type: 'date' },
    { key: 'day', label: 'Day', type: 'date' },
  ],
  defaultSort: 'id',
  rowKey: ['id'],
  query: ({ db, orgIds }) => db.organisations()
    .crossJoin(sql<{ g: number }>`generate_series(0, 7)`.as('g'))
    .where('organisations.id', 'in', orgIds)
    .select([
      sql<number>`organisations.id * 10 + g.g`.as('id'),
      // 23:30 UTC on 14 January, then every 7 hours; one null.
      sql<Date>`case when g.g = 7 then null else timestamptz '2026-01-14 23:30:00+00' + g.g * interval '7 hours' end`.as('at'),
      sql<string>`date '2026-01-14' + g.g`.as('day'),
    ]),
})

test('a date column holding timestamps: the day in the report time zone, the same bytes from COPY and JS', async () => {
  for (const [tz, first] of [['UTC', '2026-01-14'], ['Pacific/Auckland', '2026-01-15'], ['America/Los_Angeles', '2026-01-14']] as const) {
    const req = await parseReportRequest(instantReport, queryInput(new URLSearchParams(`period=this_month&tz=${encodeURIComponent(tz)}`)), { db: scoped('operator'), forExport: true })
    const js = await exportBytes(req, 'csv', { fastPath: false })
    const fast = await exportBytes(req, 'csv')
    assert.is(fast.toString('hex'), js.toString('hex'), tz)
    const records = parse(js.toString('utf8'), { record_delimiter: '\r\n' }) as string[][]
    const byId = new Map(records.slice(1).map((r) => [Number(r[0]) % 10, r]))
    assert.is(byId.get(0)![1], first, `${tz}: 2026-01-14 23:30 UTC`)
    // 03:30 UTC on the 16th (g = 4) is the 15th in Los Angeles, the 16th in UTC and Auckland.
    assert.is(byId.get(4)![1], tz === 'America/Los_Angeles' ? '2026-01-15' : '2026-01-16', tz)
    assert.is(byId.get(7)![1], '', `${tz}: null`)
    assert.is(byId.get(3)![2], '2026-01-17', `${tz}: a date stays itself`)
    const [fastSheet, jsSheet] = await Promise.all([exportBytes(req, 'xlsx'), exportBytes(req, 'xlsx', { fastPath: false })].map(async (bytes) => xlsxRows(await bytes)))
    assert.equal(fastSheet, jsSheet, tz)
    assert.equal(fastSheet!.slice(1).map((r) => r[1] ?? ''), records.slice(1).map((r) => r[1]), `${tz}: XLSX and CSV agree`)
    // The page's table shows the day the export writes.
    const { rows } = await runReport(req)
    const shown = new Map(rows.map((row) => [Number(row.id) % 10, formatCell(instantReport.columns[1]!, row, requestTimeZone(req))]))
    for (const g of [0, 4, 7]) assert.is(shown.get(g), byId.get(g)![1], `${tz}: the page shows g=${g} as the export does`)
  }
})

test('four CSV downloads at once on a pool of two: each complete and right, other queries still answer', async () => {
  let small = rt.database
  if (onPostgres) {
    const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(rt.database.db)
    small = await openDatabase({ databaseUrl: withDatabase(process.env.TEST_DATABASE_URL!, rows[0]!.name), poolSize: 2, copyPoolSize: 2 })
  }
  try {
    const root = new ScopedDb(small.db, { orgId: tree.operator.id, path: tree.operator.path })
    const req = await parseReportRequest(sampleReport, queryInput(new URLSearchParams('repeat=1500')), { db: root, forExport: true })
    const expected = await exportBytes(req, 'csv', { fastPath: false })
    const pool = copyPoolOf(small.db)
    let copies = 0
    const sampler = setInterval(() => { copies = Math.max(copies, pool?.inUse ?? 0) }, 1)
    const download = async (i: number) => {
      const reader = exportStream(req, 'csv').getReader()
      const parts: Uint8Array[] = []
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        parts.push(value)
        // Slow readers hold their COPY connection while the others start.
        if (i % 2 === 0) await new Promise((resolve) => setTimeout(resolve, 1))
      }
      return Buffer.concat(parts)
    }
    const others = async () => {
      let answered = 0
      for (let i = 0; i < 20; i++) {
        const { rows } = await sql<{ n: string }>`select count(*) as n from organisations`.execute(small.db)
        if (Number(rows[0]!.n) >= 16) answered++
      }
      return answered
    }
    const [files, answered] = await Promise.all([Promise.all([0, 1, 2, 3].map(download)), others()])
    clearInterval(sampler)
    assert.is(answered, 20)
    for (const file of files) assert.is(file.toString('hex'), expected.toString('hex'))
    const orgs = Number((await sql<{ n: string }>`select count(*) as n from organisations`.execute(rt.database.db)).rows[0]!.n)
    assert.is(parse(expected.toString('utf8')).length, 1 + orgs * 1500)
    if (onPostgres) assert.ok(copies >= 1 && copies <= 2, `COPY connections in use at once: ${copies}`)
    assert.is(pool?.inUse ?? 0, 0)
  } finally {
    if (small !== rt.database) await small.close()
  }
})

test.run()
