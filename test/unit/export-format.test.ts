/**
 * The pieces of the export formats on their own: exact numbers in CSV, money shifted to major
 * units without floats, XML escaping with hostile text, Content-Disposition for nasty names, the
 * COPY parameter inliner refusing what it cannot prove safe, and the CSV record counter.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { SaxesParser } from 'saxes'
import { asciiFileName, contentDisposition } from '../../core/exports/content-disposition.ts'
import { csvCell, csvLine, ExactNumber, exactNumber } from '../../core/exports/csv.ts'
import { CopyCsvLines, CopyTextRows, inlineParameters } from '../../core/exports/pg-copy.ts'
import { cellReader, headerLabel, instantDay, shiftDecimal } from '../../core/exports/report-cells.ts'
import { sheetName } from '../../core/exports/xlsx.ts'
import { isXmlName, xmlElement, xmlEscape } from '../../core/exports/xml.ts'
import type { ColumnDefinition } from '../../core/reports/define.ts'
import { fileNameFor } from '../../core/reports/export.ts'

const test = suite('export formats')

test('exact numbers are written verbatim and never neutralised; bad number text is refused', () => {
  assert.is(csvCell(new ExactNumber('-12.50')), '-12.50')
  assert.is(csvLine([new ExactNumber('-0.05'), '-0.05', 3]), "-0.05,'-0.05,3\r\n")
  assert.is(csvCell(new ExactNumber('123456789012345678901.10')), '123456789012345678901.10')
  for (const bad of ['1e5', 'NaN', '=1', '1,5', ' 1', '']) {
    assert.is(exactNumber(bad), undefined, bad)
    assert.throws(() => new ExactNumber(bad))
  }
})

test('money is shifted to major units exactly, by the currency exponent', () => {
  assert.is(shiftDecimal('-1250', 2), '-12.50')
  assert.is(shiftDecimal('5', 2), '0.05')
  assert.is(shiftDecimal('-5', 3), '-0.005')
  assert.is(shiftDecimal('1250', 0), '1250')
  assert.is(shiftDecimal('0', 2), '0.00')
  assert.is(shiftDecimal('1250.5', 2), '12.505')
  assert.is(shiftDecimal('900719925474099312345', 2), '9007199254740993123.45')
  assert.is(shiftDecimal('12x', 2), undefined)
  const money: ColumnDefinition = { key: 'amount', label: 'Amount', type: 'money', currency: 'currency' }
  const read = cellReader(money)
  const text = (row: Record<string, unknown>) => { const cell = read(row); return cell instanceof ExactNumber ? cell.text : cell }
  assert.is(text({ amount: '-1250', currency: 'EUR' }), '-12.50')
  assert.is(text({ amount: '1250', currency: 'JPY' }), '1250')
  assert.is(text({ amount: '1250', currency: 'KWD' }), '1.250')
  assert.is(text({ amount: null, currency: 'EUR' }), null)
  const columns: ColumnDefinition[] = [money, { key: 'currency', label: 'Currency', type: 'text' }, { key: 'gb', label: 'Storage', type: 'quantity', unit: { fixed: 'GB' } }]
  assert.is(headerLabel(columns[0]!, columns), 'Amount (in Currency)')
  assert.is(headerLabel(columns[2]!, columns), 'Storage (GB)')
})

test('COPY text rows parse back whatever the chunk boundaries: escapes, NULL, empty text, multi-byte text', () => {
  // As COPY writes them: tab between fields, \N for NULL, an empty field an empty string, and a
  // backslash before a backslash, tab, line break, CR and the other control characters it escapes.
  const copy = '1\tplain\t\\N\n2\ta,b\tsay "hi"\n3\ttwo\\nlines\\r\\n\t\n4\tünïcødé € 😀\t😀\\t\\\\N\\\\\\b\\f\\v\n5\t\\N\tx\n'
  const expected = [['1', 'plain', null], ['2', 'a,b', 'say "hi"'], ['3', 'two\nlines\r\n', ''], ['4', 'ünïcødé € 😀', '😀\t\\N\\\b\f\v'], ['5', null, 'x']]
  const bytes = Buffer.from(copy, 'utf8')
  for (let cut = 0; cut <= bytes.length; cut++) {
    for (const step of [1, 7, bytes.length]) {
      const rows = new CopyTextRows()
      const out: (string | null)[][] = [...rows.parse(bytes.subarray(0, cut))]
      for (let at = cut; at < bytes.length; at += step) out.push(...rows.parse(bytes.subarray(at, Math.min(at + step, bytes.length))))
      rows.finish()
      assert.equal(out, expected, `cut at ${cut}, then ${step} bytes at a time`)
    }
  }
  const unfinished = new CopyTextRows()
  unfinished.parse(Buffer.from('1\topen'))
  assert.throws(() => unfinished.finish())
})

test('an instant in a date column is its day in the time zone, the year padded like to_char', () => {
  const date: ColumnDefinition = { key: 'at', label: 'At', type: 'date' }
  const at = new Date('2026-01-14T23:30:00Z')
  assert.is(cellReader(date)({ at }), '2026-01-14')
  assert.is(cellReader(date, { timeZone: 'Asia/Tokyo' })({ at }), '2026-01-15')
  assert.is(cellReader(date, { timeZone: 'America/New_York' })({ at: new Date('2026-03-08T04:59:00Z') }), '2026-03-07')
  assert.is(cellReader(date)({ at: '2026-01-14' }), '2026-01-14')
  assert.is(instantDay(new Date('0999-03-04T12:00:00Z'), 'UTC'), '0999-03-04')
  assert.is(instantDay(new Date(NaN), 'UTC'), null)
})

test('XML text survives control characters, ]]>, markup and quotes, and parses back', () => {
  const nasty = 'a & b <c> "d" \'e\' ]]> \u0001\u0008\u000b\u001f tab\t nl\n cr\r end \ud800'
  const doc = `<?xml version="1.0"?><r a="${xmlEscape(nasty)}">${xmlElement('v', nasty)}</r>`
  // saxes (exceljs' own XML parser) is strict: a forbidden character or a bare & is an error.
  let value = ''
  let attribute = ''
  const parser = new SaxesParser()
  parser.on('error', (error) => { throw error })
  parser.on('opentag', (tag) => { if (tag.name === 'r') attribute = String(tag.attributes.a) })
  parser.on('text', (text) => { value += text })
  parser.write(doc).close()
  assert.ok(value.includes('a & b <c> "d" \'e\' ]]> '), value)
  assert.ok(value.includes(' cr\r end'), 'CR survives as a character reference')
  assert.ok(attribute.startsWith('a & b <c> "d"'), attribute)
  const strict = new SaxesParser()
  strict.on('error', (e) => { throw e })
  assert.throws(() => strict.write('<r>\u0001</r>').close())
  assert.not.ok(/[\u0001\u0008\u000b\u001f]/.test(value))
  assert.ok(value.includes('\ufffd'))
  assert.not.ok(xmlEscape(nasty).includes(']]>'))
  assert.ok(isXmlName('org_name'))
  assert.not.ok(isXmlName('1abc'))
  assert.not.ok(isXmlName('xmlThing'))
  assert.not.ok(isXmlName('a b'))
})

test('Content-Disposition is safe for any name', () => {
  const cases = ['Report "Q1"; filename=evil.exe', 'line\r\nSet-Cookie: x=1', 'Umsätze Ärger € 日本', '../../etc/passwd', 'a\\b', '\u0000\u0007', '...hidden']
  for (const name of cases) {
    const header = contentDisposition(`${name}.csv`)
    assert.not.ok(/[\r\n\u0000-\u001f]/.test(header), JSON.stringify(header))
    const match = /^attachment; filename="([^"\\]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+.^_`|~%-]+)$/.exec(header)
    assert.ok(match, header)
    assert.ok(/^[\x20-\x7e]+$/.test(match![1]!), header)
    const decoded = decodeURIComponent(match![2]!)
    assert.not.ok(decoded.includes('/') || decoded.includes('\\'), decoded)
    assert.not.ok(decoded.startsWith('.'), decoded)
  }
  assert.match(contentDisposition('Umsätze.csv'), `filename="Umsatze.csv"; filename*=UTF-8''Ums%C3%A4tze.csv`)
  assert.is(asciiFileName('日本.csv'), '__.csv')
  assert.is(fileNameFor('a/b: "c"', 'xlsx', new Date('2026-01-15T00:00:00Z')), 'a b c 2026-01-15.xlsx')
  assert.is(sheetName('Sales [2025]: a/b?'), 'Sales  2025   a b')
})

test('COPY parameters are inlined only when provably safe', () => {
  assert.is(inlineParameters('select * from t where a = $1 and b in ($2, $3) and c = $10', ['x', 5, null, 1, 2, 3, 4, 5, 6, "o'k"]),
    "select * from t where a = ('x') and b in (('5'), (NULL)) and c = ('o''k')")
  assert.is(inlineParameters('select a - $1', [-5]), "select a - ('-5')")
  assert.is(inlineParameters(`select '$1', "a$1" from t where x = $1`, ['v']), `select '$1', "a$1" from t where x = ('v')`)
  assert.is(inlineParameters("select 'it''s' where x = $1", [true]), "select 'it''s' where x = (true)")
  assert.is(inlineParameters('select $1', [new Date('2026-01-02T03:04:05Z')]), "select ('2026-01-02T03:04:05.000Z'::timestamptz)")
  for (const [text, params] of [
    ['select $1', ['back\\slash']], ['select $1', ['nul\u0000']], ['select $1', [[1, 2]]], ['select $1', [{ a: 1 }]], ['select $1', [Number.NaN]],
    ["select E'x' where a = $1", ['v']], ['select $$x$$', []], ['select 1 -- $1', ['v']], ['select /* */ 1', []], ['select 1; drop table t', []],
    ["select 'unterminated", []], ['select $2', ['only one']],
  ] as const) {
    assert.is(inlineParameters(text, params as readonly unknown[]), undefined, text)
  }
})

