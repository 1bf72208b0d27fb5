/**
 * The PostgreSQL `COPY (query) TO STDOUT` fast path for CSV exports. COPY takes no bind
 * parameters, so a compiled query's `$n` placeholders are replaced by literals — only when that is
 * provably safe: the SQL text is scanned like PostgreSQL's lexer (quoted strings and identifiers
 * skipped) and anything the scanner does not fully understand (E'' strings, dollar quoting,
 * comments, backslashes in strings, NUL, arrays, objects) makes {@link inlineParameters} return
 * undefined, and the caller falls back to the JS writer.
 */
import type { Readable } from 'node:stream'
import type { CopyLease } from '../db/database.ts'

/**
 * A parameter as a literal that PostgreSQL types the way it types the bind parameter postgres.js
 * would send: strings and numbers go as untyped (`unknown`) values, so `'42'` is exactly what an
 * untyped `$1` holding `42` is; booleans, bigints and dates carry the type postgres.js gives them.
 */
function literal(value: unknown): string | undefined {
  if (value === null || value === undefined) return 'NULL'
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'number') return Number.isFinite(value) ? `'${String(value)}'` : undefined
  if (typeof value === 'bigint') return `'${value.toString()}'::int8`
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : `'${value.toISOString()}'::timestamptz`
  if (typeof value === 'string') {
    // Backslashes would depend on standard_conforming_strings; NUL cannot be sent at all.
    if (value.includes('\\') || value.includes('\u0000')) return undefined
    return `'${value.replaceAll("'", "''")}'`
  }
  return undefined
}

/**
 * `sql` with each `$n` replaced by `parameters[n - 1]` as a literal, or undefined when that cannot
 * be done safely (see the file comment).
 */
export function inlineParameters(sql: string, parameters: readonly unknown[]): string | undefined {
  const literals: string[] = []
  for (const value of parameters) {
    const text = literal(value)
    if (text === undefined) return undefined
    literals.push(text)
  }
  let out = ''
  let i = 0
  while (i < sql.length) {
    const ch = sql[i]!
    if (ch === "'") {
      // A string literal: a doubled quote stays inside it. E'' strings are refused below.
      let j = i + 1
      for (;;) {
        const end = sql.indexOf("'", j)
        if (end < 0) return undefined
        if (sql[end + 1] === "'") { j = end + 2; continue }
        j = end + 1
        break
      }
      const body = sql.slice(i, j)
      if (body.includes('\\')) return undefined
      const before = sql[i - 1] ?? ''
      if (/[eEbBxXuU&]/.test(before)) return undefined
      out += body
      i = j
    } else if (ch === '"') {
      let j = i + 1
      for (;;) {
        const end = sql.indexOf('"', j)
        if (end < 0) return undefined
        if (sql[end + 1] === '"') { j = end + 2; continue }
        j = end + 1
        break
      }
      out += sql.slice(i, j)
      i = j
    } else if (ch === '$') {
      const match = /^\$(\d+)/.exec(sql.slice(i, i + 12))
      if (!match) return undefined
      const index = Number(match[1]) - 1
      const text = literals[index]
      if (text === undefined) return undefined
      // Parenthesised, so `- $1` never becomes a `--` comment and casts bind to the whole value.
      out += `(${text})`
      i += match[0].length
    } else if ((ch === '-' && sql[i + 1] === '-') || (ch === '/' && sql[i + 1] === '*') || ch === ';' || ch === '\u0000') {
      return undefined
    } else {
      out += ch
      i++
    }
  }
  return out
}

const QUOTE = 0x22
const LF = 0x0a
const CR = 0x0d

/**
 * Gives COPY's CSV output the JS writer's line ends: the LF that ends a record becomes CRLF (RFC
 * 4180), line breaks inside quoted fields stay as they are; and counts records. COPY quotes every
 * field holding a quote, delimiter, CR or LF, so an LF outside quotes always ends a record, and
 * quote parity (carried across chunks; a doubled quote toggles twice) tells the two apart.
 *
 * @example
 * const lines = new CopyCsvLines()
 * lines.convert(Buffer.from('1,"a\nb"\n2,')) // '1,"a\nb"\r\n2,'
 * lines.convert(Buffer.from('c\n'))           // 'c\r\n'; lines.records === 2
 */
export class CopyCsvLines {
  records = 0
  #quoted = false
  readonly #ends: number[] = []

