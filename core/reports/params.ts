/**
 * Report parameters: reusable, typed parts a report puts in its `params` (a period, the
 * organisations it covers, the account type, enums, text and number filters). Each part reads its
 * own query-string keys, answers a bad value with a 400 naming the key, and writes itself back to
 * a query string so a URL (or an archived run, or a schedule) reproduces the view.
 *
 * @example
 * params: {
 *   period: periodParam({ default: 'last_month' }),
 *   orgs: orgScopeParam(),
 *   status: enumParam({ label: 'Status', values: [{ value: 'paid', label: 'Paid' }, ...] }),
 * }
 */
import type { SelectQueryBuilder } from 'kysely'
import type { Database } from '../db/schema.ts'
import { HttpProblem } from '../http/problem.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import { isIsoDay, isTimeZone, PERIOD_LABELS, PERIOD_PRESETS, resolvePeriod, type Period, type PeriodPreset } from './period.ts'
import type { OrgIds } from './define.ts'

/** Raw parameter values, from a query string or from the same keys in a JSON body. */
export interface ParamInput {
  get(key: string): string | undefined
  getAll(key: string): string[]
  /** Every key present, so the engine can refuse the ones nothing reads. */
  keys(): string[]
}

export interface ParamContext {
  /** The caller's scoped handle: organisation ids are checked against it. */
  readonly db: ScopedDb
  readonly now: Date
  /** The default time zone for periods (the `tz` key overrides it). */
  readonly timeZone: string
}

export type ParamKind = 'period' | 'organisations' | 'account-type' | 'enum' | 'text' | 'number' | 'date'

export interface ParamOption {
  readonly value: string
  readonly label: string
}

/** One part of a report's parameters. Build them with the factories below. */
export interface ParamDefinition<T> {
  readonly kind: ParamKind
  readonly label: string
  readonly description?: string | undefined
  /** Query-string keys this part reads; `name` is its key in the report's `params`. */
  keys(name: string): readonly string[]
  /** The value, or throws {@link ReportParamError}. Missing keys give the default. */
  parse(input: ParamInput, name: string, context: ParamContext): T | Promise<T>
  /** The query-string pairs that give this value back (defaults are left out). */
  toQuery(value: T, name: string): Array<[string, string]>
  /** For enums: the choices, in order. */
  readonly options?: readonly ParamOption[] | undefined
  /** Several values (a repeated key)? */
  readonly multiple?: boolean | undefined
}

export type ParamsShape = Readonly<Record<string, ParamDefinition<any>>>
export type ParamsOf<P extends ParamsShape> = { readonly [K in keyof P]: P[K] extends ParamDefinition<infer T> ? T : never }

/** A bad parameter: a 400 whose message starts with the key, and a `fields` entry for forms. */
export class ReportParamError extends HttpProblem {
  readonly key: string
  constructor(key: string, message: string) {
    super(400, `${key}: ${message}`, { [key]: message })
    this.key = key
  }
}

/** The one value of `key`, trimmed; undefined when missing or empty; a 400 when repeated. */
export function single(input: ParamInput, key: string): string | undefined {
  const all = input.getAll(key)
  if (all.length > 1) throw new ReportParamError(key, 'give it once')
  const value = all[0]?.trim()
  return value === '' ? undefined : value
}

// ---------------------------------------------------------------------------------------------
// Period

export interface PeriodParamOptions {
  readonly default?: PeriodPreset
  readonly label?: string
  /** Presets offered; all of them by default. `custom` is always accepted. */
  readonly presets?: readonly PeriodPreset[]
}

/**
 * `period=<preset>` (and `from`/`to` as `YYYY-MM-DD` for `custom`, `tz=<IANA zone>`), resolved to
 * inclusive days in the time zone. Giving `from`/`to` without `period` means `custom`.
 */
