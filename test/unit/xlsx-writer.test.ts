/**
 * The hand-written XLSX writer and its ZIP container on their own: hostile text and exact numbers
 * read back through exceljs, the formula rule equal to CSV's for every leading character, sheets
 * continuing past the row limit, the ZIP checked entry by entry (CRC, sizes, central directory)
 * and by `unzip -t`, the 4 GB refusal, and a slow sink holding back the row source.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32, inflateRawSync } from 'node:zlib'
import ExcelJS from 'exceljs'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ExactNumber, neutraliseFormula } from '../../core/exports/csv.ts'
import type { ExportCell } from '../../core/exports/report-cells.ts'
import { columnName, textElement, writeXlsx, ZipTooLargeError, type XlsxOptions } from '../../core/exports/xlsx.ts'
import { xmlSafe } from '../../core/exports/xml.ts'
import { ZipWriter } from '../../core/exports/zip.ts'

const test = suite('xlsx writer')

/** The error `promise` rejects with (uvu's `throws` is synchronous only). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  return assert.unreachable('expected a rejection')
}

type Rows = ExportCell[][]

async function* batchesOf(batches: Rows[], seen?: { pulled: number; closed: boolean }): AsyncGenerator<Rows> {
  try {
    for (const batch of batches) {
      if (seen) seen.pulled++
      yield batch
    }
  } finally {
    if (seen) seen.closed = true
  }
}

async function xlsxBytes(batches: Rows[], options: Partial<XlsxOptions> = {}, reported: number[] = []): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  await writeXlsx(batchesOf(batches), async (chunk) => { chunks.push(chunk) }, { header: ['Name', 'Amount'], sheetName: 'Sheet', ...options }, async (n) => { reported.push(n) })
  return Buffer.concat(chunks)
}

async function readBack(bytes: Buffer): Promise<ExcelJS.Workbook> {
  const workbook = new ExcelJS.Workbook()
  await workbook.xlsx.load(bytes as unknown as ArrayBuffer)
  return workbook
}

const sheetValues = (sheet: ExcelJS.Worksheet) => {
  const out: unknown[][] = []
  sheet.eachRow((row) => { out.push((row.values as unknown[]).slice(1)) })
  return out
}

interface ZipEntry { name: string; data: Buffer }

/** Reads a ZIP through its central directory, checking each entry's CRC and sizes: independent of the writer. */
function unzipEntries(zip: Buffer): ZipEntry[] {
  const end = zip.length - 22
  assert.is(zip.readUInt32LE(end), 0x06054b50, 'end of central directory')
  const count = zip.readUInt16LE(end + 10)
  const size = zip.readUInt32LE(end + 12)
  let at = zip.readUInt32LE(end + 16)
  assert.is(at + size, end, 'the directory ends where the end record starts')
  const entries: ZipEntry[] = []
  for (let i = 0; i < count; i++) {
    assert.is(zip.readUInt32LE(at), 0x02014b50, 'central header')
    const crc = zip.readUInt32LE(at + 16)
    const compressed = zip.readUInt32LE(at + 20)
    const length = zip.readUInt32LE(at + 24)
    const nameLength = zip.readUInt16LE(at + 28)
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength)
    const local = zip.readUInt32LE(at + 42)
    assert.is(zip.readUInt32LE(local), 0x04034b50, `${name}: local header`)
    assert.is(zip.toString('utf8', local + 30, local + 30 + nameLength), name)
    const start = local + 30 + nameLength + zip.readUInt16LE(local + 28)
    const data = inflateRawSync(zip.subarray(start, start + compressed))
    assert.is(data.length, length, `${name}: size`)
    assert.is(crc32(data), crc, `${name}: CRC`)
    if (zip.readUInt16LE(local + 6) & 0x0008) {
      // The data descriptor after the data repeats the directory's figures.
      assert.is(zip.readUInt32LE(start + compressed), 0x08074b50, `${name}: data descriptor`)
      assert.equal([zip.readUInt32LE(start + compressed + 4), zip.readUInt32LE(start + compressed + 8), zip.readUInt32LE(start + compressed + 12)], [crc, compressed, length])
    }
    entries.push({ name, data })
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32)
  }
  return entries
}

const HOSTILE = [
  'a & b <c> "d" \'e\'',
  'x ]]> y',
  'ctl \u0001\u0008\u000b\u000c\u001f end',
  'emoji 😀 and 日本 and Ünïcødé',
  'lone \ud800 surrogate',
  'tab\tnl\ncr\rend',
  '  leading and trailing  ',
  '=HYPERLINK("http://x")',
  '+1',
  '-2',
  '@SUM(A1)',
  '\tstarts with tab',
  '\rstarts with CR',
  '<![CDATA[x]]>',
]

