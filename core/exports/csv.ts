/**
 * A small CSV writer for exports: RFC 4180 quoting, CRLF line ends, a choice of delimiter, and
 * formula-injection neutralisation so a cell a user typed (`=HYPERLINK(...)`) opens in a
 * spreadsheet as text, never as a formula. Rows stream out in batches; nothing holds the whole
 * export in memory.
 *
 * @example
 * const body = csvStream(batches(), { header: ['id', 'name'] })
 * return c.body(body, 200, { 'Content-Type': CSV_CONTENT_TYPE })
 */

const NUMBER_TEXT = /^-?\d+(\.\d+)?$/

/**
 * A number kept as its exact decimal text (`-12.50`, `123456789012345678.25`): written verbatim,
 * never through a float (which would drop the trailing zero or round big values) and never
 * neutralised (a negative amount is a number, not a formula).
 */
/** Lets {@link exactNumber} skip the constructor's second test of the same text. */
const CHECKED = Symbol('checked')

export class ExactNumber {
  readonly text: string
  constructor(text: string, checked?: typeof CHECKED) {
    if (checked !== CHECKED && !NUMBER_TEXT.test(text)) throw new RangeError(`not a plain decimal number: ${JSON.stringify(text.slice(0, 40))}`)
    this.text = text
  }
}

/** `text` as an {@link ExactNumber}, or undefined when it is not a plain decimal (`NaN`, `1e5`, `abc`). */
export function exactNumber(text: string): ExactNumber | undefined {
  return NUMBER_TEXT.test(text) ? new ExactNumber(text, CHECKED) : undefined
}

/** One cell: text, a number (a JS number or an exact decimal text), or empty. */
export type CsvCell = string | number | ExactNumber | null | undefined

export type CsvDelimiter = ',' | '|'

export interface CsvOptions {
  /** `,` by default; `|` for systems that want pipe-separated files. */
  readonly delimiter?: CsvDelimiter
}

export interface CsvStreamOptions extends CsvOptions {
  /** Column names, written first (also neutralised and quoted like any cell). */
  readonly header?: readonly string[]
  /** Start with a UTF-8 byte order mark, so spreadsheet programs read non-ASCII text correctly. */
  readonly bom?: boolean
}

export const CSV_CONTENT_TYPE = 'text/csv; charset=utf-8'

/** Characters a spreadsheet reads as the start of a formula (OWASP "CSV injection"). */
const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r'])

/** Text a spreadsheet would read as a formula gets a leading `'` (the same rule for CSV and XLSX). */
export function neutraliseFormula(text: string): string {
  return FORMULA_START.has(text.charAt(0)) ? `'${text}` : text
}

/** One cell as it appears in the file: neutralised, then quoted when it needs to be. */
export function csvCell(value: CsvCell, options: CsvOptions = {}): string {
  if (value === null || value === undefined) return ''
  // A number is written as a number: `-3` stays a negative number, not a neutralised string.
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : ''
  if (value instanceof ExactNumber) return value.text
  const delimiter = options.delimiter ?? ','
  const text = neutraliseFormula(value)
  const needsQuotes = text.includes(delimiter) || text.includes('"') || text.includes('\n') || text.includes('\r')
  return needsQuotes ? `"${text.replaceAll('"', '""')}"` : text
}

/** One row, with its CRLF line end. */
export function csvLine(cells: readonly CsvCell[], options: CsvOptions = {}): string {
  return cells.map((cell) => csvCell(cell, options)).join(options.delimiter ?? ',') + '\r\n'
}

/** A whole (small) document as one string; for large exports use {@link csvStream}. */
export function csvText(rows: readonly (readonly CsvCell[])[], options: CsvStreamOptions = {}): string {
  const head = options.header ? csvLine(options.header, options) : ''
  return (options.bom ? '\uFEFF' : '') + head + rows.map((row) => csvLine(row, options)).join('')
}

/**
 * A byte stream of CSV from batches of rows. Each batch is pulled only when the reader wants more,
 * so a slow client slows the database reads instead of filling memory. Cancelling the stream (the
 * client went away) closes the source.
 */
export function csvStream(
  batches: AsyncIterable<readonly (readonly CsvCell[])[]>,
  options: CsvStreamOptions = {},
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let iterator: AsyncIterator<readonly (readonly CsvCell[])[]> | undefined
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const head = (options.bom ? '\uFEFF' : '') + (options.header ? csvLine(options.header, options) : '')
      if (head) controller.enqueue(encoder.encode(head))
      iterator = batches[Symbol.asyncIterator]()
    },
    async pull(controller) {
      // Skip empty batches so a pull always either enqueues bytes or ends the stream.
      for (;;) {
        const next = await iterator!.next()
        if (next.done) return controller.close()
        if (next.value.length === 0) continue
        controller.enqueue(encoder.encode(next.value.map((row) => csvLine(row, options)).join('')))
        return
      }
    },
    async cancel() {
      await iterator?.return?.()
    },
  })
}
