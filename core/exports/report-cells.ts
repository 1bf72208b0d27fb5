/**
 * How a report column's values become export cells, once for every format: money (integer minor
 * units plus a currency column) as an exact major-unit number, quantities, percents and integers
 * as exact numbers, dates and text as text. The same rules exist as SQL expressions for the
 * PostgreSQL COPY fast path; the tests check that both give the same bytes.
 */
import { sql, type RawBuilder } from 'kysely'
import { currencyExponent } from '../billing/money.ts'
import { majorPerMinorSql } from '../billing/money-sql.ts'
import type { ColumnDefinition } from '../reports/define.ts'
import { dayIn } from '../reports/period.ts'
import { ExactNumber, exactNumber } from './csv.ts'

/** A cell before formatting: text (neutralised by the CSV and XLSX writers), an exact number, or empty. */
export type ExportCell = string | ExactNumber | null

type Row = Readonly<Record<string, unknown>>

/**
 * A decimal text moved `places` digits to the right of the point, exactly:
 * `('-1250', 2)` -> `'-12.50'`, `('5', 3)` -> `'0.005'`, `('1250', 0)` -> `'1250'`.
 */
export function shiftDecimal(text: string, places: number): string | undefined {
  if (!/^-?\d+(\.\d+)?$/.test(text)) return undefined
  const negative = text.startsWith('-')
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.')
  const digits = (whole + fraction).padStart(places + fraction.length + 1, '0')
  const point = digits.length - places - fraction.length
  const head = digits.slice(0, point).replace(/^0+(?=\d)/, '')
  const tail = digits.slice(point)
  return `${negative ? '-' : ''}${head}${tail ? `.${tail}` : ''}`
}

function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null
  if (typeof value === 'string') return value
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

export interface CellOptions {
  /**
   * The report's time zone (IANA name; UTC by default): a `date` column holding an instant
   * (`timestamptz`) is exported as its day there, `YYYY-MM-DD`, by JS and by SQL alike.
   */
  readonly timeZone?: string
}

/** The day of an instant in `timeZone` ({@link dayIn}), or null for an invalid date. */
export function instantDay(date: Date, timeZone: string): string | null {
  return Number.isNaN(date.getTime()) ? null : dayIn(date, timeZone)
}

/** Reads one column's cell from a row as the engine returns it. */
export function cellReader(column: ColumnDefinition, options: CellOptions = {}): (row: Row) => ExportCell {
  const key = column.key
  switch (column.type) {
    case 'money': {
      const currencyKey = column.currency!
      return (row) => {
        const amount = asText(row[key])
        if (amount === null) return null
        const currency = row[currencyKey]
        const major = shiftDecimal(amount, currencyExponent(typeof currency === 'string' ? currency : ''))
        return major === undefined ? null : new ExactNumber(major)
      }
    }
    case 'quantity':
    case 'percent':
    case 'integer':
      return (row) => {
        const text = asText(row[key])
        return text === null ? null : exactNumber(text) ?? null
      }
    case 'date': {
      const timeZone = options.timeZone ?? 'UTC'
      return (row) => {
        const value = row[key]
        return value instanceof Date ? instantDay(value, timeZone) : asText(value)
      }
    }
    default:
      return (row) => asText(row[key])
  }
}

/** The header of a column: its label, with the unit or where the currency is. */
export function headerLabel(column: ColumnDefinition, columns: readonly ColumnDefinition[]): string {
  const labelOf = (key: string) => columns.find((c) => c.key === key)?.label ?? key
  if (column.type === 'money' && column.currency) return `${column.label} (in ${labelOf(column.currency)})`
  if (column.type === 'quantity' && column.unit) return typeof column.unit === 'string' ? `${column.label} (in ${labelOf(column.unit)})` : `${column.label} (${column.unit.fixed})`
  if (column.type === 'percent') return `${column.label} (%)`
  return column.label
}

/** Code points of `= + - @`, tab and CR: the characters `neutraliseFormula` guards against. */
const FORMULA_CODES = sql.raw('61, 43, 45, 64, 9, 13')

/**
 * SQL text neutralised like `neutraliseFormula` (a leading `'` before `= + - @`, tab or CR). An
 * empty text becomes null: COPY writes an empty string as `""`, the JS writer as nothing.
 * `ascii()` compares one integer where `left(t, 1) in (...)` built and compared text: a third of
 * the export's time on a million rows.
 */
function sqlText(ref: RawBuilder<unknown>): RawBuilder<unknown> {
  const text = sql`(${ref})::text`
  return sql`case when ascii(${text}) in (${FORMULA_CODES}) then '''' || ${text} else nullif(${text}, '') end`
}

/**
 * A numeric expression as exact text, or null for NaN and infinities (the JS reader's rule).
 * Nested `nullif` evaluates the expression once; a `case` would compute it for every test.
 */
function sqlNumber(value: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`nullif(nullif(nullif(${value}, 'NaN'::numeric), 'Infinity'::numeric), '-Infinity'::numeric)`
}

/**
 * A `date` column's text in SQL: an instant (`timestamptz`) as its day in `timeZone`, like
 * {@link dayIn}; anything else (a `date`, text) as its own text. The column's type is only known
 * at run time, hence `pg_typeof`; the value goes through text so the cast is valid whatever the
 * type (a branch not taken is never evaluated).
 */
function sqlDay(ref: RawBuilder<unknown>, timeZone: string): RawBuilder<unknown> {
  return sql`(case when pg_typeof(${ref}) = 'timestamp with time zone'::regtype then to_char((${ref})::text::timestamptz at time zone ${sql.lit(timeZone)}, 'YYYY-MM-DD') else (${ref})::text end)`
}

export interface SqlCellOptions extends CellOptions {
  /**
   * `'csv'` (the default): the CSV cell, text neutralised, NaN and infinities made null in SQL.
   * `'raw'`: text as it is and numbers in PostgreSQL's own text, for a reader that checks numbers
   * and neutralises text itself (the XLSX export): less work for the database.
   */
  readonly form?: 'csv' | 'raw'
}

/**
 * The CSV cell of a column as a SQL expression over the subquery `r`, giving the same text as
 * `cellReader` plus the CSV writer's neutralisation (or, in the `raw` form, the text `cellReader`
 * would check and turn into a cell). Numbers use `numeric`, whose text keeps its scale: minor
 * units times 0.01 are `-12.50`, as `shiftDecimal` writes them.
 */
export function sqlCell(column: ColumnDefinition, options: SqlCellOptions = {}): RawBuilder<unknown> {
  const ref = sql.ref(`r.${column.key}`) as unknown as RawBuilder<unknown>
  const raw = options.form === 'raw'
  switch (column.type) {
    case 'money': {
      const major = sql`((${ref})::numeric * ${majorPerMinorSql(sql.ref(`r.${column.currency!}`))})`
      return raw ? major : sqlNumber(major)
    }
    case 'quantity':
    case 'percent':
    case 'integer':
      return raw ? ref : sqlNumber(sql`(${ref})::numeric`)
    case 'date': {
      const day = sqlDay(ref, options.timeZone ?? 'UTC')
      return raw ? sql`nullif(${day}, '')` : sqlText(day)
    }
    default:
      return raw ? sql`nullif((${ref})::text, '')` : sqlText(ref)
  }
}
