/**
 * A report's rows as a table: column headers are sort links (htmx swap of the results, URL
 * pushed), cells are formatted by column type (money with the row's currency, quantities with
 * their unit, integers with thousands separators, percent, dates, drill-down links), numbers are
 * right-aligned, and the totals rows (one per `totalsBy` group, e.g. per currency) close the table.
 *
 * @example
 * <DataTable columns={request.columns} rows={result.rows} totals={result.totals} totalsBy={report.totalsBy ?? []}
 *   sort={request.sort} sortHref={(key) => hrefWithSort(key)} target="report-results" />
 */
import { formatMoney } from '../../core/billing/money.ts'
import type { ColumnDefinition } from '../../core/reports/define.ts'
import { dayIn } from '../../core/reports/period.ts'

type Row = Readonly<Record<string, unknown>>

/** `1234567.5` -> `1,234,567.5`, on the text, so no digit is lost to a float. */
export function groupDigits(value: string): string {
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(value.trim())
  if (!match) return value
  return `${match[1]}${match[2]!.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${match[3] ?? ''}`
}

const NUMERIC = new Set(['money', 'quantity', 'integer', 'percent'])

export function isNumeric(column: ColumnDefinition): boolean {
  return NUMERIC.has(column.type)
}

function unitOf(column: ColumnDefinition, row: Row): string {
  if (column.unit === undefined) return ''
  if (typeof column.unit === 'object') return column.unit.fixed
  const unit = row[column.unit]
  return unit == null ? '' : String(unit)
}

/**
 * The text a cell shows (links aside): empty for null. A `date` column holding an instant shows its
 * day in `timeZone` (the request's, as its exports write it).
 */
export function formatCell(column: ColumnDefinition, row: Row, timeZone = 'UTC'): string {
  const value = row[column.key]
  if (value == null || value === '') return ''
  const text = value instanceof Date ? (Number.isNaN(value.getTime()) ? '' : dayIn(value, timeZone)) : String(value)
  switch (column.type) {
    case 'money': {
      const currency = column.currency ? row[column.currency] : undefined
      if (typeof currency === 'string' && /^-?\d+$/.test(text)) return formatMoney(text, currency)
      return groupDigits(text)
    }
    case 'quantity': {
      const unit = unitOf(column, row)
      return unit ? `${groupDigits(text)} ${unit}` : groupDigits(text)
    }
    case 'integer': return groupDigits(text)
    case 'percent': return `${groupDigits(text)} %`
    case 'date': return text.slice(0, 10)
    default: return text
  }
}

function Cell(props: { column: ColumnDefinition; row: Row; timeZone: string | undefined }) {
  const { column, row } = props
  const text = formatCell(column, row, props.timeZone)
  if (column.type === 'link' && column.href) {
    const href = column.href(row)
    // Only same-site paths: a report cannot turn a cell into a javascript: or off-site link.
    if (href && href.startsWith('/') && !href.startsWith('//')) return <td><a href={href}>{text}</a></td>
  }
  return <td class={isNumeric(column) ? 'num' : undefined}>{text}</td>
}

export interface DataTableProps {
  readonly columns: readonly ColumnDefinition[]
  readonly rows: readonly Row[]
  readonly totals: readonly Row[]
  readonly totalsBy: readonly string[]
  readonly sort: { readonly key: string; readonly descending: boolean }
  /** The time zone of the request's days (`requestTimeZone`); UTC when left out. */
  readonly timeZone?: string | undefined
  /** The URL of this view sorted by `sort` (`key` or `-key`). */
  readonly sortHref: (sort: string) => string
  /** Id of the element sort links swap. */
  readonly target: string
  /** Ids of further elements the swap refreshes out of band. */
  readonly selectOob: string
  /** A checkbox per row for a selection form elsewhere on the page (HTML `form` attribute). */
  readonly selection?: { readonly key: string; readonly name: string; readonly form: string } | undefined
}

function SelectCell(props: { selection: NonNullable<DataTableProps['selection']>; row: Row; label: string }) {
  const value = props.row[props.selection.key]
  if (value == null || value === '') return <td />
  return (
    <td class="select">
      <input type="checkbox" name={props.selection.name} value={String(value)} form={props.selection.form} aria-label={`Select ${props.label}`} />
    </td>
  )
}

export function DataTable(props: DataTableProps) {
  const columns = props.columns.filter((c) => !c.hiddenInTable)
  const { sort, target, selection } = props
  // A row's checkbox is named after its first shown cell ("Select INV-2025-0001").
  const labelOf = (row: Row) => (columns[0] ? formatCell(columns[0], row) : '') || String(row[selection?.key ?? ''] ?? '')
  return (
    <div class="table-wrap">
      <table class="data report-table">
        <thead>
          <tr>
            {selection && <th scope="col" class="select"><input type="checkbox" data-select-all aria-label="Select every row on this page" /></th>}
            {columns.map((column) => {
              const active = sort.key === column.key
              const next = active && !sort.descending ? `-${column.key}` : column.key
              const ariaSort = active ? (sort.descending ? 'descending' : 'ascending') : undefined
              const cls = isNumeric(column) ? 'num' : undefined
              if (column.sortable === false) return <th class={cls} scope="col" title={column.description}>{column.label}</th>
              const href = props.sortHref(next)
              return (
                <th class={cls} scope="col" aria-sort={ariaSort} title={column.description}>
                  <a class="sort" href={href} hx-get={href} hx-target={`#${target}`} hx-select={`#${target}`} hx-select-oob={props.selectOob} hx-swap="outerHTML" hx-push-url="true"
                    data-sort={active ? (sort.descending ? 'desc' : 'asc') : undefined}>
                    {column.label}
                  </a>
                </th>
              )
            })}
          </tr>
        </thead>
        <tbody>
          {props.rows.length === 0 && <tr><td colspan={columns.length + (selection ? 1 : 0)} class="empty">No rows for these filters.</td></tr>}
          {props.rows.map((row) => (
            <tr>
              {selection && <SelectCell selection={selection} row={row} label={labelOf(row)} />}
              {columns.map((column) => <Cell column={column} row={row} timeZone={props.timeZone} />)}
            </tr>
          ))}
        </tbody>
        {props.rows.length > 0 && props.totals.length > 0 && (
          <tfoot>
            {props.totals.map((group) => (
              <tr class="totals">
                {selection && <td />}
                {columns.map((column, i) => {
                  if (column.total || props.totalsBy.includes(column.key)) return <td class={isNumeric(column) ? 'num' : undefined}>{formatCell({ ...column, type: column.type === 'link' ? 'text' : column.type }, group)}</td>
                  return i === 0 ? <th scope="row">Total</th> : <td />
                })}
              </tr>
            ))}
          </tfoot>
        )}
      </table>
    </div>
  )
}
