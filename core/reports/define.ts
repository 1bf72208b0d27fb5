/**
 * The report contract. A report declares only what is specific to it: its parameters, columns,
 * tabs, totals, charts and one query that returns a Kysely builder (not rows). The engine does the
 * rest once for every report: tenant scope (the query only ever sees the caller's scoped handle),
 * parameter parsing and errors, sorting on declared columns, paging, counting, totals, streaming
 * exports in every format, background runs, the archive and, later, schedules.
 *
 * @example
 * export const orgReport = defineReport({
 *   id: 'reports.organisations',
 *   title: 'Organisations',
 *   description: 'Every organisation in scope with its subscriptions and usage in the period.',
 *   category: 'Accounts',
 *   subject: 'Organisation',
 *   params: { period: periodParam(), orgs: orgScopeParam(), accountType: accountTypeParam() },
 *   columns: [
 *     { key: 'name', label: 'Organisation', type: 'link', href: (row) => `/organisations/${row.id}` },
 *     { key: 'events', label: 'Usage events', type: 'integer', total: true },
 *   ],
 *   defaultSort: 'name',
 *   rowKey: ['id'],
 *   query: ({ db, orgIds }) => db.organisations().where('organisations.id', 'in', orgIds).select([...]),
 * })
 */
import type { SelectQueryBuilder } from 'kysely'
import type { Database } from '../db/schema.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import type { ParamsOf, ParamsShape } from './params.ts'

export const COLUMN_TYPES = ['text', 'money', 'quantity', 'integer', 'percent', 'date', 'link'] as const
/**
 * How a column's values look in a row (what the query must select) and how they are shown:
 * - `text`: a string (or null).
 * - `money`: integer minor units as a string (`'12345'` is 123.45 EUR); `currency` names the
 *   column holding the ISO code. Exports write a number in major units.
 * - `quantity`: a decimal string (SQL numeric); `unit` names the unit column or a fixed unit.
 * - `integer`: a whole number, as a string (bigint, `count(*)`) or a number.
 * Select numbers as SQL numbers (bigint, numeric), never cast to text: totals sum them in SQL,
 * and both drivers hand bigint and numeric back as exact strings anyway.
 * - `percent`: a decimal string where `12.5` means 12.5 %.
 * - `date`: `YYYY-MM-DD`.
 * - `link`: text shown as a link to `href(row)` (drill-down); exported as the text.
 */
export type ColumnType = (typeof COLUMN_TYPES)[number]

type KeyOf<Row> = Extract<keyof Row, string>

export interface ColumnDefinition<Row = any> {
  /** The name the query selects the value as. Also the `sort` key and the export header key. */
  readonly key: KeyOf<Row>
  readonly label: string
  readonly type: ColumnType
  readonly description?: string
  /** money: the column with the row's ISO currency code. */
  readonly currency?: KeyOf<Row>
  /** quantity: the column with the row's unit, or `{ fixed: 'GB' }`. */
  readonly unit?: KeyOf<Row> | { readonly fixed: string }
  /** link: where the cell points (a drill-down), or null for no link on this row. */
  readonly href?: (row: Row) => string | null
  /** Sorting by this column is allowed (default true). */
  readonly sortable?: boolean
  /** Summed in the totals (money and quantity per currency/unit via `totals.by`). */
  readonly total?: boolean
  /** Shown only in these tabs; every tab when left out. */
  readonly tabs?: readonly string[]
  /** Left out of the HTML table (still in the JSON and exports), e.g. an id behind a link. */
  readonly hiddenInTable?: boolean
}

export interface TabDefinition {
  readonly id: string
  readonly label: string
  /**
   * The tab's own default sort (`column` or `-column`), when the report's `defaultSort` does not
   * suit it: e.g. a tab whose rows are too many to number in the report's order first.
   */
  readonly defaultSort?: string
  /** The tab's own row key, when the report's `rowKey` is not among its columns. */
  readonly rowKey?: readonly string[]
}

export const CHART_KINDS = ['line', 'bar', 'stacked-bar', 'pie'] as const
export type ChartKind = (typeof CHART_KINDS)[number]

