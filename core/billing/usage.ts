/**
 * Usage ingestion: checks a batch of usage events one by one, then stores the valid ones with a
 * handful of set-based statements in one transaction (the batch's subscriptions, then their plans'
 * priced meters; one multi-row insert `on conflict do nothing` that also fills the rollup inbox; only
 * when some key was already there, a look-up of the stored hashes). The same code serves the JSON
 * API, the CSV import and the data generator; only the time window and the `source` differ.
 *
 * Idempotency is per organisation and key: the same key with the same canonical payload is a
 * duplicate (counted, nothing stored); with another payload it is a conflict (an error for that
 * event). Quantities never pass through a float: they stay decimal strings end to end.
 *
 * @example
 * const report = await ingestUsage(c.var.db, events, { source: 'api', window: usageWindow(c.var.settings) })
 * // { accepted: 998, duplicates: 1, errors: [{ index: 7, message: 'meter: ...' }] }
 */
import { hash } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { recordAudit } from '../audit/audit.ts'
import { executorOf, type ScopedDb } from '../tenancy/scoped-db.ts'

/** The rollup job's queue: ingestion pokes it after each batch that stored something. */
export const ROLLUP_QUEUE = 'core.usage-rollup'

/** At most this many events per API request: bigger batches are refused with a 413. */
export const MAX_EVENTS_PER_REQUEST = 5000
/** A stored event's `properties`, serialised, may not exceed this many characters. */
export const MAX_PROPERTIES_CHARS = 2000

/** One event as sent: anything may be wrong with any field, so nothing is typed yet. */
export interface UsageEventInput {
  readonly idempotencyKey?: unknown
  readonly subscriptionId?: unknown
  readonly meter?: unknown
  /** A decimal string, or the source text of a JSON number (see {@link readUsageJson}). */
  readonly quantity?: unknown
  readonly timestamp?: unknown
  readonly properties?: unknown
}

export interface UsageError {
  /** Position in the batch (0-based); the CSV import turns it into a line number. */
  readonly index: number
  readonly message: string
  /** The key was already used with another payload (the API answers 409 for a batch of one). */
  readonly conflict?: true
}

export interface IngestReport {
  accepted: number
  duplicates: number
  errors: UsageError[]
}

/** How far back and ahead timestamps may lie. `maxAgeDays: null` means no lower limit (the CSV import). */
export interface UsageWindow {
  readonly maxAgeDays: number | null
  readonly maxFutureMinutes: number
}

export interface IngestOptions {
  readonly source: 'api' | 'import' | 'generator'
  readonly window: UsageWindow
  /** Defaults to the current time; tests pin it. */
  readonly now?: Date
  /** Enqueue the rollup job with the batch (default true; the CLI has no job queue and rolls up itself). */
  readonly triggerRollup?: boolean
  /** Write the batch's audit row (default true). */
  readonly audit?: boolean
}

/** The API's window from the settings (35 days back, 5 minutes ahead unless configured). */
export function usageWindow(settings: { usageMaxAgeDays: number; usageMaxFutureMinutes: number } | undefined): UsageWindow {
  return { maxAgeDays: settings?.usageMaxAgeDays ?? 35, maxFutureMinutes: settings?.usageMaxFutureMinutes ?? 5 }
}

// ---- reading a JSON body without losing number precision ---------------------------------------

const NUMERIC_QUANTITY = /"quantity"\s*:\s*[-+\d.]/
/** Source text of JSON numbers sent as `quantity`, keyed by the object that held them. */
const quantitySources = new WeakMap<object, string>()

/**
 * `JSON.parse` that remembers the exact text of every number sent as `quantity`, so `0.1` is
 * stored as the decimal 0.1 and `1e3` or `0.12345678` can be refused instead of being rounded by
 * a float. Throws SyntaxError like `JSON.parse`.
 */
