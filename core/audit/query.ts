/**
 * Reading the audit log: newest first, filtered, in keyset pages, limited to the reader's subtree,
 * with everything that would name someone outside that subtree masked. The page, the JSON API and
 * the CSV export all read through here, so they show the same rows the same way.
 *
 * @example
 * const query = parseAuditQuery(c.req.query())          // 400 naming the bad parameter
 * const { entries, next } = await auditPage(c.var.db, query)
 */
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely'
import { z } from 'zod'
import { NO_GRANTS, type UserGrants } from '../access/ability.ts'
import { visibleRoleIds } from '../access/roles.ts'
import type { Database } from '../db/schema.ts'
import { HttpProblem } from '../http/problem.ts'
import { executorOf, ScopedDb } from '../tenancy/scoped-db.ts'

/** `actor=system`: changes made by jobs and the command line (no person). */
export const ACTOR_SYSTEM = 'system'
/** `actor=provider`: changes made by someone outside the reader's subtree (shown masked). */
export const ACTOR_PROVIDER = 'provider'

export interface AuditFilter {
  /** An email (exact, any case), {@link ACTOR_SYSTEM} or {@link ACTOR_PROVIDER}. */
  readonly actor?: string
  readonly orgId?: number
  /** With `orgId`: that organisation and everything below it. */
  readonly subtree?: boolean
  readonly subject?: string
  readonly action?: string
  /** First day, `YYYY-MM-DD`, inclusive (UTC). */
  readonly from?: string
  /** Last day, `YYYY-MM-DD`, inclusive (UTC). */
  readonly to?: string
}

export interface AuditQuery {
  readonly filter: AuditFilter
  /** Keyset cursor: the id of the last entry of the previous page. */
  readonly before?: string
  readonly limit: number
}

/** Who made a change, as the reader may see it. */
export type AuditActor =
  | { readonly kind: 'user'; readonly email: string | null; readonly userId: number | null }
  | { readonly kind: 'system' }
  /** Someone outside the reader's subtree, typically the provider's staff: no email, no id. */
  | { readonly kind: 'external' }

export interface AuditEntryView {
  /** `bigint`, so a string (never a float). */
  readonly id: string
  readonly at: Date
  readonly orgId: number
  readonly orgName: string
  readonly actor: AuditActor
  readonly action: string
  readonly subject: string
  readonly subjectId: string | null
  readonly summary: string
  readonly before: unknown
  readonly after: unknown
}

export interface AuditPage {
  readonly entries: readonly AuditEntryView[]
  /** Cursor for the next (older) page, or null on the last one. */
  readonly next: string | null
}

export const DEFAULT_PAGE_SIZE = 50
export const MAX_PAGE_SIZE = 200

// ---- parameters ------------------------------------------------------------------------------

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v), schema.optional())

const day = z.iso.date('Use a date like 2025-12-31')
const parameters = z.object({
  actor: optional(z.string().max(320, 'Use at most 320 characters')),
  org: optional(z.string().regex(/^\d{1,9}$/, 'Choose an organisation in your subtree').transform(Number)),
  subtree: optional(z.enum(['1', '0', 'true', 'false', 'on'], { error: 'Use 1 or 0' }).transform((v) => v === '1' || v === 'true' || v === 'on')),
  subject: optional(z.string().regex(/^[A-Z][A-Za-z0-9]{0,59}$/, 'Use a subject name like Organisation')),
  action: optional(z.string().regex(/^[a-z][a-z-]{0,49}$/, 'Use an action like update')),
  from: optional(day),
  to: optional(day),
  before: optional(z.string().regex(/^[1-9]\d{0,17}$/, 'Use the cursor from the previous page')),
  limit: optional(z.string().regex(/^\d{1,4}$/, `Use a number from 1 to ${MAX_PAGE_SIZE}`).transform(Number)
    .pipe(z.number().min(1, `Use a number from 1 to ${MAX_PAGE_SIZE}`).max(MAX_PAGE_SIZE, `Use a number from 1 to ${MAX_PAGE_SIZE}`))),
})

/**
 * Reads the filter, cursor and page size from query parameters. Empty values mean "no filter";
 * unknown parameters are ignored. A bad value is a 400 whose message and fields name the parameter.
 */
