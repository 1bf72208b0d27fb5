/**
 * `Content-Disposition` for downloads whose file name comes from a user (a report name): an ASCII
 * `filename` for old clients and an RFC 5987 `filename*` with the exact UTF-8 name. Nothing a user
 * types can end the header early, add a parameter, or point outside the download folder.
 *
 * @example
 * contentDisposition('Umsätze "Q1".csv')
 * // attachment; filename="Umsatze Q1.csv"; filename*=UTF-8''Ums%C3%A4tze%20%22Q1%22.csv
 */

/** Characters left out of both forms: control characters (CR, LF, NUL...) and path separators. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\\/]+/g

/** An RFC 5987 `value-chars` encoding: everything but `attr-char` is percent-encoded UTF-8. */
function encodeRfc5987(text: string): string {
  return encodeURIComponent(text).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** The ASCII fallback: accents dropped, other non-ASCII as `_`, no quotes or backslashes. */
export function asciiFileName(fileName: string): string {
  const plain = fileName.normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
  const ascii = plain.replace(UNSAFE, ' ').replace(/["\\]/g, '').replace(/[^\x20-\x7e]/g, '_').replace(/\s+/g, ' ').trim()
  return ascii.replace(/^\.+/, '') || 'download'
}

/** `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<encoded>`, safe for any name. */
export function contentDisposition(fileName: string): string {
  const clean = fileName.replace(UNSAFE, ' ').replace(/\s+/g, ' ').trim().replace(/^\.+/, '') || 'download'
  return `attachment; filename="${asciiFileName(clean)}"; filename*=UTF-8''${encodeRfc5987(clean)}`
}