test('hostile text reads back as written: escaped, forbidden characters replaced, formulas neutralised', async () => {
  const rows: Rows = HOSTILE.map((text) => [text, new ExactNumber('1')])
  const bytes = await xlsxBytes([rows])
  const values = sheetValues((await readBack(bytes)).worksheets[0]!)
  assert.equal(values[0], ['Name', 'Amount'])
  const replaced = (text: string) => text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]|\ud800/g, '\ufffd')
  assert.equal(values.slice(1).map((r) => r[0]), HOSTILE.map((text) => replaced(neutraliseFormula(text))))
  assert.ok(values.some((r) => r[0] === "'=HYPERLINK(\"http://x\")"))
  assert.ok(values.some((r) => r[0] === 'tab\tnl\ncr\rend'), 'CR survives as a character reference')
  assert.ok(values.some((r) => r[0] === '  leading and trailing  '), 'spaces are kept')
  const sheet = unzipEntries(bytes).find((e) => e.name === 'xl/worksheets/sheet1.xml')!.data.toString('utf8')
  assert.not.ok(/[\u0001\u0008\u000b\u000c\u001f]/.test(sheet))
  assert.ok(sheet.includes('x ]]&gt; y'))
})

test('numbers are number cells with the exact text: negative, huge, many decimals', async () => {
  const numbers = ['-12.50', '-0.005', '0', '123456789012345678901.25', '-9007199254740993', '1250', '0.000001']
  const rows: Rows = numbers.map((text) => [`n ${text}`, new ExactNumber(text)])
  const bytes = await xlsxBytes([rows])
  const values = sheetValues((await readBack(bytes)).worksheets[0]!).slice(1)
  assert.equal(values.map((r) => r[1]), numbers.map(Number))
  assert.ok(values.every((r) => typeof r[1] === 'number'))
  // The file holds the decimal text itself, not a float's rendering of it.
  const sheet = unzipEntries(bytes).find((e) => e.name === 'xl/worksheets/sheet1.xml')!.data.toString('utf8')
  for (const text of numbers) assert.ok(sheet.includes(`<v>${text}</v>`), text)
})

