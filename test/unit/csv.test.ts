import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { csvCell, csvLine, csvStream, csvText, type CsvCell } from '../../core/exports/csv.ts'

const test = suite('csv writer')

test('plain cells are written as they are; numbers as numbers; null and undefined as empty', () => {
  assert.is(csvLine(['abc', 42, -3.5, null, undefined, '']), 'abc,42,-3.5,,,\r\n')
  assert.is(csvCell(Number.NaN), '')
  assert.is(csvCell(Number.POSITIVE_INFINITY), '')
})

test('cells with the delimiter, quotes or line breaks are quoted, quotes doubled', () => {
  assert.is(csvCell('a,b'), '"a,b"')
  assert.is(csvCell('say "hi"'), '"say ""hi"""')
  assert.is(csvCell('two\nlines'), '"two\nlines"')
  assert.is(csvCell('cr\rhere'), '"cr\rhere"')
  // With a pipe delimiter, a comma is ordinary text and a pipe needs quotes.
  assert.is(csvCell('a,b', { delimiter: '|' }), 'a,b')
  assert.is(csvCell('a|b', { delimiter: '|' }), '"a|b"')
  assert.is(csvLine(['x', 'y|z', 1], { delimiter: '|' }), 'x|"y|z"|1\r\n')
})

test('text that a spreadsheet would read as a formula is neutralised with a leading quote', () => {
  for (const start of ['=', '+', '-', '@', '\t', '\r']) {
    const cell = csvCell(`${start}1+1`)
    assert.ok(cell === `'${start}1+1` || cell === `"'${start}1+1"`, `${JSON.stringify(start)} -> ${JSON.stringify(cell)}`)
  }
  assert.is(csvCell('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`)
  // Only the first character matters, and numbers are never neutralised.
  assert.is(csvCell('a=b'), 'a=b')
  assert.is(csvCell(-5), '-5')
  assert.is(csvCell('-5'), "'-5")
})

test('csvText writes an optional BOM and header', () => {
  assert.is(csvText([[1, 'a']], { header: ['n', 'name'] }), 'n,name\r\n1,a\r\n')
  assert.is(csvText([], { header: ['n'], bom: true }), '\uFEFFn\r\n')
})

test('csvStream writes the header, then each batch, skipping empty batches, and ends', async () => {
  async function* batches(): AsyncGenerator<CsvCell[][]> {
    yield [[1, 'a'], [2, '=b']]
    yield []
    yield [[3, 'c,d']]
  }
  const text = await new Response(csvStream(batches(), { header: ['id', 'name'] })).text()
  assert.is(text, `id,name\r\n1,a\r\n2,'=b\r\n3,"c,d"\r\n`)
})

test('csvStream with no rows still writes the header', async () => {
  async function* none(): AsyncGenerator<CsvCell[][]> {}
  assert.is(await new Response(csvStream(none(), { header: ['id'] })).text(), 'id\r\n')
})

test('csvStream pulls batches only as the reader asks, and cancelling closes the source', async () => {
  let pulled = 0
  let closed = false
  async function* endless(): AsyncGenerator<CsvCell[][]> {
    try {
      for (;;) {
        pulled += 1
        yield [[pulled]]
      }
    } finally {
      closed = true
    }
  }
  const reader = csvStream(endless()).getReader()
  const first = await reader.read()
  assert.is(new TextDecoder().decode(first.value), '1\r\n')
  assert.ok(pulled <= 2, `pulled ${pulled} batches for one read`)
  await reader.cancel()
  assert.ok(closed)
})

test('an error in the source errors the stream', async () => {
  async function* failing(): AsyncGenerator<CsvCell[][]> {
    yield [[1]]
    throw new Error('database went away')
  }
  try {
    await new Response(csvStream(failing())).text()
    assert.unreachable('should have failed')
  } catch (error) {
    assert.match(String(error), 'database went away')
  }
})

test.run()
