/**
 * Parameters and SQL fragments the usage-family reports share: an optional id checked against the
 * caller's scoped handle (an id outside the subtree is a 400, exactly like an unknown one), the
 * service-category filter, and the change / percent arithmetic in SQL `numeric`.
 */
import { sql, type Expression } from 'kysely'
import { SERVICE_CATEGORIES, type ServiceCategory } from '../../core/db/schema.ts'
import { enumParam, ReportParamError, type ParamDefinition } from '../../core/reports/params.ts'
import type { ScopedDb } from '../../core/tenancy/scoped-db.ts'

export interface IdParamOptions {
  readonly label: string
  readonly description?: string
  /** Whether the caller may see the row with this id (through its scoped handle). */
  readonly visible: (db: ScopedDb, id: number) => Promise<boolean>
  /** What the id names, for the error message (`subscription`). */
  readonly noun: string
}

/** An optional database id (`subscription=12`); undefined when missing. */
export function idParam(options: IdParamOptions): ParamDefinition<number | undefined> {
  return {
    kind: 'number',
    label: options.label,
    description: options.description,
    keys: (name) => [name],
    async parse(input, name, context) {
      const all = input.getAll(name)
      if (all.length > 1) throw new ReportParamError(name, 'give it once')
      const raw = all[0]?.trim()
      if (raw === undefined || raw === '') return undefined
      const id = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN
      if (!Number.isSafeInteger(id) || id <= 0 || id > 2_147_483_647) throw new ReportParamError(name, `use a ${options.noun} id (a whole number)`)
      if (!(await options.visible(context.db, id))) throw new ReportParamError(name, `${options.noun} ${id} does not exist, or you cannot see it`)
      return id
    },
    toQuery: (value, name) => (value === undefined ? [] : [[name, String(value)]]),
  }
}

export const CATEGORY_LABELS: Readonly<Record<ServiceCategory, string>> = {
  compute: 'Compute', memory: 'Memory', storage: 'Storage', network: 'Network (bandwidth)', voice: 'Voice', sms: 'SMS', licence: 'Licences', other: 'Other',
}

/** `category=compute|memory|...`: only services of that category; all when missing. */
export function categoryParam(label = 'Service category') {
  return enumParam<ServiceCategory>({ label, values: SERVICE_CATEGORIES.map((value) => ({ value, label: CATEGORY_LABELS[value] })) })
}

/** A service id the caller's catalog holds (its own, its ancestors' or its subtree's). */
export function serviceParam() {
  return idParam({
    label: 'Service',
    noun: 'service',
    visible: async (db, id) => !!(await db.selectShared('services').select('services.id').where('services.id', '=', id).executeTakeFirst()),
  })
}

/** `now - before`, exact. */
export function changeSql(now: Expression<unknown>, before: Expression<unknown>) {
  return sql<string>`(coalesce(${now}, 0) - coalesce(${before}, 0))`
}

/** `(now - before) / before` as a percent with 2 decimals (half away from zero); null when `before` is 0. */
export function changePercentSql(now: Expression<unknown>, before: Expression<unknown>) {
  return sql<string | null>`case when coalesce(${before}, 0) = 0 then null
    else round((coalesce(${now}, 0) - ${before}) * 100 / ${before}, 2) end`
}

/** `part / whole` as a percent with 2 decimals; null when `whole` is 0. */
export function sharePercentSql(part: Expression<unknown>, whole: Expression<unknown>) {
  return sql<string | null>`case when coalesce(${whole}, 0) = 0 then null else round(${part} * 100 / ${whole}, 2) end`
}