/** What a chart query selects: an x label (a day, a month, a name), an optional series, a value. */
export interface ChartPoint {
  readonly x: string
  readonly series?: string | null
  /** A decimal string or a number. Money charts use major units. */
  readonly y: string | number
}

export interface ChartDefinition<P extends ParamsShape = ParamsShape> {
  readonly id: string
  readonly title: string
  readonly kind: ChartKind
  /** The value axis label, e.g. `GB` or `EUR`. */
  readonly yLabel?: string | ((context: ReportContext<P>) => string)
  /** Shown only in these tabs; every tab when left out. */
  readonly tabs?: readonly string[]
  /** Points in x order. Keep it small (a few hundred points): it is drawn, not paged. */
  readonly query: (context: ReportContext<P>) => SelectQueryBuilder<any, any, ChartPoint>
}

/**
 * The organisations a report covers, for `where(col, 'in', orgIds)`: a subquery of the caller's
 * subtree, or, when the request lists organisations (`scope=one`), their ids, each already
 * checked to lie in the subtree (a plain list plans faster and lets PostgreSQL use `col = id`).
 */
export type OrgIds = readonly number[] | SelectQueryBuilder<Database, 'organisations', { id: number }>

/** What a report's query receives. */
export interface ReportContext<P extends ParamsShape = ParamsShape> {
  /** The caller's handle, limited to their subtree: the only way to the data. */
  readonly db: ScopedDb
  readonly params: ParamsOf<P>
  /** The selected tab's id (the first tab by default); undefined for a report without tabs. */
  readonly tab: string | undefined
  /**
   * Ids of the organisations the report covers: the caller's subtree narrowed by the report's
   * `organisations` and `account-type` params when it has them. Use as `where(col, 'in', orgIds)`.
   */
  readonly orgIds: OrgIds
  /** When the report is read: periods and "days overdue" are relative to it. */
  readonly now: Date
}

