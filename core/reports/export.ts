/**
 * Exports of a report request in CSV (comma or pipe), XLSX or XML, streamed batch by batch with
 * flat memory; the download routes and background runs both use {@link writeReport}.
 *
 * Every format has the request's tab columns (hidden-in-table ones too), headed by their labels
 * (money says which column holds its currency; fixed units are in the header, e.g. `Storage (GB)`).
 * Money is exported as an exact major-unit number (`-12.50`), quantities, percents and integers as
 * numbers, dates as `YYYY-MM-DD` text (an instant in a date column as its day in the period's time
 * zone, UTC without a period), text and links as text. CSV and XLSX text cells starting
 * with `= + - @`, tab or CR get a leading `'`; numbers (negative ones too) stay numbers.
 *
 * On PostgreSQL a CSV export runs as `COPY (<the ordered query, formatted in SQL>) TO STDOUT` on a
 * connection of the COPY pool, several times faster than formatting rows in JS, with its record
 * ends turned into CRLF: the file is byte for byte the JS writer's. It falls back to the JS writer
 * when the query's parameters cannot be inlined safely, when the report has a single column (COPY
 * quotes a lone `\.`), or when every COPY connection is busy. An XLSX export reads its rows by the
 * same COPY, formatted the same way but with text left for the XLSX writer to neutralise.
 *
 * XML (`application/xml`), element names:
 * ```xml
 * <report id="organisations.accounts" name="Accounts" generated="2026-01-15T10:00:00.000Z" tab="payg">
 *   <description>…</description>
 *   <parameters query="period=last_month"><parameter key="period">last_month</parameter>…</parameters>
 *   <columns><column key="total" label="Total" type="money" currency="currency"/>…</columns>
 *   <rows><row><id>1</id><name>Acme &amp; Co</name><parent/>…</row>…</rows>
 *   <totals><total><currency>EUR</currency><total>-12.50</total></total></totals>
 * </report>
 * ```
 * Row elements are named by column key; a key that is not a plain XML name is written as
 * `<field key="…">`. An empty element is an empty or null value. XML text is not neutralised
 * (it is data for programs); characters XML 1.0 cannot hold become U+FFFD.
 */
import { copyPoolOf, type CopyPool } from '../db/database.ts'
import { csvLine, ExactNumber, exactNumber, type CsvDelimiter } from '../exports/csv.ts'
import { copyChunks, CopyCsvLines, CopyTextRows, inlineParameters } from '../exports/pg-copy.ts'
import { cellReader, headerLabel, sqlCell, type ExportCell, type SqlCellOptions } from '../exports/report-cells.ts'
import { writeXlsx } from '../exports/xlsx.ts'
import { isXmlName, xmlAttributes, xmlElement, xmlEscape } from '../exports/xml.ts'
import { executorOf } from '../tenancy/scoped-db.ts'
import type { ExportFormat } from './define.ts'
import { orderedRows, reportTotals, streamReport, type ReportRow } from './engine.ts'
import type { ParamsShape } from './params.ts'
import { requestTimeZone, type ReportRequest } from './request.ts'

export { contentDisposition } from '../exports/content-disposition.ts'

export interface ExportProgress {
  /** Rows written so far. */
  readonly rows: number
  /** Bytes written so far. */
  readonly bytes: number
}

export interface ExportResult extends ExportProgress {
  /** Whether PostgreSQL's COPY wrote the rows (the CSV fast path), rather than the JS writer. */
  readonly copied: boolean
}

export interface WriteOptions {
  /** Stops the export between batches; the promise then rejects with an AbortError. */
  readonly signal?: AbortSignal
  /** Called after each batch is written. */
  readonly onProgress?: (progress: ExportProgress) => void | Promise<void>
  /** Rows per batch (default 1,000). */
  readonly batchSize?: number
  /** `false` skips the PostgreSQL COPY fast path for CSV (tests and benchmarks compare both). */
  readonly fastPath?: boolean
}

const encoder = new TextEncoder()

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason
  if (reason instanceof Error && reason.name === 'AbortError') return reason
  return new DOMException('The export was cancelled.', 'AbortError')
}

function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal)
}

function readersOf(request: ReportRequest): Array<(row: ReportRow) => ExportCell> {
  const timeZone = requestTimeZone(request)
  return request.columns.map((column) => cellReader(column, { timeZone }))
}