export function periodParam(options: PeriodParamOptions = {}): ParamDefinition<Period> {
  const fallback = options.default ?? 'this_month'
  const presets = options.presets ?? PERIOD_PRESETS
  return {
    kind: 'period',
    label: options.label ?? 'Period',
    options: presets.map((p) => ({ value: p, label: PERIOD_LABELS[p] })),
    keys: () => ['period', 'from', 'to', 'tz'],
    parse(input, _name, context) {
      const from = single(input, 'from')
      const to = single(input, 'to')
      const tz = single(input, 'tz') ?? context.timeZone
      if (!isTimeZone(tz)) throw new ReportParamError('tz', `"${tz.slice(0, 64)}" is not a time zone; use an IANA name such as Europe/Paris or UTC`)
      const raw = single(input, 'period') ?? (from || to ? 'custom' : fallback)
      if (!(PERIOD_PRESETS as readonly string[]).includes(raw) || (raw !== 'custom' && !presets.includes(raw as PeriodPreset))) {
        throw new ReportParamError('period', `use one of ${[...new Set([...presets, 'custom'])].join(', ')}`)
      }
      const preset = raw as PeriodPreset
      if (preset !== 'custom') {
        if (from !== undefined || to !== undefined) throw new ReportParamError(from !== undefined ? 'from' : 'to', 'only goes with period=custom')
        return resolvePeriod(preset, { now: context.now, timeZone: tz })
      }
      if (from === undefined) throw new ReportParamError('from', 'a custom period needs a start day as YYYY-MM-DD')
      if (to === undefined) throw new ReportParamError('to', 'a custom period needs an end day as YYYY-MM-DD')
      if (!isIsoDay(from)) throw new ReportParamError('from', 'use a day as YYYY-MM-DD')
      if (!isIsoDay(to)) throw new ReportParamError('to', 'use a day as YYYY-MM-DD')
      if (from > to) throw new ReportParamError('to', 'the end day comes before the start day')
      if (from < '1970-01-01' || to > '2199-12-31') throw new ReportParamError('from', 'use days between 1970 and 2199')
      return resolvePeriod('custom', { now: context.now, timeZone: tz, from, to })
    },
    toQuery(value) {
      const out: Array<[string, string]> = []
      if (value.preset !== fallback) out.push(['period', value.preset])
      if (value.preset === 'custom') out.push(['from', value.from], ['to', value.to])
      if (value.timeZone !== 'UTC') out.push(['tz', value.timeZone])
      return out
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Organisations

export const ORG_SCOPES = ['all', 'one', 'subtree'] as const
export type OrgScopeMode = (typeof ORG_SCOPES)[number]

/** Which organisations a report covers, inside the caller's subtree. */
export interface OrgScope {
  /** `all`: the caller's whole subtree; `one`: exactly the listed ones; `subtree`: the listed ones and everything below. */
  readonly mode: OrgScopeMode
  readonly orgs: readonly { readonly id: number; readonly name: string; readonly path: string; readonly kind: string }[]
}

const MAX_LISTED_ORGS = 1000

/**
 * `org=<id>` (repeatable, up to 1,000: one organisation or a filtered list) with
 * `scope=one|all|subtree`. No `org` means every organisation the caller can see; `org` without
 * `scope` means `one`. An id outside the caller's subtree is a 400, exactly like an unknown one.
 */
export function orgScopeParam(options: { label?: string } = {}): ParamDefinition<OrgScope> {
  return {
    kind: 'organisations',
    label: options.label ?? 'Organisations',
    multiple: true,
    options: [
      { value: 'all', label: 'All organisations' },
      { value: 'one', label: 'Only the chosen organisations' },
      { value: 'subtree', label: 'The chosen organisations and everything below them' },
    ],
    keys: () => ['org', 'scope'],
    async parse(input, _name, context) {
      const raw = input.getAll('org').flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean)
      const scopeText = single(input, 'scope')
      if (scopeText !== undefined && !(ORG_SCOPES as readonly string[]).includes(scopeText)) throw new ReportParamError('scope', `use one of ${ORG_SCOPES.join(', ')}`)
      const mode = (scopeText ?? (raw.length ? 'one' : 'all')) as OrgScopeMode
      if (mode === 'all') {
        if (raw.length) throw new ReportParamError('org', 'leave it out with scope=all, or use scope=one or scope=subtree')
        return { mode, orgs: [] }
      }
      if (!raw.length) throw new ReportParamError('org', `scope=${mode} needs at least one organisation id`)
      if (raw.length > MAX_LISTED_ORGS) throw new ReportParamError('org', `give at most ${MAX_LISTED_ORGS} organisations`)
      const ids = [...new Set(raw.map((v) => (/^\d{1,10}$/.test(v) ? Number(v) : NaN)))]
      if (ids.some((id) => !Number.isSafeInteger(id) || id <= 0 || id > 2_147_483_647)) throw new ReportParamError('org', 'use organisation ids (whole numbers)')
      const found = await context.db.organisationsById(ids)
        .select(['organisations.id', 'organisations.name', 'organisations.path', 'organisations.kind'])
        .orderBy('organisations.path')
        .execute()
      if (found.length !== ids.length) {
        const missing = ids.find((id) => !found.some((o) => o.id === id))
        throw new ReportParamError('org', `organisation ${missing} does not exist, or you cannot see it`)
      }
      return { mode, orgs: found }
    },
    toQuery(value) {
      if (value.mode === 'all') return []
      return [...(value.mode === 'one' ? [] : [['scope', value.mode] as [string, string]]), ...value.orgs.map((o) => ['org', String(o.id)] as [string, string])]
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Account type

export const ACCOUNT_TYPES = ['both', 'partner', 'customer'] as const
export type AccountType = (typeof ACCOUNT_TYPES)[number]

/** `accountType=partner|customer|both`: resellers, their customers, or everyone (the default). */
export function accountTypeParam(options: { label?: string } = {}): ParamDefinition<AccountType> {
  return enumParam<AccountType>({
    label: options.label ?? 'Account type',
    values: [
      { value: 'both', label: 'Partners and customers' },
      { value: 'partner', label: 'Partners (resellers)' },
      { value: 'customer', label: 'Customers' },
    ],
    default: 'both',
    kind: 'account-type',
  })
}

// ---------------------------------------------------------------------------------------------
// Enums, text, numbers, days

export interface EnumParamOptions<V extends string> {
  readonly label: string
  readonly description?: string
  readonly values: readonly { readonly value: V; readonly label: string }[]
  /** The value when the key is missing; undefined means "no filter". */
  readonly default?: V
  /** Internal: how a form draws it. */
  readonly kind?: ParamKind
}

/** One value of a fixed list, e.g. `status=overdue`. Undefined (no filter) when missing and no default. */
export function enumParam<V extends string>(options: EnumParamOptions<V> & { default: V }): ParamDefinition<V>
export function enumParam<V extends string>(options: EnumParamOptions<V>): ParamDefinition<V | undefined>
export function enumParam<V extends string>(options: EnumParamOptions<V>): ParamDefinition<V | undefined> {
  const allowed = options.values.map((v) => v.value) as readonly string[]
  return {
    kind: options.kind ?? 'enum',
    label: options.label,
    description: options.description,
    options: options.values,
    keys: (name) => [name],
    parse(input, name) {
      const value = single(input, name)
      if (value === undefined) return options.default
      if (!allowed.includes(value)) throw new ReportParamError(name, `use one of ${allowed.join(', ')}`)
      return value as V
    },
    toQuery: (value, name) => (value === undefined || value === options.default ? [] : [[name, value]]),
  }
}

/** Several values of a fixed list, as a repeated key (`status=paid&status=overdue`); empty means all. */
export function enumListParam<V extends string>(options: Omit<EnumParamOptions<V>, 'default'>): ParamDefinition<readonly V[]> {
  const allowed = options.values.map((v) => v.value) as readonly string[]
  return {
    kind: options.kind ?? 'enum',
    label: options.label,
    description: options.description,
    options: options.values,
    multiple: true,
    keys: (name) => [name],
    parse(input, name) {
      const values = [...new Set(input.getAll(name).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean))]
      const bad = values.find((v) => !allowed.includes(v))
      if (bad !== undefined) throw new ReportParamError(name, `"${bad.slice(0, 40)}" is not one of ${allowed.join(', ')}`)
      return values as V[]
    },
    toQuery: (value, name) => value.map((v) => [name, v] as [string, string]),
  }
}

/** Free text (a search), trimmed, at most `maxLength` characters. Undefined when empty. */
export function textParam(options: { label: string; description?: string; maxLength?: number }): ParamDefinition<string | undefined> {
  const max = options.maxLength ?? 200
  return {
    kind: 'text',
    label: options.label,
    description: options.description,
    keys: (name) => [name],
    parse(input, name) {
      const value = single(input, name)
      if (value !== undefined && value.length > max) throw new ReportParamError(name, `use at most ${max} characters`)
      if (value?.includes('\u0000')) throw new ReportParamError(name, 'contains a NUL character')
      return value
    },
    toQuery: (value, name) => (value === undefined ? [] : [[name, value]]),
  }
}

/**
 * A decimal number kept as its exact text (`12.50`, `-3`), never a float: amounts compare in SQL
 * as `numeric`. Undefined when missing.
 */
export function decimalParam(options: { label: string; description?: string; min?: string }): ParamDefinition<string | undefined> {
  return {
    kind: 'number',
    label: options.label,
    description: options.description,
    keys: (name) => [name],
    parse(input, name) {
      const value = single(input, name)
      if (value === undefined) return undefined
      if (!/^-?\d{1,15}(\.\d{1,6})?$/.test(value)) throw new ReportParamError(name, 'use a number such as 100 or 99.95')
      if (options.min !== undefined && Number(value) < Number(options.min)) throw new ReportParamError(name, `use ${options.min} or more`)
      return value
    },
    toQuery: (value, name) => (value === undefined ? [] : [[name, value]]),
  }
}

/** A whole number within bounds, with a default. */
export function integerParam(options: { label: string; description?: string; min: number; max: number; default: number }): ParamDefinition<number> {
  return {
    kind: 'number',
    label: options.label,
    description: options.description,
    keys: (name) => [name],
    parse(input, name) {
      const value = single(input, name)
      if (value === undefined) return options.default
      const n = /^-?\d{1,9}$/.test(value) ? Number(value) : NaN
      if (!Number.isInteger(n) || n < options.min || n > options.max) throw new ReportParamError(name, `use a whole number from ${options.min} to ${options.max}`)
      return n
    },
    toQuery: (value, name) => (value === options.default ? [] : [[name, String(value)]]),
  }
}

/** One calendar day as `YYYY-MM-DD`; undefined when missing. */
export function dayParam(options: { label: string; description?: string }): ParamDefinition<string | undefined> {
  return {
    kind: 'date',
    label: options.label,
    description: options.description,
    keys: (name) => [name],
    parse(input, name) {
      const value = single(input, name)
      if (value !== undefined && !isIsoDay(value)) throw new ReportParamError(name, 'use a day as YYYY-MM-DD')
      return value
    },
    toQuery: (value, name) => (value === undefined ? [] : [[name, value]]),
  }
}

// ---------------------------------------------------------------------------------------------
// The organisations a report covers

/**
 * Ids of the organisations selected by an {@link OrgScope} and an {@link AccountType}, always
 * inside the caller's subtree (the handle's scope). Use it as `where('x.org_id', 'in', ...)`.
 */
export function selectedOrganisations(db: ScopedDb, scope?: OrgScope, accountType?: AccountType): OrgIds {
  const kind = accountType === 'partner' ? 'reseller' : accountType === 'customer' ? 'customer' : undefined
  if (scope && scope.mode === 'one') {
    // Listed organisations were each found in the caller's subtree when the param was parsed.
    const ids = scope.orgs.filter((o) => kind === undefined || o.kind === kind).map((o) => o.id)
    if (ids.length) return ids
  }
  let query = (db.organisations() as unknown as SelectQueryBuilder<Database, 'organisations', {}>).select('organisations.id')
  if (scope && scope.mode === 'one') query = query.where('organisations.id', 'in', scope.orgs.map((o) => o.id))
  if (scope && scope.mode === 'subtree') query = query.where((eb) => eb.or(scope.orgs.map((o) => eb('organisations.path', 'like', `${o.path}%`))))
  if (kind) query = query.where('organisations.kind', '=', kind)
  return query
}

/** Reads raw parameters from a query string. */
export function queryInput(search: URLSearchParams): ParamInput {
  return { get: (k) => search.get(k) ?? undefined, getAll: (k) => search.getAll(k), keys: () => [...new Set(search.keys())] }
}

/**
 * Reads raw parameters from a JSON body: the same keys as the query string, each a string, a
 * number, a boolean or an array of those (for repeated keys).
 */
export function jsonInput(body: Readonly<Record<string, unknown>>): ParamInput {
  const all = (key: string): string[] => {
    const value = body[key]
    if (value === undefined || value === null) return []
    const list = Array.isArray(value) ? value : [value]
    return list.map((v) => {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v)
      throw new ReportParamError(key, 'use a string, a number or a list of them')
    })
  }
  return { get: (k) => all(k)[0], getAll: all, keys: () => Object.keys(body) }
}

/** The keys a set of params reads, with the part that owns each. */
export function paramKeys(params: ParamsShape): Map<string, string> {
  const out = new Map<string, string>()
  for (const [name, param] of Object.entries(params)) for (const key of param.keys(name)) out.set(key, name)
  return out
}