export function parseAuditQuery(params: Readonly<Record<string, string | undefined>>, defaultLimit = DEFAULT_PAGE_SIZE): AuditQuery {
  const parsed = parameters.safeParse(params)
  const fields: Record<string, string> = {}
  if (!parsed.success) {
    for (const issue of parsed.error.issues) fields[String(issue.path[0] ?? 'query')] ??= issue.message
  } else if (parsed.data.from && parsed.data.to && parsed.data.from > parsed.data.to) {
    fields.to = 'Use a date on or after the "from" date'
  }
  if (!parsed.success || Object.keys(fields).length) {
    const names = Object.keys(fields).map((k) => `"${k}"`).join(', ')
    throw new HttpProblem(400, `Check the filter: ${names} ${Object.keys(fields).length === 1 ? 'is' : 'are'} not valid.`, fields)
  }
  const p = parsed.data
  const filter: AuditFilter = {
    ...(p.actor !== undefined ? { actor: p.actor } : {}),
    ...(p.org !== undefined ? { orgId: p.org, subtree: p.subtree ?? false } : {}),
    ...(p.subject !== undefined ? { subject: p.subject } : {}),
    ...(p.action !== undefined ? { action: p.action } : {}),
    ...(p.from !== undefined ? { from: p.from } : {}),
    ...(p.to !== undefined ? { to: p.to } : {}),
  }
  return { filter, ...(p.before !== undefined ? { before: p.before } : {}), limit: p.limit ?? defaultLimit }
}

/** The filter as query parameters, e.g. for the "Older" link and the export link. */
export function auditQueryParams(filter: AuditFilter, extra: Record<string, string> = {}): URLSearchParams {
  const params = new URLSearchParams()
  if (filter.actor) params.set('actor', filter.actor)
  if (filter.orgId !== undefined) params.set('org', String(filter.orgId))
  if (filter.orgId !== undefined && filter.subtree) params.set('subtree', '1')
  if (filter.subject) params.set('subject', filter.subject)
  if (filter.action) params.set('action', filter.action)
  if (filter.from) params.set('from', filter.from)
  if (filter.to) params.set('to', filter.to)
  for (const [k, v] of Object.entries(extra)) params.set(k, v)
  return params
}

// ---- the query -------------------------------------------------------------------------------

/** The scoped audit rows joined to their organisation (`o`) and, when in scope, the actor's (`ao`). */
type AuditDb = Database & { o: Database['organisations']; ao: Database['organisations'] }
type AuditBuilder = SelectQueryBuilder<AuditDb, 'audit_log' | 'o' | 'ao', {}>

/** A filter whose organisation has been checked to be in scope, with the handle its rows are read through. */
interface CheckedFilter extends AuditFilter {
  readonly rows: ScopedDb
}

async function checkFilter(sdb: ScopedDb, filter: AuditFilter): Promise<CheckedFilter> {
  if (filter.orgId === undefined) return { ...filter, rows: sdb }
  const org = await sdb.organisation(filter.orgId)
  // The same answer for "does not exist" and "not yours": an id outside the subtree reveals nothing.
  if (!org) throw new HttpProblem(400, 'Check the filter: "org" is not an organisation in your subtree.', { org: 'Choose an organisation in your subtree' })
  // "This organisation and below" narrows the handle itself to that subtree (inside the reader's,
  // as just checked) rather than adding a second subtree test: with two, PostgreSQL underestimates
  // the rows and sorts the whole subtree instead of walking the (at, id) index.
  const rows = filter.subtree ? new ScopedDb(executorOf(sdb), { orgId: org.id, path: org.path }) : sdb
  return { ...filter, rows }
}