export function readUsageJson(text: string): unknown {
  // The reviver costs a function call per value: skip it when no quantity is sent as a number.
  if (!NUMERIC_QUANTITY.test(text)) return JSON.parse(text)
  return JSON.parse(text, function reviver(this: object, key: string, value: unknown, context?: { source?: string }) {
    if (key === 'quantity' && typeof value === 'number' && context?.source !== undefined) quantitySources.set(this, context.source)
    return value
  })
}

// ---- checking one event -------------------------------------------------------------------------

/** An event that passed the checks that need no database. */
export interface CheckedEvent {
  readonly index: number
  readonly key: string
  readonly subscriptionId: number
  readonly meter: string
  /** Canonical decimal: no leading zeros, no trailing fraction zeros. */
  readonly quantity: string
  /** ISO 8601 in UTC. */
  readonly occurredAt: string
  /** Canonical JSON (sorted keys), or null. */
  readonly properties: string | null
  /** SHA-256 of the canonical event: tells a replay from a conflict. */
  readonly hash: string
}

const METER_CODE = /^[a-z0-9][a-z0-9._-]{0,63}$/
const QUANTITY = /^(\d{1,18})(?:\.(\d{1,6}))?$/
const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i

/** A quantity as a canonical decimal string, or a message saying what is wrong. */
export function parseQuantity(value: unknown, numberSource?: string): string | { error: string } {
  const text = typeof value === 'string' ? value.trim() : typeof value === 'number' ? numberSource ?? String(value) : undefined
  if (text === undefined) return { error: 'quantity must be a decimal number, e.g. "12.5"' }
  if (text.startsWith('-')) return { error: 'quantity must be zero or more' }
  const match = QUANTITY.exec(text)
  if (!match) {
    if (/^\d+(\.\d+)?$/.test(text)) return { error: 'quantity has too many digits (at most 18 before the point and 6 after)' }
    return { error: `quantity must be a plain decimal number such as "12.5" (no exponent, no thousands separators), got ${JSON.stringify(text.slice(0, 40))}` }
  }
  const whole = match[1]!.replace(/^0+(?=\d)/, '')
  const fraction = (match[2] ?? '').replace(/0+$/, '')
  return fraction ? `${whole}.${fraction}` : whole
}

/** What `toISOString()` writes: most clients send exactly this, and it is already the canonical form. */
const CANONICAL_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** An ISO 8601 timestamp with an offset, as a UTC ISO string; or a message. */
export function parseTimestamp(value: unknown): string | { error: string } {
  if (typeof value === 'string' && !Number.isNaN(canonicalMillis(value))) return value
  const bad = { error: 'timestamp must be ISO 8601 with a time zone, e.g. "2025-03-01T12:00:00Z" or "2025-03-01T13:00:00+01:00"' }
  if (typeof value !== 'string') return bad
  const match = ISO_TIMESTAMP.exec(value.trim())
  if (!match) return bad
  const [, y, mo, d, h, mi, s] = match
  const ms = Date.parse(value.trim())
  // Date.parse rolls some impossible dates over; the calendar fields must be real ones.
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)))
  if (Number.isNaN(ms) || check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59) {
    return { error: `timestamp ${JSON.stringify(value.slice(0, 40))} is not a real date and time` }
  }
  return new Date(ms).toISOString()
}

/** The instant of a timestamp already in canonical form, or NaN (then {@link parseTimestamp} judges it). */
function canonicalMillis(text: string): number {
  if (text.length !== 24 || !CANONICAL_UTC.test(text)) return NaN
  const ms = Date.parse(text)
  // A rolled-over date (02-30) or an hour 24 parses to another instant, which prints differently.
  return !Number.isNaN(ms) && new Date(ms).toISOString() === text ? ms : NaN
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
}

/**
 * SHA-256 of an event's canonical form: the JSON array `[subscriptionId, meter, quantity,
 * occurredAt, properties]`. Stored hashes depend on these exact bytes, so they must never change.
 * The array is written by hand: meter codes, canonical quantities and ISO timestamps need no
 * escaping, and this runs once per event.
 */