/** The request's rows as export cells, batch by batch. */
async function* cellBatches(request: ReportRequest, options: WriteOptions): AsyncGenerator<ExportCell[][]> {
  const readers = readersOf(request)
  const stream = streamReport(request, { batchSize: options.batchSize ?? 1000, ...(options.signal ? { signal: options.signal } : {}) })
  for await (const rows of stream) {
    checkSignal(options.signal)
    yield rows.map((row) => readers.map((read) => read(row)))
  }
}

const NUMBER_TYPES = new Set(['money', 'quantity', 'percent', 'integer'])

/**
 * The rows of an XLSX export as export cells: read by COPY on PostgreSQL (the fast path's query in
 * its raw form, in COPY's text format: the XLSX writer checks numbers and neutralises text), else by
 * {@link cellBatches}. COPY streams without a round trip per batch and hands over text the writer
 * uses as it is. `used.copied` says which path ran.
 */
async function* xlsxBatches(request: ReportRequest, options: WriteOptions, used: { copied: boolean }): AsyncGenerator<ExportCell[][]> {
  const select = options.fastPath === false ? undefined : copySelect(request, { form: 'raw' })
  const copy = select && { sql: `copy (${select.sql}) to stdout`, pool: select.pool }
  // Taken inside the generator: copyChunks releases it whatever happens from there on.
  const lease = copy?.pool.tryAcquire()
  if (!copy || !lease) {
    yield* cellBatches(request, options)
    return
  }
  used.copied = true
  const numeric = request.columns.map((column) => NUMBER_TYPES.has(column.type))
  const batchSize = options.batchSize ?? 1000
  const records = new CopyTextRows()
  let batch: ExportCell[][] = []
  for await (const chunk of copyChunks(lease, copy.sql)) {
    for (const fields of records.parse(chunk)) {
      const cells: ExportCell[] = fields
      for (let i = 0; i < cells.length; i++) {
        const text = fields[i]
        // COPY wrote numbers as numeric text; checked once more, as the text goes into XML as it is.
        if (numeric[i] && text != null) cells[i] = exactNumber(text) ?? null
      }
      batch.push(cells)
    }
    if (batch.length >= batchSize) {
      checkSignal(options.signal)
      yield batch
      batch = []
    }
  }
  records.finish()
  if (batch.length) yield batch
}

/**
 * The COPY statement for a CSV export and the pool to run it on, or undefined when the fast path
 * does not apply: not PostgreSQL (or inside a transaction), a single column, or parameters that
 * cannot be inlined safely.
 */
export function copyStatement(request: ReportRequest, delimiter: CsvDelimiter): { sql: string; pool: CopyPool } | undefined {
  const select = copySelect(request, {})
  return select && { sql: `copy (${select.sql}) to stdout with (format csv, delimiter '${delimiter}')`, pool: select.pool }
}

/** The request's ordered query with each column as SQL cell text, parameters inlined, for a COPY. */
function copySelect(request: ReportRequest, cells: SqlCellOptions): { sql: string; pool: CopyPool } | undefined {
  const pool = copyPoolOf(executorOf(request.context.db))
  if (!pool || request.columns.length < 2) return undefined
  const options = { timeZone: requestTimeZone(request), ...cells }
  const query = orderedRows(request).clearSelect().select(request.columns.map((column, i) => sqlCell(column, options).as(`c${i}`)))
  const compiled = query.compile()
  const sql = inlineParameters(compiled.sql, compiled.parameters)
  return sql === undefined ? undefined : { sql, pool }
}

type Write = (chunk: Uint8Array) => Promise<void>
type AfterBatch = (rows: number) => Promise<void>

