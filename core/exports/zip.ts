/**
 * A small streaming ZIP writer for the XLSX export: entries are deflated by node's zlib as they
 * come and written straight to an async sink, so a sheet of a million rows never sits in memory.
 * A streamed entry has its CRC and sizes in a data descriptor after its data (general purpose
 * flag bit 3); the central directory at the end repeats them, which is what readers use.
 *
 * Why our own rather than a library: the packages that stream (archiver, yazl) compute the CRC in
 * JavaScript and wrap every entry in more stream objects; here the CRC is `zlib.crc32` (native)
 * and the only stream is the deflater. The format part is ~100 lines we test directly.
 *
 * No ZIP64: an entry or an archive over 4 GB is refused with {@link ZipTooLargeError} as soon as
 * the limit is crossed, rather than writing a file readers would misread.
 *
 * @example
 * const zip = new ZipWriter(sink)
 * await zip.add('hello.txt', 'hello')
 * await zip.addStream('big.xml', chunks())
 * await zip.finish()
 */
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { constants, crc32, createDeflateRaw, deflateRawSync } from 'node:zlib'

/** The largest size or offset a ZIP without ZIP64 can record. */
export const ZIP32_LIMIT = 0xffff_ffff

const LOCAL_HEADER = 0x04034b50
const DATA_DESCRIPTOR = 0x08074b50
const CENTRAL_HEADER = 0x02014b50
const END_OF_CENTRAL_DIRECTORY = 0x06054b50
const VERSION = 20
const DEFLATE = 8
/** Bit 3: sizes and CRC follow the data; bit 11: the name is UTF-8. */
const FLAG_DESCRIPTOR = 0x0008
const FLAG_UTF8 = 0x0800

/** The archive would need ZIP64 (an entry or the whole file over 4 GB). */
export class ZipTooLargeError extends Error {
  readonly code = 'ZIP_TOO_LARGE'
  constructor(what: string, limit: number) {
    super(`${what} is larger than ${limit} bytes, the most a ZIP file without ZIP64 can hold; export fewer rows or columns`)
    this.name = 'ZipTooLargeError'
  }
}

export interface ZipOptions {
  /** zlib level, 1 (fastest) to 9; 6 by default. */
  readonly level?: number
  /** The modification time written for every entry; now by default. */
  readonly date?: Date
  /** The largest entry or archive size allowed; {@link ZIP32_LIMIT} unless a test lowers it. */
  readonly limit?: number
}

interface Entry {
  readonly name: Buffer
  readonly flags: number
  readonly crc: number
  readonly compressed: number
  readonly size: number
  readonly offset: number
}

