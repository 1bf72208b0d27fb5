/**
 * Exports of a report request in CSV (comma or pipe), XLSX or XML, streamed. Being written: the
 * signatures below are the contract the download routes and background runs use.
 */
import type { ExportFormat } from './define.ts'
import type { ReportRequest } from './request.ts'

export interface ExportProgress {
  /** Rows written so far. */
  readonly rows: number
  /** Bytes written so far. */
  readonly bytes: number
}

export interface WriteOptions {
  /** Stops the export between batches; the promise then rejects with an AbortError. */
  readonly signal?: AbortSignal
  /** Called after each batch is written. */
  readonly onProgress?: (progress: ExportProgress) => void | Promise<void>
}

/** Writes the whole export to `sink`, chunk by chunk, in order; resolves with the final counts. */
export async function writeReport(_request: ReportRequest, _format: ExportFormat, _sink: (chunk: Uint8Array) => Promise<void>, _options: WriteOptions = {}): Promise<ExportProgress> {
  throw new Error('not written yet')
}

/** The export as a byte stream for a direct download; cancelling it stops the database reads. */
export function exportStream(_request: ReportRequest, _format: ExportFormat, _options: Pick<WriteOptions, 'signal'> = {}): ReadableStream<Uint8Array> {
  throw new Error('not written yet')
}

export function contentTypeOf(format: ExportFormat): string {
  return { csv: 'text/csv; charset=utf-8', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', xml: 'application/xml; charset=utf-8' }[format]
}

/** A file name for an export: the name, made safe, with the day and the extension. */
export function fileNameFor(name: string, format: ExportFormat, when: Date = new Date()): string {
  return `${name.replace(/[\\/:*?"<>|\x00-\x1f]+/g, ' ').trim() || 'report'} ${when.toISOString().slice(0, 10)}.${format}`
}

/** `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<encoded>`. */
export function contentDisposition(_fileName: string): string {
  throw new Error('not written yet')
}