/** Rows in scope with the organisation's name and whether the actor's organisation is in scope too. */
function baseQuery(sdb: ScopedDb, filter: CheckedFilter): AuditBuilder {
  // selectFrom adds `org_id in (subtree)`; the joins are primary-key lookups on the page's rows.
  // Whether the actor is "one of ours" is always judged against the reader's subtree.
  let q = filter.rows.selectFrom('audit_log')
    .innerJoin('organisations as o', 'o.id', 'audit_log.org_id')
    .leftJoin('organisations as ao', (join) => join.onRef('ao.id', '=', 'audit_log.actor_org_id').on('ao.path', 'like', sdb.pathPattern)) as unknown as AuditBuilder
  if (filter.orgId !== undefined && !filter.subtree) q = q.where('audit_log.org_id', '=', filter.orgId)
  if (filter.actor !== undefined) {
    const actor = filter.actor
    const isSystem = sql<boolean>`(audit_log.actor_user_id is null and audit_log.actor_email is null)`
    if (actor.toLowerCase() === ACTOR_SYSTEM) q = q.where(isSystem)
    else if (actor.toLowerCase() === ACTOR_PROVIDER) q = q.where('ao.id', 'is', null).where(sql<boolean>`not ${isSystem}`)
    // Only actors inside the subtree match an email: a reader cannot probe whether a provider's
    // staff member touched their organisation by guessing the address.
    else q = q.where(sql<boolean>`lower(audit_log.actor_email) = ${actor.toLowerCase()}`).where('ao.id', 'is not', null)
  }
  if (filter.subject !== undefined) q = q.where('audit_log.subject', '=', filter.subject)
  if (filter.action !== undefined) q = q.where('audit_log.action', '=', filter.action)
  if (filter.from !== undefined) q = q.where('audit_log.at', '>=', new Date(`${filter.from}T00:00:00Z`))
  if (filter.to !== undefined) q = q.where('audit_log.at', '<', new Date(Date.parse(`${filter.to}T00:00:00Z`) + 86_400_000))
  return q
}

interface RawRow {
  id: string
  at: Date
  org_id: number
  org_name: string
  actor_user_id: number | null
  actor_email: string | null
  actor_in_scope: number | null
  action: string
  subject: string
  subject_id: string | null
  summary: string
  before: unknown
  after: unknown
}

/** One keyset page: rows strictly older than `before` (by `at`, then `id`), newest first. */
async function fetchRows(sdb: ScopedDb, filter: CheckedFilter, before: string | undefined, limit: number): Promise<RawRow[]> {
  let q = baseQuery(sdb, filter)
  if (before !== undefined) {
    // Compare in SQL against the cursor row itself: `at` has microseconds, a JS Date only milliseconds.
    q = q.where(sql<boolean>`(audit_log.at, audit_log.id) < (select b.at, b.id from audit_log b where b.id = cast(${before} as bigint))`)
  }
  return (await q
    .select([
      'audit_log.id', 'audit_log.at', 'audit_log.org_id', 'o.name as org_name', 'audit_log.actor_user_id', 'audit_log.actor_email',
      'ao.id as actor_in_scope', 'audit_log.action', 'audit_log.subject', 'audit_log.subject_id', 'audit_log.summary',
      'audit_log.before', 'audit_log.after',
    ])
    // Matches both indexes, (at desc, id desc) and (org_id, at desc, id desc).
    .orderBy('audit_log.at', 'desc')
    .orderBy('audit_log.id', 'desc')
    .limit(limit)
    .execute()) as unknown as RawRow[]
}

/** A cursor must name an entry the reader can see; anything else is a bad parameter, not a page. */
async function checkCursor(sdb: ScopedDb, before: string): Promise<void> {
  const row = await sdb.selectFrom('audit_log').select('audit_log.id').where(sql<boolean>`audit_log.id = cast(${before} as bigint)`).executeTakeFirst()
  if (!row) throw new HttpProblem(400, 'Check the filter: "before" is not an entry you can see.', { before: 'Use the cursor from the previous page' })
}

/**
 * One page of entries, newest first. `query.before` continues after a previous page. Throws a 400
 * when the organisation filter or the cursor is outside the reader's subtree. `grants` (the
 * reader's, `c.var.grants`) decide which role ids in before/after are shown; without them only
 * system roles and roles owned in the subtree are.
 */
export async function auditPage(sdb: ScopedDb, query: AuditQuery, grants: UserGrants = NO_GRANTS): Promise<AuditPage> {
  const filter = await checkFilter(sdb, query.filter)
  if (query.before !== undefined) await checkCursor(sdb, query.before)
  const rows = await fetchRows(sdb, filter, query.before, query.limit + 1)
  const more = rows.length > query.limit
  const page = more ? rows.slice(0, query.limit) : rows
  const entries = await present(sdb, page, await foreignNames(sdb), grants)
  return { entries, next: more ? page[page.length - 1]!.id : null }
}