export function eventHash(subscriptionId: number, meter: string, quantity: string, occurredAt: string, properties: string | null): string {
  const props = properties === null ? 'null' : JSON.stringify(properties)
  return hash('sha256', `[${subscriptionId},"${meter}","${quantity}","${occurredAt}",${props}]`, 'hex')
}

/** Checks an event's fields (no database). Returns the canonical event or a message naming the field. */
export function checkEvent(input: unknown, index: number, window: UsageWindow, now: Date): CheckedEvent | UsageError {
  const fail = (message: string): UsageError => ({ index, message })
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return fail('each event must be a JSON object')
  const event = input as UsageEventInput
  const key = event.idempotencyKey
  if (typeof key !== 'string' || key.length === 0 || key.length > 200) return fail('idempotencyKey must be a string of 1 to 200 characters')
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return fail('idempotencyKey must not contain control characters')
  const rawSub = event.subscriptionId
  const subscriptionId = typeof rawSub === 'number' ? rawSub : typeof rawSub === 'string' && /^\d{1,10}$/.test(rawSub) ? Number(rawSub) : NaN
  if (!Number.isSafeInteger(subscriptionId) || subscriptionId <= 0 || subscriptionId > 2_147_483_647) return fail('subscriptionId must be a positive whole number')
  if (typeof event.meter !== 'string' || !METER_CODE.test(event.meter)) return fail('meter must be a meter code such as "vcpu-hours"')
  const quantity = parseQuantity(event.quantity, quantitySources.get(input))
  if (typeof quantity !== 'string') return fail(quantity.error)
  const occurredAt = parseTimestamp(event.timestamp)
  if (typeof occurredAt !== 'string') return fail(occurredAt.error)
  const at = Date.parse(occurredAt)
  if (at > now.getTime() + window.maxFutureMinutes * 60_000) {
    return fail(`timestamp ${occurredAt} is more than ${window.maxFutureMinutes} minutes in the future`)
  }
  if (window.maxAgeDays !== null && at < now.getTime() - window.maxAgeDays * 86_400_000) {
    return fail(`timestamp ${occurredAt} is older than ${window.maxAgeDays} days, the limit for the API; an operator can backfill older usage by CSV import`)
  }
  let properties: string | null = null
  if (event.properties !== undefined && event.properties !== null) {
    if (typeof event.properties !== 'object' || Array.isArray(event.properties)) return fail('properties must be a JSON object')
    properties = canonicalJson(event.properties)
    if (properties.length > MAX_PROPERTIES_CHARS) return fail(`properties must be at most ${MAX_PROPERTIES_CHARS} characters of JSON`)
    if (properties === '{}') properties = null
  }
  return { index, key, subscriptionId, meter: event.meter, quantity, occurredAt, properties, hash: eventHash(subscriptionId, event.meter, quantity, occurredAt, properties) }
}

// ---- storing a batch ----------------------------------------------------------------------------

interface Resolved {
  readonly orgId: number
  readonly status: string
  /** meter code -> meter id, for the meters priced on the subscription's plan. */
  readonly meters: Map<string, number>
}

/**
 * Every subscription of the batch in the caller's scope, then the priced meters of their plans:
 * two small queries, cheaper than one that joins every subscription to every price (PGlite plans
 * and runs that join for each batch, and it returns a row per subscription and meter).
 */
async function resolveSubscriptions(sdb: ScopedDb, ids: number[]): Promise<Map<number, Resolved>> {
  const subscriptions = await sdb.selectFrom('subscriptions')
    .select(['subscriptions.id', 'subscriptions.org_id', 'subscriptions.status', 'subscriptions.plan_id'])
    .where(sql<boolean>`subscriptions.id = any(${sql.val(ids)}::int[])`)
    .execute()
  if (!subscriptions.length) return new Map()
  // The catalog is shared down the tree: a subscription the caller can see may use its plan's prices.
  const prices = await sql<{ plan_id: number; meter_id: number; code: string }>`
    select pp.plan_id, m.id as meter_id, m.code from plan_prices pp join meters m on m.id = pp.meter_id
    where pp.plan_id = any(${sql.val([...new Set(subscriptions.map((s) => s.plan_id))])}::int[])`.execute(executorOf(sdb) as Kysely<Database>)
  const metersByPlan = new Map<number, Map<string, number>>()
  for (const price of prices.rows) {
    let meters = metersByPlan.get(price.plan_id)
    if (!meters) metersByPlan.set(price.plan_id, meters = new Map())
    if (!meters.has(price.code)) meters.set(price.code, price.meter_id)
  }
  return new Map(subscriptions.map((s) => [s.id, { orgId: s.org_id, status: s.status, meters: metersByPlan.get(s.plan_id) ?? new Map() }]))
}

