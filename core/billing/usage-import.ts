/**
 * Backfilling usage from a CSV file (the operator's tool for usage older than the API's window):
 * columns `idempotency_key,subscription_id,meter,quantity,timestamp[,properties]` in any order
 * after a header line, comma or pipe delimited. Rows are checked and stored like API events (same
 * idempotency rules, same scope) but with no lower time limit; the report names each bad row by
 * its line number. Valid rows are stored even when others are not.
 *
 * @example
 * const report = await importUsageCsv(c.var.db, text, { delimiter: ',' })
 * // { rows: 120, accepted: 118, duplicates: 1, errors: [{ line: 7, message: 'quantity must be zero or more' }] }
 */
import type { AppAbility } from '../access/ability.ts'
import type { OrganisationRow } from '../db/schema.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import { CsvSyntaxError, readCsv } from './csv-read.ts'
import { ingestUsage, MAX_EVENTS_PER_REQUEST, type UsageEventInput } from './usage.ts'

export const IMPORT_COLUMNS = ['idempotency_key', 'subscription_id', 'meter', 'quantity', 'timestamp', 'properties'] as const
/** Rows per file: a bigger backfill is split into several files. */
export const MAX_IMPORT_ROWS = 200_000
/** Bytes per uploaded file on the import page. */
export const MAX_IMPORT_BYTES = 8 * 1024 * 1024

export interface ImportReport {
  /** Data rows read (the header not counted). */
  rows: number
  accepted: number
  duplicates: number
  errors: Array<{ line: number; message: string }>
}

export interface ImportOptions {
  readonly delimiter?: ',' | '|'
  /** The timestamps may lie at most this many minutes ahead of now (clock skew); default 5. */
  readonly maxFutureMinutes?: number
  readonly now?: Date
  /** Enqueue the rollup job (default true; the CLI has no queue and rolls up itself). */
  readonly triggerRollup?: boolean
}

/**
 * Only the operator backfills: a reseller or customer could otherwise rewrite its own history
 * beyond the window the operator allows over the API.
 */
export function mayImportUsage(org: Pick<OrganisationRow, 'parent_id'>, ability: AppAbility): boolean {
  return org.parent_id === null && ability.can('create', 'UsageEvent')
}

/** Reads the file, checks every row and stores the valid ones in batches; never throws on bad content. */
export async function importUsageCsv(sdb: ScopedDb, text: string, options: ImportOptions = {}): Promise<ImportReport> {
  const report: ImportReport = { rows: 0, accepted: 0, duplicates: 0, errors: [] }
  let columns: Map<string, number> | undefined
  let batch: Array<{ line: number; event: UsageEventInput }> = []
  const flush = async () => {
    if (!batch.length) return
    const lines = batch.map((b) => b.line)
    const result = await ingestUsage(sdb, batch.map((b) => b.event), {
      source: 'import', window: { maxAgeDays: null, maxFutureMinutes: options.maxFutureMinutes ?? 5 },
      ...(options.now ? { now: options.now } : {}), ...(options.triggerRollup === false ? { triggerRollup: false } : {}),
    })
    report.accepted += result.accepted
    report.duplicates += result.duplicates
    for (const e of result.errors) report.errors.push({ line: lines[e.index]!, message: e.message.replace(/^idempotencyKey/, 'idempotency_key').replace(/^subscriptionId/, 'subscription_id') })
    batch = []
  }
  try {
    for (const record of readCsv(text, options.delimiter ?? ',')) {
      if (!columns) {
        columns = new Map(record.cells.map((name, i) => [name.trim().toLowerCase(), i]))
        const missing = IMPORT_COLUMNS.slice(0, 5).filter((name) => !columns!.has(name))
        const unknown = [...columns.keys()].filter((name) => !(IMPORT_COLUMNS as readonly string[]).includes(name))
        if (missing.length || unknown.length) {
          report.errors.push({ line: record.line, message: `the header must name the columns ${IMPORT_COLUMNS.join(', ')} (properties is optional)${missing.length ? `; missing: ${missing.join(', ')}` : ''}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}${record.cells.length === 1 && record.cells[0]!.includes(options.delimiter === '|' ? ',' : '|') ? '; is the delimiter right?' : ''}` })
          return report
        }
        continue
      }
      report.rows++
      if (report.rows > MAX_IMPORT_ROWS) {
        report.errors.push({ line: record.line, message: `the file has more than ${MAX_IMPORT_ROWS} rows; split it and import the rest separately (nothing from this line on was read)` })
        report.rows--
        break
      }
      if (record.cells.length !== columns.size) {
        report.errors.push({ line: record.line, message: `expected ${columns.size} columns, found ${record.cells.length}` })
        continue
      }
      batch.push({ line: record.line, event: rowEvent(record.cells, columns) })
      if (batch.length >= MAX_EVENTS_PER_REQUEST) await flush()
    }
  } catch (error) {
    if (!(error instanceof CsvSyntaxError)) throw error
    await flush()
    report.errors.push({ line: error.line, message: `${error.message.replace(/^line \d+: /, '')}; nothing from this line on was read` })
  }
  await flush()
  if (!columns) report.errors.push({ line: 1, message: 'the file is empty: it needs a header line and at least one row' })
  report.errors.sort((a, b) => a.line - b.line)
  return report
}

/** A CSV row as an API-shaped event; the ingest checks do the rest. */
function rowEvent(cells: string[], columns: Map<string, number>): UsageEventInput {
  const cell = (name: string) => {
    const i = columns.get(name)
    return i === undefined ? undefined : cells[i]
  }
  let properties: unknown
  const rawProps = cell('properties')?.trim()
  if (rawProps) {
    try {
      properties = JSON.parse(rawProps)
    } catch {
      properties = 'not JSON'
    }
  }
  return {
    idempotencyKey: cell('idempotency_key') ?? '',
    subscriptionId: (cell('subscription_id') ?? '').trim(),
    meter: (cell('meter') ?? '').trim(),
    quantity: (cell('quantity') ?? '').trim(),
    timestamp: (cell('timestamp') ?? '').trim(),
    properties,
  }
}
