/**
 * A small RFC 4180 reader: quoted fields (with `""` for a quote, and delimiters and line breaks
 * inside quotes), CRLF or LF line ends, a choice of delimiter, a leading byte order mark ignored.
 * Each record carries the line number it starts on, so an import can report errors by line.
 *
 * @example
 * for (const { line, cells } of readCsv('a,b\r\n"x,1",2\r\n')) console.log(line, cells)
 */

export interface CsvRecord {
  /** 1-based line number where the record starts. */
  readonly line: number
  readonly cells: string[]
}

export class CsvSyntaxError extends Error {
  readonly line: number
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`)
    this.name = 'CsvSyntaxError'
    this.line = line
  }
}

/** Reads every record of `text`. Blank lines are skipped. Throws {@link CsvSyntaxError} on a broken quote. */
export function* readCsv(text: string, delimiter: ',' | '|' = ','): Generator<CsvRecord> {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0
  let line = 1
  const n = text.length
  while (i < n) {
    const start = line
    const cells: string[] = []
    let cell = ''
    let quoted = false
    let sawQuote = false
    for (;;) {
      if (i >= n) {
        if (quoted) throw new CsvSyntaxError(start, 'a quoted field is not closed')
        cells.push(cell)
        break
      }
      const ch = text[i]!
      if (quoted) {
        if (ch === '"') {
          if (text[i + 1] === '"') { cell += '"'; i += 2; continue }
          quoted = false
          i++
          continue
        }
        if (ch === '\n') line++
        cell += ch
        i++
        continue
      }
      if (ch === '"') {
        if (cell !== '' || sawQuote) throw new CsvSyntaxError(start, 'a quote may only open a field')
        quoted = true
        sawQuote = true
        i++
        continue
      }
      if (ch === delimiter) { cells.push(cell); cell = ''; sawQuote = false; i++; continue }
      if (ch === '\r' || ch === '\n') {
        cells.push(cell)
        i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1
        line++
        break
      }
      if (sawQuote) throw new CsvSyntaxError(start, 'text after a closing quote')
      cell += ch
      i++
    }
    if (cells.length === 1 && cells[0] === '' ) continue
    yield { line: start, cells }
  }
}
