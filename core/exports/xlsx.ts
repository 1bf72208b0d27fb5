/**
 * A streamed XLSX writer over exceljs' WorkbookWriter: rows are committed as they come, no shared
 * strings and no styles (both would hold state for the whole file). exceljs does not wait for a
 * slow output, so after every few dozen rows we give the event loop a turn (zlib and the output
 * run) and, when our output buffer is full, wait for it to drain (DESIGN.md §11: without this a
 * million rows take ~600 MB).
 *
 * Cells: numbers are number cells; text is neutralised like CSV (`'=...`) with the characters
 * XML cannot hold replaced; dates are ISO `YYYY-MM-DD` text (a real date cell needs a number
 * format, i.e. styles). A sheet holds at most 1,048,576 rows; more rows continue on a new sheet
 * with the header repeated.
 */
import { once } from 'node:events'
import { Writable } from 'node:stream'
import ExcelJS from 'exceljs'
import { ExactNumber, neutraliseFormula } from './csv.ts'
import type { ExportCell } from './report-cells.ts'
import { xmlSafe } from './xml.ts'

export const XLSX_MAX_ROWS = 1_048_576
const YIELD_EVERY = 50
const OUTPUT_BUFFER = 1 << 20

export interface XlsxOptions {
  readonly header: readonly string[]
  readonly sheetName: string
  readonly title?: string
  readonly description?: string
  /** Rows per sheet, header included (tests lower it). */
  readonly maxRows?: number
}

/** A sheet name Excel accepts: no `[]:*?/\`, at most 31 characters, not empty. */
export function sheetName(name: string): string {
  return xmlSafe(name).replace(/[[\]:*?/\\]/g, ' ').replace(/^'+|'+$/g, '').trim().slice(0, 31) || 'Report'
}

function xlsxValue(cell: ExportCell): string | number | null {
  if (cell === null) return null
  if (cell instanceof ExactNumber) return Number(cell.text)
  return neutraliseFormula(xmlSafe(cell))
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Writes the workbook for `batches` to `sink`; resolves after the last byte was written. */
export async function writeXlsx(
  batches: AsyncIterable<readonly (readonly ExportCell[])[]>,
  sink: (chunk: Uint8Array) => Promise<void>,
  options: XlsxOptions,
  afterBatch: (rows: number) => Promise<void>,
): Promise<void> {
  let failure: unknown
  const output = new Writable({
    highWaterMark: OUTPUT_BUFFER,
    write(chunk: Buffer, _encoding, callback) {
      sink(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)).then(() => callback(), callback)
    },
  })
  output.on('error', (error) => { failure ??= error })
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: output, useStyles: false, useSharedStrings: false })
  workbook.creator = 'Ledgerlite'
  if (options.title) workbook.title = xmlSafe(options.title)
  if (options.description) workbook.description = xmlSafe(options.description)
  const maxRows = options.maxRows ?? XLSX_MAX_ROWS
  const header = options.header.map((h) => neutraliseFormula(xmlSafe(h)))
  let sheetCount = 0
  let sheet: ExcelJS.Worksheet | undefined
  let rowsInSheet = 0
  const newSheet = () => {
    sheet?.commit()
    sheetCount++
    const base = sheetName(options.sheetName)
    sheet = workbook.addWorksheet(sheetCount === 1 ? base : `${base.slice(0, 26)} (${sheetCount})`)
    sheet.addRow(header).commit()
    rowsInSheet = 1
  }
  const check = () => { if (failure) throw failure }
  try {
    newSheet()
    let sinceTurn = 0
    for await (const batch of batches) {
      for (const cells of batch) {
        if (rowsInSheet >= maxRows) newSheet()
        sheet!.addRow(cells.map(xlsxValue)).commit()
        rowsInSheet++
        if (++sinceTurn >= YIELD_EVERY) {
          sinceTurn = 0
          await turn()
          check()
        }
      }
      while (output.writableLength >= OUTPUT_BUFFER && !failure) await Promise.race([once(output, 'drain'), once(output, 'error')])
      check()
      await afterBatch(batch.length)
    }
    sheet!.commit()
    await workbook.commit()
    check()
  } catch (error) {
    output.destroy()
    throw error
  }
}