/** Writes the CSV; resolves with whether COPY wrote the rows. */
async function writeCsv(request: ReportRequest, write: Write, afterBatch: AfterBatch, options: WriteOptions): Promise<boolean> {
  const delimiter: CsvDelimiter = request.exportOptions.delimiter === 'pipe' ? '|' : ','
  const header = request.columns.map((c) => headerLabel(c, request.columns))
  const copy = options.fastPath === false ? undefined : copyStatement(request, delimiter)
  await write(encoder.encode((request.exportOptions.bom ? '\uFEFF' : '') + csvLine(header, { delimiter })))
  checkSignal(options.signal)
  // Taken right before the COPY starts: copyChunks releases it whatever happens from there on.
  const lease = copy?.pool.tryAcquire()
  if (copy && lease) {
    const batchSize = options.batchSize ?? 1000
    const lines = new CopyCsvLines()
    let reported = 0
    for await (const chunk of copyChunks(lease, copy.sql)) {
      await write(lines.convert(chunk))
      if (lines.records - reported >= batchSize) {
        await afterBatch(lines.records - reported)
        reported = lines.records
      } else {
        checkSignal(options.signal)
      }
    }
    if (lines.records > reported) await afterBatch(lines.records - reported)
    return true
  }
  for await (const batch of cellBatches(request, options)) {
    let text = ''
    for (const cells of batch) text += csvLine(cells, { delimiter })
    await write(encoder.encode(text))
    await afterBatch(batch.length)
  }
  return false
}

function xmlCellText(cell: ExportCell): string | null {
  return cell instanceof ExactNumber ? cell.text : cell
}

/** Flat `key=value` pairs of the resolved parameters, for the XML header. */
function parameterPairs(request: ReportRequest): Array<[string, string]> {
  const pairs: Array<[string, string]> = []
  for (const [name, value] of Object.entries(describeParams(request))) {
    if (value === undefined || value === null) continue
    if (typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) {
        if (Array.isArray(inner)) for (const item of inner) pairs.push([key, typeof item === 'object' && item ? String((item as { id: unknown }).id) : String(item)])
        else if (inner !== undefined) pairs.push([key, String(inner)])
      }
    } else if (Array.isArray(value)) {
      for (const item of value) pairs.push([name, String(item)])
    } else {
      pairs.push([name, String(value)])
    }
  }
  return pairs
}

async function writeXml(request: ReportRequest, write: Write, afterBatch: AfterBatch, options: WriteOptions): Promise<void> {
  const { report, columns, exportOptions } = request
  const readers = readersOf(request)
  const open = columns.map((c) => (isXmlName(c.key) ? [`<${c.key}>`, `</${c.key}>`, `<${c.key}/>`] : [`<field${xmlAttributes({ key: c.key })}>`, '</field>', `<field${xmlAttributes({ key: c.key })}/>`]))
  const element = (i: number, text: string | null) => {
    const [start, end, empty] = open[i]!
    return text === null || text === '' ? empty! : `${start}${xmlEscape(text)}${end}`
  }
  let head = '<?xml version="1.0" encoding="UTF-8"?>\n'
  head += `<report${xmlAttributes({ id: report.id, name: exportOptions.name, title: report.title, generated: new Date().toISOString(), tab: request.context.tab })}>\n`
  if (exportOptions.description) head += `  ${xmlElement('description', exportOptions.description)}\n`
  head += `  <parameters${xmlAttributes({ query: request.query })}>`
  for (const [key, value] of parameterPairs(request)) head += xmlElement('parameter', value, { key })
  head += '</parameters>\n  <columns>'
  for (const c of columns) {
    head += xmlElement('column', null, { key: c.key, label: c.label, type: c.type, currency: c.currency, unit: typeof c.unit === 'string' ? c.unit : undefined, 'fixed-unit': typeof c.unit === 'object' ? c.unit.fixed : undefined })
  }
  head += '</columns>\n  <rows>\n'
  await write(encoder.encode(head))
  for await (const rows of streamReport(request, { batchSize: options.batchSize ?? 1000, ...(options.signal ? { signal: options.signal } : {}) })) {
    checkSignal(options.signal)
    let text = ''
    for (const row of rows) {
      text += '    <row>'
      for (let i = 0; i < readers.length; i++) text += element(i, xmlCellText(readers[i]!(row)))
      text += '</row>\n'
    }
    await write(encoder.encode(text))
    await afterBatch(rows.length)
  }
  let tail = '  </rows>\n  <totals>'
  for (const total of await reportTotals(request)) {
    tail += '<total>'
    columns.forEach((c, i) => { if (c.key in total) tail += element(i, xmlCellText(readers[i]!(total))) })
    tail += '</total>'
  }
  await write(encoder.encode(`${tail}</totals>\n</report>\n`))
}