interface Insertable extends CheckedEvent {
  readonly orgId: number
  readonly meterId: number
}

/**
 * One statement: insert the events, skip keys already used, and put the new ones in the rollup
 * inbox. Returns the positions (in `rows`) of the events that were not stored: usually none, so
 * almost nothing comes back.
 */
async function insertEvents(db: Kysely<Database>, rows: readonly Insertable[], source: IngestOptions['source']): Promise<Set<number>> {
  if (!rows.length) return new Set()
  const column = <T>(pick: (r: Insertable) => T) => sql.val(rows.map(pick))
  const result = await sql<{ ord: string }>`
    with input as (
      select * from unnest(${column((r) => r.orgId)}::int[], ${column((r) => r.subscriptionId)}::int[], ${column((r) => r.meterId)}::int[],
        ${column((r) => r.quantity)}::numeric[], ${column((r) => r.occurredAt)}::timestamptz[], ${column((r) => r.key)}::text[],
        ${column((r) => r.hash)}::text[], ${column((r) => r.properties)}::text[]) with ordinality
        as i(org_id, subscription_id, meter_id, quantity, occurred_at, idempotency_key, payload_hash, properties, ord)
    ), stored as (
      insert into usage_events (org_id, subscription_id, meter_id, quantity, occurred_at, idempotency_key, payload_hash, properties, source)
      select org_id, subscription_id, meter_id, quantity, occurred_at, idempotency_key, payload_hash, properties::jsonb, ${source} from input
      on conflict (org_id, idempotency_key) do nothing
      returning id, org_id, subscription_id, meter_id, quantity, occurred_at, idempotency_key
    ), queued as (
      insert into usage_rollup_inbox (event_id, org_id, subscription_id, meter_id, quantity, occurred_at)
      select id, org_id, subscription_id, meter_id, quantity, occurred_at from stored
    )
    select i.ord from input i
    -- Usually every row was stored: the count says so, and the anti-join below then never runs.
    where (select count(*) from stored) < ${rows.length}
      and not exists (select 1 from stored s where s.org_id = i.org_id and s.idempotency_key = i.idempotency_key)`.execute(db)
  return new Set(result.rows.map((r) => Number(r.ord) - 1))
}

const orgKey = (orgId: number, key: string) => `${orgId}\u0000${key}`

/** The payload hashes stored under the given keys (for events the insert skipped: a replay or a conflict). */
async function storedHashes(sdb: ScopedDb, rows: readonly Insertable[]): Promise<Map<string, string>> {
  const found = await sdb.selectFrom('usage_events').select(['usage_events.org_id', 'usage_events.idempotency_key', 'usage_events.payload_hash'])
    .where(sql<boolean>`(usage_events.org_id, usage_events.idempotency_key) in (select * from unnest(${sql.val(rows.map((r) => r.orgId))}::int[], ${sql.val(rows.map((r) => r.key))}::text[]))`)
    .execute()
  return new Map(found.map((row) => [orgKey(row.org_id, row.idempotency_key), row.payload_hash]))
}

/**
 * Checks and stores a batch. Valid events are stored even when others in the batch are not
 * (partial acceptance): each event stands on its own, and a client resends only the failed indexes.
 * Writes one audit row per batch that stored something and, unless told not to, enqueues the
 * rollup job in the same transaction.
 */