  convert(chunk: Uint8Array): Uint8Array {
    const input = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const ends = this.#ends
    ends.length = 0
    let position = 0
    let nextQuote = input.indexOf(QUOTE, 0)
    let nextLine = -1
    for (;;) {
      if (this.#quoted) {
        if (nextQuote < 0) break
        this.#quoted = false
        position = nextQuote + 1
        nextQuote = input.indexOf(QUOTE, position)
        continue
      }
      if (nextLine < position) nextLine = input.indexOf(LF, position)
      if (nextLine < 0) {
        // No record ends in the rest of the chunk; its quotes decide whether a field runs on.
        if (nextQuote >= 0) this.#quoted = countQuotes(input, nextQuote) % 2 === 1
        break
      }
      if (nextQuote >= 0 && nextQuote < nextLine) {
        this.#quoted = true
        position = nextQuote + 1
        nextQuote = input.indexOf(QUOTE, position)
        continue
      }
      ends.push(nextLine)
      position = nextLine + 1
    }
    if (!ends.length) return chunk
    this.records += ends.length
    const output = Buffer.allocUnsafe(input.length + ends.length)
    let from = 0
    let to = 0
    for (const end of ends) {
      to += input.copy(output, to, from, end)
      output[to++] = CR
      from = end
    }
    input.copy(output, to, from)
    return output
  }
}

function countQuotes(buffer: Buffer, from: number): number {
  let count = 0
  for (let i = buffer.indexOf(QUOTE, from); i >= 0; i = buffer.indexOf(QUOTE, i + 1)) count++
  return count
}

/**
 * The bytes of `COPY ... TO STDOUT` on a leased connection, chunk by chunk, with the socket's own
 * backpressure; the lease is released once the output ended. Stopping early (the consumer returns
 * or throws) cancels the statement on the server, then reads and drops what was already on its
 * way until the stream fails with `57014`: the database stops producing rows within a few
 * milliseconds, and the connection comes back clean. Reading is needed: postgres.js pauses the
 * socket while nobody reads, and the error that ends the COPY would never arrive.
 *
 * The cancel request travels on a connection of its own and is awaited until the server took it,
 * before the lease goes back: a COPY that ended by itself just then leaves an idle backend, which
 * ignores the signal, and the next COPY on that connection cannot be hit by it.
 */
export async function* copyChunks(lease: CopyLease, sqlText: string): AsyncGenerator<Uint8Array> {
  let stream: Readable
  try {
    stream = await lease.readable(sqlText)
  } catch (error) {
    lease.release()
    throw error
  }
  let finished = false
  try {
    for await (const chunk of stream.iterator({ destroyOnReturn: false })) yield chunk as Uint8Array
    finished = true
  } finally {
    if (!finished && !stream.readableEnded && !stream.destroyed) {
      const ended = new Promise<void>((resolve) => {
        stream.once('end', resolve).once('error', () => resolve()).once('close', resolve)
      })
      await lease.cancel().catch(() => {})
      // The socket pauses whenever nobody reads the stream: read and drop the rest.
      const drain = () => { while (stream.read() !== null) { /* dropped */ } }
      stream.on('readable', drain)
      drain()
      await ended
    }
    // postgres.js pauses the socket when a push finds the stream full, and resumes it only from
    // the stream's read(). If the last data and CopyDone arrive together the stream ends with the
    // socket paused, and the connection never reads again. Resume it once more.
    ;(stream as unknown as { _read(size: number): void })._read(0)
    lease.release()
  }
}

/** COPY's text-format escapes, as it writes them (`COPY TO` writes no octal or hex escapes). */
const TEXT_ESCAPES: Readonly<Record<string, string>> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' }

function unescapeCopyText(field: string): string {
  return field.replace(/\\(.)/gs, (_, c: string) => TEXT_ESCAPES[c] ?? c)
}

/**
 * The rows of `COPY ... TO STDOUT` in its text format, chunk by chunk, as field texts: one row per
 * line (COPY escapes line breaks inside values), fields separated by tabs, `\N` for null, and a
 * backslash before a special character. No quoting, so no state runs across lines: the bytes after
 * a chunk's last LF wait for the next chunk (an LF is never part of a multi-byte character).
 *
 * @example
 * const rows = new CopyTextRows()
 * rows.parse(Buffer.from('1\ta\\tb\n2\t')) // [['1', 'a\tb']]
 * rows.parse(Buffer.from('\\N\n'))          // [['2', null]]
 * rows.finish()
 */
export class CopyTextRows {
  /** Bytes after the last LF seen. */
  #rest: Buffer | undefined

  parse(chunk: Uint8Array): (string | null)[][] {
    const input = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const last = input.lastIndexOf(LF)
    if (last < 0) {
      this.#rest = this.#rest ? Buffer.concat([this.#rest, input]) : Buffer.from(input)
      return []
    }
    const head = this.#rest ? Buffer.concat([this.#rest, input.subarray(0, last)]) : input.subarray(0, last)
    this.#rest = last + 1 < input.length ? Buffer.from(input.subarray(last + 1)) : undefined
    return head.toString('utf8').split('\n').map((line) => {
      const fields: (string | null)[] = line.split('\t')
      for (let i = 0; i < fields.length; i++) {
        const field = fields[i]!
        if (field.includes('\\')) fields[i] = field === '\\N' ? null : unescapeCopyText(field)
      }
      return fields
    })
  }

  /** Checks that the output ended with a whole row. */
  finish(): void {
    if (this.#rest?.length) throw new Error('COPY output ended in the middle of a row')
  }
}