export const EXPORT_FORMATS = ['csv', 'xlsx', 'xml'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

/**
 * Actions on a selection of rows (e.g. "mark paid" on invoices). The report page adds a checkbox
 * to each row and a form that posts the chosen rows to the plugin's own route, which checks the
 * permission and scope again and does the work (the engine only renders the controls). The form
 * sends `action`, the key column's value of each chosen row as `name` (repeated), `_csrf`, and
 * `back`: the canonical path of the view, for {@link selectionReturnPath}.
 */
export interface RowActionsDefinition<Row = any> {
  /** Who sees the controls, e.g. `['update', 'Invoice']`; the route must check it again. */
  readonly requires: readonly [action: string, subject: string]
  /** The column whose value identifies a row (it may be hidden in the table). */
  readonly key: KeyOf<Row>
  /** The form field of the chosen rows (default `id`). */
  readonly name?: string
  /** The plugin route the form posts to, a same-site path such as `/invoice/actions`. */
  readonly path: string
  /** What can be done, in the order shown. */
  readonly choices: ReadonlyArray<{ readonly value: string; readonly label: string }>
  /** Tabs that offer the actions (default: every tab). */
  readonly tabs?: readonly string[]
}

export interface ReportDefinition<P extends ParamsShape = ParamsShape, Row = any> {
  /** `<plugin>.<kebab-name>`; the plugin that lists it must have the prefix. */
  readonly id: string
  readonly title: string
  readonly description: string
  /** Heading in the catalogue: `Billing`, `Usage`, `Accounts`, ... */
  readonly category: string
  /** CASL subject: `read` shows the report, `export` downloads it. */
  readonly subject: string
  readonly params: P
  readonly tabs?: readonly TabDefinition[]
  readonly columns: readonly ColumnDefinition<Row>[]
  /** `column` or `-column` (descending). A tab may have its own (`TabDefinition.defaultSort`). */
  readonly defaultSort: string
  /** Columns that make a row unique: the tie-breaker that keeps paging stable. A tab may have its own. */
  readonly rowKey: readonly KeyOf<Row>[]
  /** Totals: the summed columns (`total: true`) grouped by these columns (e.g. the currency). */
  readonly totalsBy?: readonly KeyOf<Row>[]
  readonly charts?: readonly ChartDefinition<P>[]
  /** Formats the report may be exported in; all by default. */
  readonly formats?: readonly ExportFormat[]
  /** Rows per page in the HTML table (default 50). */
  readonly pageSize?: number
  /** Actions on selected rows, offered on the report page to those allowed. */
  readonly actions?: RowActionsDefinition<Row>
  /** The rows, unsorted and unpaged: the engine wraps it. */
  readonly query: (context: ReportContext<P>) => SelectQueryBuilder<any, any, Row>
}

/** A report as the registry holds it, whatever its params and rows. */
export type AnyReport = ReportDefinition<any, any>

/** A report definition is wrong: a programming error found at boot, with a code to grep. */
export class ReportDefinitionError extends Error {
  readonly code = 'LL_ERR_REPORT_INVALID'
  constructor(id: string, problem: string) {
    super(`Report "${id}": ${problem}`)
    this.name = 'ReportDefinitionError'
  }
}

const REPORT_ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*\.[a-z][a-z0-9]*(-[a-z0-9]+)*$/
/** Keys the engine reads itself; a report's params cannot take them. */
export const ENGINE_KEYS = ['sort', 'page', 'pageSize', 'tab', 'delimiter', 'bom', 'name', 'description', 'format', '_csrf'] as const

/**
 * Checks a report definition and returns it frozen. Throws {@link ReportDefinitionError}
 * (`LL_ERR_REPORT_INVALID`) for a bad id, a duplicate column, a sort, key or totals column that
 * is not declared, a money column without its currency, or a parameter key taken twice.
 */
export function defineReport<const P extends ParamsShape, Row>(definition: ReportDefinition<P, Row>): ReportDefinition<P, Row> {
  const fail = (problem: string) => new ReportDefinitionError(definition.id, problem)
  if (!REPORT_ID.test(definition.id)) throw fail('id must be `<plugin>.<kebab-name>`')
  if (!definition.title?.trim()) throw fail('title is required')
  if (!definition.category?.trim()) throw fail('category is required')
  if (!/^[A-Z][A-Za-z0-9]*$/.test(definition.subject)) throw fail('subject must be a PascalCase CASL subject')
  const keys = new Set<string>()
  for (const column of definition.columns) {
    if (keys.has(column.key)) throw fail(`column "${column.key}" is declared twice`)
    keys.add(column.key)
    if (column.type === 'money' && !column.currency) throw fail(`money column "${column.key}" needs its currency column`)
    if (column.type === 'link' && !column.href) throw fail(`link column "${column.key}" needs href`)
  }
  for (const column of definition.columns) {
    if (column.currency && !keys.has(column.currency)) throw fail(`column "${column.key}" names currency column "${column.currency}", which is not declared`)
    if (typeof column.unit === 'string' && !keys.has(column.unit)) throw fail(`column "${column.key}" names unit column "${column.unit}", which is not declared`)
    for (const tab of column.tabs ?? []) if (!definition.tabs?.some((t) => t.id === tab)) throw fail(`column "${column.key}" names tab "${tab}", which is not declared`)
  }
  const sortKey = definition.defaultSort.replace(/^-/, '')
  if (!keys.has(sortKey)) throw fail(`defaultSort "${definition.defaultSort}" is not a column`)
  if (!definition.rowKey.length) throw fail('rowKey needs at least one column')
  for (const key of [...definition.rowKey, ...(definition.totalsBy ?? [])]) if (!keys.has(key)) throw fail(`"${key}" (rowKey/totalsBy) is not a column`)
  const owners = new Map<string, string>()
  for (const [name, param] of Object.entries(definition.params)) {
    for (const key of param.keys(name)) {
      if ((ENGINE_KEYS as readonly string[]).includes(key)) throw fail(`param "${name}" reads "${key}", which the engine reserves`)
      if (owners.has(key)) throw fail(`params "${owners.get(key)}" and "${name}" both read "${key}"`)
      owners.set(key, name)
    }
  }
  const chartIds = new Set<string>()
  for (const chart of definition.charts ?? []) {
    if (chartIds.has(chart.id)) throw fail(`chart "${chart.id}" is declared twice`)
    chartIds.add(chart.id)
  }
  const tabIds = new Set((definition.tabs ?? []).map((t) => t.id))
  if (tabIds.size !== (definition.tabs ?? []).length) throw fail('tab ids must be unique')
  for (const tab of definition.tabs ?? []) {
    const shown = new Set(columnsFor(definition, tab.id).map((c) => c.key as string))
    const own = [...(tab.defaultSort === undefined ? [] : [tab.defaultSort.replace(/^-/, '')]), ...(tab.rowKey ?? [])]
    for (const key of own) if (!shown.has(key)) throw fail(`tab "${tab.id}" sorts or keys on "${key}", which is not one of its columns`)
    if (tab.rowKey && !tab.rowKey.length) throw fail(`tab "${tab.id}": rowKey needs at least one column`)
  }
  for (const format of definition.formats ?? []) if (!['csv', 'xlsx', 'xml'].includes(format)) throw fail(`format "${format}" is not csv, xlsx or xml`)
  const actions = definition.actions
  if (actions) {
    if (!keys.has(actions.key)) throw fail(`actions key "${actions.key}" is not a column`)
    if (!/^\/[a-z0-9/_-]*$/i.test(actions.path) || actions.path.startsWith('//')) throw fail('actions path must be a same-site path like /plugin/actions')
    if (!actions.choices.length) throw fail('actions need at least one choice')
    if (actions.name !== undefined && !/^[A-Za-z][A-Za-z0-9_]*$/.test(actions.name)) throw fail('actions name must be a plain form field name')
    for (const tab of actions.tabs ?? []) if (!tabIds.has(tab)) throw fail(`actions name tab "${tab}", which is not declared`)
  }
  return Object.freeze(definition)
}

/** The default sort and row key of a tab: its own when it declares them, else the report's. */
export function orderOf(report: AnyReport, tab: string | undefined): { readonly defaultSort: string; readonly rowKey: readonly string[] } {
  const own = report.tabs?.find((t) => t.id === tab)
  return { defaultSort: own?.defaultSort ?? report.defaultSort, rowKey: own?.rowKey ?? report.rowKey }
}

/** The columns shown in a tab. */
export function columnsFor<Row>(report: ReportDefinition<any, Row>, tab: string | undefined): readonly ColumnDefinition<Row>[] {
  return report.columns.filter((c) => !c.tabs || (tab !== undefined && c.tabs.includes(tab)))
}

export function formatsOf(report: AnyReport): readonly ExportFormat[] {
  return report.formats ?? EXPORT_FORMATS
}

/** The row actions offered on a tab, or undefined. */
export function actionsFor(report: AnyReport, tab: string | undefined): RowActionsDefinition | undefined {
  const actions = report.actions
  if (!actions) return undefined
  return !actions.tabs || (tab !== undefined && actions.tabs.includes(tab)) ? actions : undefined
}

/**
 * Whether `text` looks like a canonical report query (what URLSearchParams writes: no quote, angle
 * bracket, space or `#`), so it is safe to put back into a Location header.
 */
export function isCanonicalQuery(text: string): boolean {
  return /^[A-Za-z0-9_.~%+=&*-]{0,2000}$/.test(text)
}

/**
 * Where a row action sends the browser afterwards: the report view the form was posted from
 * (`/reports/<id>?<query>`), or undefined when `back` is missing or not such a path, so the
 * route can fall back to its own page. Never an off-site or script URL.
 */
export function selectionReturnPath(report: AnyReport, back: unknown): string | undefined {
  if (typeof back !== 'string') return undefined
  const prefix = `/reports/${report.id}`
  if (back === prefix) return back
  if (!back.startsWith(`${prefix}?`)) return undefined
  return isCanonicalQuery(back.slice(prefix.length + 1)) ? back : undefined
}