/** DOS date and time (local fields, 2-second precision), as ZIP stores them. */
function dosDateTime(date: Date): { time: number; date: number } {
  const year = Math.min(Math.max(date.getUTCFullYear(), 1980), 2107)
  return {
    time: (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | (date.getUTCSeconds() >> 1),
    date: ((year - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate(),
  }
}

export class ZipWriter {
  readonly #sink: (chunk: Uint8Array) => Promise<void>
  readonly #entries: Entry[] = []
  readonly #level: number
  readonly #limit: number
  readonly #time: { time: number; date: number }
  #offset = 0
  #finished = false

  constructor(sink: (chunk: Uint8Array) => Promise<void>, options: ZipOptions = {}) {
    this.#sink = sink
    this.#level = options.level ?? constants.Z_DEFAULT_COMPRESSION
    this.#limit = Math.min(options.limit ?? ZIP32_LIMIT, ZIP32_LIMIT)
    this.#time = dosDateTime(options.date ?? new Date())
  }

  async #write(chunk: Uint8Array): Promise<void> {
    this.#offset += chunk.byteLength
    if (this.#offset > this.#limit) throw new ZipTooLargeError('the file', this.#limit)
    await this.#sink(chunk)
  }

  #localHeader(name: Buffer, flags: number, crc: number, compressed: number, size: number): Buffer {
    const header = Buffer.alloc(30)
    header.writeUInt32LE(LOCAL_HEADER, 0)
    header.writeUInt16LE(VERSION, 4)
    header.writeUInt16LE(flags, 6)
    header.writeUInt16LE(DEFLATE, 8)
    header.writeUInt16LE(this.#time.time, 10)
    header.writeUInt16LE(this.#time.date, 12)
    header.writeUInt32LE(crc, 14)
    header.writeUInt32LE(compressed, 18)
    header.writeUInt32LE(size, 22)
    header.writeUInt16LE(name.length, 26)
    header.writeUInt16LE(0, 28)
    return Buffer.concat([header, name])
  }

  #start(name: string): Buffer {
    if (this.#finished) throw new Error('the ZIP file is already finished')
    const bytes = Buffer.from(name, 'utf8')
    if (bytes.length > 0xffff) throw new RangeError('ZIP entry name too long')
    return bytes
  }

  /** A small entry known in full: compressed at once, sizes in the local header. */
  async add(name: string, data: string | Uint8Array): Promise<void> {
    const nameBytes = this.#start(name)
    const raw = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    if (raw.byteLength > this.#limit) throw new ZipTooLargeError(name, this.#limit)
    const compressed = deflateRawSync(raw, { level: this.#level })
    const entry: Entry = { name: nameBytes, flags: FLAG_UTF8, crc: crc32(raw), compressed: compressed.byteLength, size: raw.byteLength, offset: this.#offset }
    await this.#write(this.#localHeader(nameBytes, entry.flags, entry.crc, entry.compressed, entry.size))
    await this.#write(compressed)
    this.#entries.push(entry)
  }

  /**
   * An entry from chunks as they come, deflated on the way. The next chunk is pulled only once the
   * deflater wants more and the sink took what it produced, so a slow sink slows the source.
   */
  async addStream(name: string, source: AsyncIterable<Uint8Array>): Promise<void> {
    const nameBytes = this.#start(name)
    const offset = this.#offset
    const flags = FLAG_UTF8 | FLAG_DESCRIPTOR
    await this.#write(this.#localHeader(nameBytes, flags, 0, 0, 0))
    let crc = 0
    let size = 0
    let compressed = 0
    const limit = this.#limit
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of source) {
        size += chunk.byteLength
        if (size > limit) throw new ZipTooLargeError(name, limit)
        crc = crc32(chunk, crc)
        yield chunk
      }
    }
    await pipeline(
      // One chunk read ahead, not the default 16: a chunk is a whole batch of rows.
      Readable.from(counted(), { objectMode: true, highWaterMark: 1 }),
      createDeflateRaw({ level: this.#level }),
      async (deflated: AsyncIterable<Buffer>) => {
        for await (const chunk of deflated) {
          compressed += chunk.byteLength
          await this.#write(chunk)
        }
      },
    )
    const descriptor = Buffer.alloc(16)
    descriptor.writeUInt32LE(DATA_DESCRIPTOR, 0)
    descriptor.writeUInt32LE(crc, 4)
    descriptor.writeUInt32LE(compressed, 8)
    descriptor.writeUInt32LE(size, 12)
    await this.#write(descriptor)
    this.#entries.push({ name: nameBytes, flags, crc, compressed, size, offset })
  }

  /** Writes the central directory; the archive is complete when this resolves. */
  async finish(): Promise<void> {
    if (this.#finished) return
    this.#finished = true
    if (this.#entries.length > 0xffff) throw new ZipTooLargeError('the number of entries', 0xffff)
    const start = this.#offset
    const parts: Buffer[] = []
    for (const entry of this.#entries) {
      const header = Buffer.alloc(46)
      header.writeUInt32LE(CENTRAL_HEADER, 0)
      header.writeUInt16LE(VERSION, 4)
      header.writeUInt16LE(VERSION, 6)
      header.writeUInt16LE(entry.flags, 8)
      header.writeUInt16LE(DEFLATE, 10)
      header.writeUInt16LE(this.#time.time, 12)
      header.writeUInt16LE(this.#time.date, 14)
      header.writeUInt32LE(entry.crc, 16)
      header.writeUInt32LE(entry.compressed, 20)
      header.writeUInt32LE(entry.size, 24)
      header.writeUInt16LE(entry.name.length, 28)
      // Extra field, comment, disk number, internal and external attributes: all zero.
      header.writeUInt32LE(entry.offset, 42)
      parts.push(header, entry.name)
    }
    const directory = Buffer.concat(parts)
    const end = Buffer.alloc(22)
    end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0)
    end.writeUInt16LE(this.#entries.length, 8)
    end.writeUInt16LE(this.#entries.length, 10)
    end.writeUInt32LE(directory.byteLength, 12)
    end.writeUInt32LE(start, 16)
    await this.#write(directory)
    await this.#write(end)
  }
}