test('COPY output gets CRLF record ends, line breaks inside quoted fields untouched, at every chunk split', () => {
  const copy = 'a,"b\nc",d\n"x""\ny",2\n"",""""\n3,"\r\n"\n"q""",4\n'
  const expected = 'a,"b\nc",d\r\n"x""\ny",2\r\n"",""""\r\n3,"\r\n"\r\n"q""",4\r\n'
  const bytes = new TextEncoder().encode(copy)
  const decode = (parts: Uint8Array[]) => Buffer.concat(parts).toString('utf8')
  for (let first = 0; first <= bytes.length; first++) {
    for (const second of [first, Math.min(bytes.length, first + 1), Math.min(bytes.length, first + 3), bytes.length]) {
      const lines = new CopyCsvLines()
      const out = [bytes.subarray(0, first), bytes.subarray(first, second), bytes.subarray(second)].map((part) => lines.convert(part))
      assert.is(decode(out), expected, `split at ${first}/${second}`)
      assert.is(lines.records, 5, `split at ${first}/${second}`)
    }
  }
  // A chunk ending inside a quoted field, after several quotes and no line feed.
  const lines = new CopyCsvLines()
  assert.is(decode([lines.convert(Buffer.from('1,"a""b""')), lines.convert(Buffer.from('\nc"\n'))]), '1,"a""b""\nc"\r\n')
  assert.is(lines.records, 1)
})

test.run()