test('the formula rule is the CSV rule for every leading code unit', () => {
  for (let code = 0; code <= 0xffff; code++) {
    const text = `${String.fromCharCode(code)}x`
    const content = /^<t[^>]*>([^]*)<\/t>$/.exec(textElement(text))![1]!
    const entities: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'", '&#13;': '\r' }
    const decoded = content.replace(/&[a-z]+;|&#13;/g, (entity) => entities[entity]!)
    assert.is(decoded, xmlSafe(neutraliseFormula(text)), `U+${code.toString(16)}`)
  }
  // Excel's own `_xHHHH_` escape stays literal text.
  assert.is(textElement('a_x0041_b'), '<t>a_x005F_x0041_b</t>')
})

test('empty cells are left out; column names go past Z', async () => {
  assert.equal([0, 25, 26, 51, 52, 701, 702, 16383].map(columnName), ['A', 'Z', 'AA', 'AZ', 'BA', 'ZZ', 'AAA', 'XFD'])
  const bytes = await xlsxBytes([[[null, new ExactNumber('5')], ['only name', null], ['', null]]])
  const values = sheetValues((await readBack(bytes)).worksheets[0]!)
  assert.equal(values.slice(1), [[undefined, 5], ['only name']])
})

test('rows past the limit continue on a new sheet with the header; no empty sheet at an exact fit', async () => {
  const row = (i: number): ExportCell[] => [`r${i}`, new ExactNumber(String(i))]
  const reported: number[] = []
  // Batches of 3 with 3 data rows per sheet (maxRows 4 with the header): sheets split mid-batch.
  const batches = [[row(1), row(2), row(3)], [row(4), row(5), row(6)], [], [row(7)]]
  const workbook = await readBack(await xlsxBytes(batches, { maxRows: 4, sheetName: 'Usage [2025]' }, reported))
  assert.equal(workbook.worksheets.map((s) => s.name), ['Usage  2025', 'Usage  2025 (2)', 'Usage  2025 (3)'])
  assert.equal(workbook.worksheets.map((s) => sheetValues(s).map((r) => r[0])), [['Name', 'r1', 'r2', 'r3'], ['Name', 'r4', 'r5', 'r6'], ['Name', 'r7']])
  assert.equal(reported, [3, 3, 1], 'each non-empty batch reported once')
  const exact = await readBack(await xlsxBytes([[row(1), row(2), row(3)], [row(4), row(5), row(6)]], { maxRows: 4 }))
  assert.is(exact.worksheets.length, 2)
  const empty = await readBack(await xlsxBytes([], { title: 'Q1 & "all"', description: 'd <x>' }))
  assert.equal(sheetValues(empty.worksheets[0]!), [['Name', 'Amount']])
  assert.is(empty.title, 'Q1 & "all"')
  assert.is(empty.creator, 'Ledgerlite')
})

test('the ZIP is valid: every entry inflates to its CRC and size, and unzip -t agrees', async () => {
  const rows: Rows = Array.from({ length: 5000 }, (_, i) => [`row ${i} ${'x'.repeat(i % 50)}`, new ExactNumber(`-${i}.25`)])
  const bytes = await xlsxBytes([rows.slice(0, 2500), rows.slice(2500)])
  const entries = unzipEntries(bytes)
  assert.equal(entries.map((e) => e.name), ['[Content_Types].xml', '_rels/.rels', 'xl/worksheets/sheet1.xml', 'xl/workbook.xml', 'xl/_rels/workbook.xml.rels', 'xl/styles.xml', 'docProps/core.xml'])
  assert.ok(entries[2]!.data.length > 200_000)
  if (existsSync('/usr/bin/unzip')) {
    const dir = mkdtempSync(join(tmpdir(), 'xlsx-'))
    try {
      writeFileSync(join(dir, 'a.xlsx'), bytes)
      const result = spawnSync('/usr/bin/unzip', ['-t', join(dir, 'a.xlsx')], { encoding: 'utf8' })
      assert.is(result.status, 0, result.stdout + result.stderr)
      assert.match(result.stdout, 'No errors detected')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
})

test('over the size limit: refused with a clear error, and the row source is closed', async () => {
  const zip = new ZipWriter(async () => {}, { limit: 1000 })
  const error = await rejection(zip.addStream('big', (async function* () { yield Buffer.alloc(600); yield Buffer.alloc(600) })()))
  assert.instance(error, ZipTooLargeError)
  assert.is((error as ZipTooLargeError).code, 'ZIP_TOO_LARGE')
  assert.match((error as Error).message, 'without ZIP64')
  const seen = { pulled: 0, closed: false }
  const rows: Rows = Array.from({ length: 200 }, (_, i) => [`row ${i} ${'y'.repeat(100)}`, new ExactNumber(String(i))])
  assert.instance(await rejection(writeXlsx(batchesOf(Array.from({ length: 50 }, () => rows), seen), async () => {}, { header: ['a', 'b'], sheetName: 's', zip: { limit: 100_000, level: 0 } }, async () => {})), ZipTooLargeError)
  assert.ok(seen.closed, 'the batches were closed')
  assert.ok(seen.pulled < 50, `stopped early: ${seen.pulled}`)
})

test('a slow sink holds back the rows; a failing sink stops the export and closes the rows', async () => {
  const seen = { pulled: 0, closed: false }
  const rows: Rows = Array.from({ length: 1000 }, (_, i) => [`row ${i} ${Math.random()}`, new ExactNumber(String(i))])
  let release: (() => void) | undefined
  let gate = new Promise<void>((resolve) => { release = resolve })
  let written = 0
  const done = writeXlsx(batchesOf(Array.from({ length: 400 }, () => rows), seen), async (chunk) => { written += chunk.byteLength; await gate }, { header: ['a', 'b'], sheetName: 's' }, async () => {})
  for (let i = 0; i < 200; i++) await new Promise((resolve) => setImmediate(resolve))
  const pulledWhileBlocked = seen.pulled
  assert.ok(pulledWhileBlocked < 40, `pulled ${pulledWhileBlocked} of 400 batches while the sink was blocked`)
  gate = Promise.resolve()
  release!()
  await done
  assert.is(seen.pulled, 400)
  assert.ok(written > 0)

  const failing = { pulled: 0, closed: false }
  let calls = 0
  const failure = await rejection(writeXlsx(batchesOf(Array.from({ length: 400 }, () => rows), failing), async () => { if (++calls > 20) throw new Error('client went away') }, { header: ['a', 'b'], sheetName: 's' }, async () => {}))
  assert.match((failure as Error).message, 'client went away')
  assert.ok(failing.closed && failing.pulled > 0 && failing.pulled < 400, `pulled ${failing.pulled}`)
})

test.run()
