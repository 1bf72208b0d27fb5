/** What an audit entry changed: the keys whose value differs between `before` and `after`. */

export interface ChangedKey {
  readonly key: string
  /** `undefined` when the key is absent on that side (created, removed). */
  readonly before: unknown
  readonly after: unknown
}

/** Key for a value that is not an object (a list or a single value): compared as a whole. */
export const WHOLE_VALUE = '(value)'

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** JSON with sorted object keys, so `{a, b}` and `{b, a}` compare equal. */
function canonical(value: unknown): string {
  if (value === undefined) return 'undefined'
  return JSON.stringify(value, (_key, inner: unknown) =>
    isRecord(inner) ? Object.fromEntries(Object.keys(inner).sort().map((k) => [k, inner[k]])) : inner)
}

/**
 * The keys that differ, sorted by name (`jsonb` keeps its own key order, by length, which reads
 * as random). A creation lists every key of `after`; a deletion every key of `before`.
 *
 * @example changedKeys({ name: 'A', currency: 'EUR' }, { name: 'B', currency: 'EUR' }) // [{ key: 'name', before: 'A', after: 'B' }]
 */
export function changedKeys(before: unknown, after: unknown): ChangedKey[] {
  const b = before ?? undefined
  const a = after ?? undefined
  if (b === undefined && a === undefined) return []
  if ((b !== undefined && !isRecord(b)) || (a !== undefined && !isRecord(a))) {
    return canonical(b) === canonical(a) ? [] : [{ key: WHOLE_VALUE, before: b, after: a }]
  }
  const keys = [...new Set([...Object.keys(b ?? {}), ...Object.keys(a ?? {})])].sort()
  return keys
    .map((key) => ({ key, before: b?.[key], after: a?.[key] }))
    .filter((change) => canonical(change.before) !== canonical(change.after))
}

/** A value for a table cell: text as it is, anything else as JSON; absent is empty. */
export function showValue(value: unknown): string {
  if (value === undefined) return ''
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}
