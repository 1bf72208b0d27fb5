/**
 * Pieces of a streamed XML document. Hand-written rather than xmlbuilder2's callback builder:
 * that builder pushes text synchronously into a callback with no way to wait for a slow sink,
 * while here every batch of rows is one string we can await; and the two rules that matter
 * (escape `& < > " '`, drop what XML 1.0 cannot hold) are a few lines we test directly.
 * No CDATA is used, so `]]>` in a value is plain escaped text (`]]&gt;`).
 */

/**
 * Characters XML 1.0 cannot hold at all: C0 controls except tab, LF and CR; lone surrogates;
 * U+FFFE and U+FFFF. They are replaced by U+FFFD so the document stays well-formed.
 */
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/** `text` with the characters XML 1.0 forbids replaced by U+FFFD. */
export function xmlSafe(text: string): string {
  return text.replace(NOT_XML, '\ufffd')
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;' }

/**
 * Text for element content or an attribute value: forbidden characters replaced, markup escaped.
 * CR is written as `&#13;` so a parser's line-end normalisation does not turn it into LF.
 */
export function xmlEscape(text: string): string {
  return xmlSafe(text).replace(/[&<>"'\r]/g, (ch) => ESCAPES[ch]!)
}

/** An attribute list: ` a="1" b="x"` (undefined values left out). */
export function xmlAttributes(attributes: Readonly<Record<string, string | number | undefined>>): string {
  let out = ''
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined) out += ` ${name}="${xmlEscape(String(value)).replace(/\t/g, '&#9;').replace(/\n/g, '&#10;')}"`
  }
  return out
}

/** Whether `name` can be an element name as it is (no namespace prefix, not starting with `xml`). */
export function isXmlName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name) && !/^xml/i.test(name)
}

/** One element with text content; an empty one (`<a/>`) for null. */
export function xmlElement(name: string, text: string | null, attributes: Readonly<Record<string, string | number | undefined>> = {}): string {
  const attrs = xmlAttributes(attributes)
  return text === null || text === '' ? `<${name}${attrs}/>` : `<${name}${attrs}>${xmlEscape(text)}</${name}>`
}