/**
 * Every entry matching `filter`, newest first, in batches read one keyset page at a time, so an
 * export of millions of rows neither holds them in memory nor keeps a transaction open.
 */
export async function* auditBatches(sdb: ScopedDb, filter: AuditFilter, batchSize = 500, grants: UserGrants = NO_GRANTS): AsyncGenerator<AuditEntryView[]> {
  const checked = await checkFilter(sdb, filter)
  const names = await foreignNames(sdb)
  let before: string | undefined
  for (;;) {
    const rows = await fetchRows(sdb, checked, before, batchSize)
    if (rows.length) yield await present(sdb, rows, names, grants)
    if (rows.length < batchSize) return
    before = rows[rows.length - 1]!.id
  }
}

// ---- masking ---------------------------------------------------------------------------------

/** Keys in before/after that hold an organisation id; one outside the subtree is shown as null. */
const ORG_REF_KEYS = new Set(['orgId', 'org_id', 'parentId', 'parent_id', 'organisationId', 'organisation_id'])

function collectOrgRefs(value: unknown, into: Set<number>): void {
  if (Array.isArray(value)) for (const v of value) collectOrgRefs(v, into)
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (ORG_REF_KEYS.has(key) && Number.isSafeInteger(v) && (v as number) > 0 && (v as number) <= 2_147_483_647) into.add(v as number)
      else collectOrgRefs(v, into)
    }
  }
}

function maskOrgRefs(value: unknown, visible: ReadonlySet<number>): unknown {
  if (Array.isArray(value)) return value.map((v) => maskOrgRefs(v, visible))
  if (!value || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    out[key] = ORG_REF_KEYS.has(key) && typeof v === 'number' ? (visible.has(v) ? v : null) : maskOrgRefs(v, visible)
  }
  return out
}

/**
 * Names of the organisations above the reader's own (its provider chain). A summary is written
 * for the people who made the change and may name the parent (`created under "Alpha"`); for a
 * reader below, that parent is outside their subtree, so its name is replaced. These names are
 * read only to be removed and never leave this module.
 */
async function foreignNames(sdb: ScopedDb): Promise<string[]> {
  const ids = sdb.scope.path.split('/').filter(Boolean).map(Number).filter((id) => id !== sdb.scope.orgId)
  if (ids.length === 0) return []
  const rows = await (executorOf(sdb) as Kysely<Database>).selectFrom('organisations').select('name').where('id', 'in', ids).execute()
  // Longest first, so "Alpha Group" is replaced before "Alpha".
  return rows.map((r) => r.name).filter((n) => n.length > 0).sort((a, b) => b.length - a.length)
}

/**
 * Quoted names in the rows' summaries that belong to an organisation outside the subtree (and to
 * none inside it), other than the provider chain's. A summary names organisations as they were
 * when it was written: after a move, `created under "Alpha"` would name the reader's sibling.
 */
async function outsideNames(sdb: ScopedDb, rows: readonly RawRow[], known: readonly string[]): Promise<string[]> {
  const quoted = new Set<string>()
  for (const row of rows) for (const match of row.summary.matchAll(/"([^"]{1,200})"/g)) quoted.add(match[1]!)
  for (const name of known) quoted.delete(name)
  if (quoted.size === 0) return []
  const found = await (executorOf(sdb) as Kysely<Database>).selectFrom('organisations')
    .select(['name', sql<boolean>`path like ${sdb.pathPattern}`.as('inside')])
    .where('name', 'in', [...quoted]).execute()
  const inside = new Set(found.filter((f) => f.inside).map((f) => f.name))
  return [...new Set(found.filter((f) => !f.inside && !inside.has(f.name)).map((f) => f.name))].sort((a, b) => b.length - a.length)
}

/**
 * Only the quoted form is replaced (summaries quote names): a bare match would also hit names in
 * scope that merely contain the provider's, e.g. "Acme Client 1" under "Acme".
 */
function maskSummary(summary: string, names: readonly string[], others: readonly string[] = []): string {
  let out = summary
  for (const name of names) out = out.replaceAll(`"${name}"`, 'your provider')
  for (const name of others) out = out.replaceAll(`"${name}"`, 'another organisation')
  return out
}

