/**
 * One report request, parsed once: the report's own params plus the keys the engine reads
 * (`sort`, `page`, `pageSize`, `tab`, and for exports `delimiter`, `bom`, `name`, `description`).
 * A key nothing reads, or a value that does not parse, is a 400 naming the key. The canonical
 * query string of the result reproduces the view (pages push it to the URL; runs archive it).
 */
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import type { Period } from './period.ts'
import { columnsFor, ENGINE_KEYS, orderOf, type AnyReport, type ColumnDefinition, type ReportContext } from './define.ts'
import { paramKeys, ReportParamError, selectedOrganisations, single, type AccountType, type OrgScope, type ParamInput, type ParamsShape } from './params.ts'

export const DEFAULT_PAGE_SIZE = 50
export const MAX_PAGE_SIZE = 500

export interface SortOrder {
  readonly key: string
  readonly descending: boolean
}

/** How an export should look: only read for export paths. */
export interface ExportOptions {
  readonly delimiter: 'comma' | 'pipe'
  /** A UTF-8 byte order mark first, for Excel. */
  readonly bom: boolean
  /** The name the user gave the generated report (archive and file name); the report title if none. */
  readonly name: string
  readonly description: string
}

export interface ReportRequest {
  readonly report: AnyReport
  readonly context: ReportContext<any>
  readonly sort: SortOrder
  readonly page: number
  readonly pageSize: number
  readonly columns: readonly ColumnDefinition[]
  readonly exportOptions: ExportOptions
  /** The report's params and tab (no paging, sort kept when not the default), as a query string without `?`. */
  readonly query: string
}

export interface ParseOptions {
  readonly db: ScopedDb
  readonly now?: Date
  /** Default time zone of periods. */
  readonly timeZone?: string
  /** Whether export keys (`delimiter`, `bom`, `name`, `description`) are accepted. */
  readonly forExport?: boolean
  /** Further keys to ignore (e.g. `_csrf` on a form post, `format` on a run). */
  readonly ignore?: readonly string[]
}

function wholeNumber(input: ParamInput, key: string, min: number, max: number, fallback: number): number {
  const raw = single(input, key)
  if (raw === undefined) return fallback
  const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN
  if (!Number.isInteger(n) || n < min || n > max) throw new ReportParamError(key, `use a whole number from ${min} to ${max}`)
  return n
}

/** Parses and checks every key of a request to `report`. Throws {@link ReportParamError} (400). */
export async function parseReportRequest(report: AnyReport, input: ParamInput, options: ParseOptions): Promise<ReportRequest> {
  const owned = paramKeys(report.params)
  const engineKeys = new Set<string>(['sort', 'page', 'pageSize', 'tab', ...(options.forExport ? ['delimiter', 'bom', 'name', 'description'] : []), ...(options.ignore ?? [])])
  for (const key of input.keys()) {
    if (owned.has(key) || engineKeys.has(key)) continue
    const why = (ENGINE_KEYS as readonly string[]).includes(key) ? 'is only read when exporting' : `is not a parameter of this report (it reads ${[...owned.keys(), 'sort', 'page', 'pageSize', ...(report.tabs?.length ? ['tab'] : [])].join(', ')})`
    throw new ReportParamError(key.slice(0, 60), why)
  }

  const now = options.now ?? new Date()
  const paramContext = { db: options.db, now, timeZone: options.timeZone ?? 'UTC' }
  const params: Record<string, unknown> = {}
  const queryPairs: Array<[string, string]> = []
  let scope: OrgScope | undefined
  let accountType: AccountType | undefined
  for (const [name, param] of Object.entries(report.params as ParamsShape)) {
    const value = await param.parse(input, name, paramContext)
    params[name] = value
    queryPairs.push(...param.toQuery(value, name))
    if (param.kind === 'organisations') scope = value as OrgScope
    if (param.kind === 'account-type') accountType = value as AccountType
  }

  const tabs = report.tabs ?? []
  const tabText = single(input, 'tab')
  if (tabText !== undefined && !tabs.some((t) => t.id === tabText)) {
    throw new ReportParamError('tab', tabs.length ? `use one of ${tabs.map((t) => t.id).join(', ')}` : 'this report has no tabs')
  }
  const tab = tabText ?? tabs[0]?.id
  if (tabText !== undefined && tabText !== tabs[0]?.id) queryPairs.push(['tab', tabText])
  const columns = columnsFor(report, tab)

  const { defaultSort } = orderOf(report, tab)
  const sortText = single(input, 'sort') ?? defaultSort
  const sortKey = sortText.replace(/^-/, '')
  const sortable = columns.filter((c) => c.sortable !== false).map((c) => c.key)
  if (!sortable.includes(sortKey)) throw new ReportParamError('sort', `use one of ${sortable.join(', ')} (with a leading - for descending)`)
  if (sortText !== defaultSort) queryPairs.push(['sort', sortText])

  const pageSize = wholeNumber(input, 'pageSize', 1, MAX_PAGE_SIZE, report.pageSize ?? DEFAULT_PAGE_SIZE)
  const page = wholeNumber(input, 'page', 1, 1_000_000, 1)

  const delimiterText = options.forExport ? single(input, 'delimiter') ?? 'comma' : 'comma'
  if (delimiterText !== 'comma' && delimiterText !== 'pipe') throw new ReportParamError('delimiter', 'use comma or pipe')
  const bomText = options.forExport ? single(input, 'bom') : undefined
  if (bomText !== undefined && !['0', '1', 'true', 'false'].includes(bomText)) throw new ReportParamError('bom', 'use 1 or 0')
  const name = options.forExport ? single(input, 'name') ?? report.title : report.title
  if (name.length > 200) throw new ReportParamError('name', 'use at most 200 characters')
  const description = options.forExport ? single(input, 'description') ?? '' : ''
  if (description.length > 2000) throw new ReportParamError('description', 'use at most 2000 characters')
  for (const [key, text] of [['name', name], ['description', description]] as const) {
    if (text.includes('\u0000')) throw new ReportParamError(key, 'contains a NUL character')
  }

  const context: ReportContext<any> = {
    db: options.db,
    params,
    tab,
    now,
    orgIds: selectedOrganisations(options.db, scope, accountType),
  }
  return {
    report,
    context,
    sort: { key: sortKey, descending: sortText.startsWith('-') },
    page,
    pageSize,
    columns,
    exportOptions: { delimiter: delimiterText, bom: bomText === '1' || bomText === 'true', name, description },
    query: new URLSearchParams(queryPairs).toString(),
  }
}

/**
 * The time zone of a request's days: its period's (`tz=`), or UTC for a report without a period.
 * A `date` column holding an instant shows, and exports, as its day there.
 */
export function requestTimeZone(request: ReportRequest): string {
  for (const [name, param] of Object.entries(request.report.params as ParamsShape)) {
    if (param.kind === 'period') return (request.context.params[name] as Period).timeZone
  }
  return 'UTC'
}