/** Writes the whole export to `sink`, chunk by chunk, in order; resolves with the final counts. */
export async function writeReport(request: ReportRequest, format: ExportFormat, sink: (chunk: Uint8Array) => Promise<void>, options: WriteOptions = {}): Promise<ExportResult> {
  let rows = 0
  let bytes = 0
  const write: Write = async (chunk) => {
    if (!chunk.byteLength) return
    bytes += chunk.byteLength
    await sink(chunk)
  }
  const afterBatch: AfterBatch = async (count) => {
    rows += count
    checkSignal(options.signal)
    await options.onProgress?.({ rows, bytes })
  }
  checkSignal(options.signal)
  let copied = false
  try {
    if (format === 'csv') copied = await writeCsv(request, write, afterBatch, options)
    else copied = await writeFormat(request, format, write, afterBatch, options)
  } catch (error) {
    // A cancelled statement fails with the driver's own error: report it as the abort it is.
    if (options.signal?.aborted) throw abortError(options.signal)
    throw error
  }
  checkSignal(options.signal)
  return { rows, bytes, copied }
}

/** Writes an XLSX or XML export; resolves with whether COPY read the rows. */
async function writeFormat(request: ReportRequest, format: Exclude<ExportFormat, 'csv'>, write: Write, afterBatch: AfterBatch, options: WriteOptions): Promise<boolean> {
  if (format === 'xlsx') {
    const { exportOptions, columns } = request
    const used = { copied: false }
    await writeXlsx(xlsxBatches(request, options, used), write, {
      header: columns.map((c) => headerLabel(c, columns)),
      sheetName: request.report.title,
      title: exportOptions.name,
      description: exportOptions.description,
    }, afterBatch)
    return used.copied
  }
  await writeXml(request, write, afterBatch, options)
  return false
}

/**
 * The export as a byte stream for a direct download. Bytes are produced only as the reader takes
 * them (a slow client slows the database reads); cancelling the stream (the client went away)
 * stops the export and closes the database cursor.
 */
export function exportStream(request: ReportRequest, format: ExportFormat, options: Pick<WriteOptions, 'signal'> = {}): ReadableStream<Uint8Array> {
  const stop = new AbortController()
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal
  let wake: (() => void) | undefined
  let cancelled = false
  const release = () => { const w = wake; wake = undefined; w?.() }
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const sink = async (chunk: Uint8Array) => {
        if (cancelled) throw abortError(signal)
        controller.enqueue(chunk)
        while (!cancelled && (controller.desiredSize ?? 0) <= 0) await new Promise<void>((resolve) => { wake = resolve })
        if (cancelled) throw abortError(signal)
      }
      writeReport(request, format, sink, { signal }).then(
        () => { if (!cancelled) controller.close() },
        (error: unknown) => { if (!cancelled) controller.error(error) },
      )
    },
    pull() {
      release()
    },
    cancel() {
      cancelled = true
      stop.abort()
      release()
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: 256 * 1024 }))
}

export function contentTypeOf(format: ExportFormat): string {
  return { csv: 'text/csv; charset=utf-8', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', xml: 'application/xml; charset=utf-8' }[format]
}

/** A file name for an export: the name, made safe, with the day and the extension. */
export function fileNameFor(name: string, format: ExportFormat, when: Date = new Date()): string {
  return `${name.replace(/[\\/:*?"<>|\x00-\x1f\x7f]+/g, ' ').replace(/\s+/g, ' ').trim().replace(/^\.+/, '') || 'report'} ${when.toISOString().slice(0, 10)}.${format}`
}

/**
 * The resolved parameters of a request, as JSON: a period as `{preset, from, to, timeZone}`, an
 * organisation scope as `{scope, org: [{id, name}]}`, other values as they parsed.
 */
export function describeParams(request: ReportRequest): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, param] of Object.entries(request.report.params as ParamsShape)) {
    const value = request.context.params[name]
    if (param.kind === 'organisations') {
      const scope = value as { mode: string; orgs: readonly { id: number; name: string }[] }
      out[name] = { scope: scope.mode, org: scope.orgs.map((o) => ({ id: o.id, name: o.name })) }
    } else {
      out[name] = value
    }
  }
  return out
}

/** Internal for tests: the row values the JSON API returns, limited to the tab's columns. */
export function projectRow(request: ReportRequest, row: ReportRow): ReportRow {
  const out: ReportRow = {}
  for (const c of request.columns) out[c.key] = row[c.key] ?? null
  return out
}