export async function ingestUsage(sdb: ScopedDb, events: readonly unknown[], options: IngestOptions): Promise<IngestReport> {
  const now = options.now ?? new Date()
  const report: IngestReport = { accepted: 0, duplicates: 0, errors: [] }
  const checked: CheckedEvent[] = []
  for (let i = 0; i < events.length; i++) {
    const result = checkEvent(events[i], i, options.window, now)
    if ('hash' in result) checked.push(result)
    else report.errors.push(result)
  }
  if (checked.length) {
    await sdb.transaction(async (trx) => {
      // Connections plan every statement afresh (plan_cache_mode, core/db/database.ts) because a
      // generic plan misjudges the subtree predicate. These statements find rows by id and insert
      // from arrays, so their generic plans are safe, and planning the insert each time halved ingest.
      await sql`set local plan_cache_mode = auto`.execute(executorOf(trx) as Kysely<Database>)
      const subscriptions = await resolveSubscriptions(trx, [...new Set(checked.map((e) => e.subscriptionId))])
      // Within one batch, the first use of a key wins; a later one is a duplicate or a conflict of it.
      const firstByKey = new Map<string, Insertable>()
      const repeats: Array<{ event: CheckedEvent; first: Insertable }> = []
      const rows: Insertable[] = []
      for (const event of checked) {
        const sub = subscriptions.get(event.subscriptionId)
        if (!sub) { report.errors.push({ index: event.index, message: `subscription ${event.subscriptionId} does not exist, or you cannot see it` }); continue }
        if (sub.status === 'cancelled') { report.errors.push({ index: event.index, message: `subscription ${event.subscriptionId} is cancelled` }); continue }
        const meterId = sub.meters.get(event.meter)
        if (meterId === undefined) { report.errors.push({ index: event.index, message: `meter "${event.meter}" is not priced on the plan of subscription ${event.subscriptionId}` }); continue }
        const id = orgKey(sub.orgId, event.key)
        const first = firstByKey.get(id)
        if (first) { repeats.push({ event, first }); continue }
        const row = { ...event, orgId: sub.orgId, meterId }
        firstByKey.set(id, row)
        rows.push(row)
      }
      // Insert in key order: two batches sharing keys in different orders would otherwise wait on each other (a deadlock).
      rows.sort((a, b) => a.orgId - b.orgId || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      const notStored = await insertEvents(executorOf(trx) as Kysely<Database>, rows, options.source)
      const skipped = new Set([...notStored].map((i) => rows[i]!))
      const existing = skipped.size ? await storedHashes(trx, [...skipped]) : new Map<string, string>()
      const conflict = (index: number, key: string) => report.errors.push({ index, message: `idempotencyKey "${key.slice(0, 60)}" was already used for a different event`, conflict: true })
      for (const row of rows) {
        if (!skipped.has(row)) report.accepted++
        else if (existing.get(orgKey(row.orgId, row.key)) === row.hash) report.duplicates++
        else conflict(row.index, row.key)
      }
      // A repeated key is judged against the event that holds the key now: the stored one, or the batch's first.
      for (const { event, first } of repeats) {
        if (event.hash === (skipped.has(first) ? existing.get(orgKey(first.orgId, first.key)) : first.hash)) report.duplicates++
        else conflict(event.index, event.key)
      }
      if (report.accepted > 0) {
        if (options.audit ?? true) {
          await recordAudit(trx, {
            orgId: sdb.scope.orgId, action: options.source === 'import' ? 'import' : 'ingest', subject: 'UsageEvent', subjectId: null,
            summary: `${report.accepted} usage event(s) ${options.source === 'import' ? 'imported' : 'received'}`,
            after: { accepted: report.accepted, duplicates: report.duplicates, errors: report.errors.length, source: options.source },
          })
        }
        if (options.triggerRollup ?? true) await trx.sendJob(ROLLUP_QUEUE, {}, { singletonSeconds: 1, singletonNextSlot: true })
      }
    })
  }
  report.errors.sort((a, b) => a.index - b.index)
  return report
}