/** Keys in before/after of User and Role entries that hold role ids; a role the reader cannot see is shown as null. */
const ROLE_REF_KEYS = new Set(['roleIds', 'managedRoleIds', 'added', 'removed', 'reassignedTo'])
const ROLE_REF_SUBJECTS = new Set(['User', 'Role'])

function roleIdsOf(value: unknown): number[] {
  const list = Array.isArray(value) ? value : [value]
  return list.filter((v): v is number => Number.isSafeInteger(v))
}

function forRoleRefs(value: unknown, fn: (key: string, v: unknown) => void): void {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return
  for (const [key, v] of Object.entries(value)) if (ROLE_REF_KEYS.has(key)) fn(key, v)
}

function maskRoleRefs(value: unknown, visible: ReadonlySet<number>): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value
  const mask = (v: unknown) => (typeof v === 'number' && !visible.has(v) ? null : v)
  const out: Record<string, unknown> = { ...value }
  forRoleRefs(value, (key, v) => { out[key] = Array.isArray(v) ? v.map(mask) : mask(v) })
  return out
}

async function present(sdb: ScopedDb, rows: readonly RawRow[], names: readonly string[], grants: UserGrants): Promise<AuditEntryView[]> {
  const refs = new Set<number>()
  const roleRefs = new Set<number>()
  for (const row of rows) {
    collectOrgRefs(row.before, refs)
    collectOrgRefs(row.after, refs)
    if (ROLE_REF_SUBJECTS.has(row.subject)) {
      for (const side of [row.before, row.after]) forRoleRefs(side, (_key, v) => { for (const id of roleIdsOf(v)) roleRefs.add(id) })
    }
  }
  const visible = new Set<number>()
  if (refs.size) {
    const found = await sdb.organisations().select('organisations.id').where('organisations.id', 'in', [...refs]).execute()
    for (const f of found) visible.add(f.id)
  }
  const visibleRoles = await visibleRoleIds(sdb, grants, [...roleRefs])
  const others = await outsideNames(sdb, rows, names)
  const masked = (row: RawRow, side: unknown) => {
    const orgsMasked = maskOrgRefs(side, visible)
    return ROLE_REF_SUBJECTS.has(row.subject) ? maskRoleRefs(orgsMasked, visibleRoles) : orgsMasked
  }
  return rows.map((row): AuditEntryView => ({
    id: String(row.id),
    at: row.at,
    orgId: row.org_id,
    orgName: row.org_name,
    actor: row.actor_user_id === null && row.actor_email === null
      ? { kind: 'system' }
      : row.actor_in_scope !== null ? { kind: 'user', email: row.actor_email, userId: row.actor_user_id } : { kind: 'external' },
    action: row.action,
    subject: row.subject,
    subjectId: row.subject_id,
    summary: maskSummary(row.summary, names, others),
    before: masked(row, row.before),
    after: masked(row, row.after),
  }))
}

// ---- what the filters offer ------------------------------------------------------------------

/** How many recent entries are sampled for the subject and action choices (the table may be huge). */
const CHOICE_SAMPLE = 200

/** Distinct subjects and actions among the most recent entries in scope, for the filter choices. */
export async function recentChoices(sdb: ScopedDb): Promise<{ subjects: string[]; actions: string[] }> {
  const recent = sdb.selectFrom('audit_log')
    .select(['audit_log.subject', 'audit_log.action'])
    .orderBy('audit_log.at', 'desc').orderBy('audit_log.id', 'desc')
    .limit(CHOICE_SAMPLE)
  const rows = await (executorOf(sdb) as Kysely<Database>).selectFrom(recent.as('r')).select(['r.subject', 'r.action']).distinct().execute()
  return {
    subjects: [...new Set(rows.map((r) => r.subject))].sort(),
    actions: [...new Set(rows.map((r) => r.action))].sort(),
  }
}

/** How an actor is written for people: the email, or who it stands for. */
export function actorLabel(actor: AuditActor): string {
  if (actor.kind === 'system') return 'System'
  if (actor.kind === 'external') return 'An administrator of your provider'
  return actor.email ?? `User #${actor.userId ?? '?'}`
}
