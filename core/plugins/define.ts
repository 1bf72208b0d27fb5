/**
 * The plugin contract. A plugin is an inert, frozen value: `definePlugin` checks it and freezes it,
 * and does nothing else. The core mounts its routes, runs its migrations, registers its jobs and
 * shows its navigation entries.
 *
 * @example
 * export const helloPlugin = definePlugin({
 *   id: 'hello',
 *   title: 'Hello',
 *   permissions: { subjects: ['Greeting'], actions: ['read'] },
 *   routes: (app) => { app.get('/', can('read', 'Greeting'), (c) => page(c, { title: 'Hello', body: <p>Hi</p> })) },
 *   nav: [{ section: 'Tools', label: 'Hello', href: '/hello', requires: ['read', 'Greeting'] }],
 * })
 */
import type { Hono } from 'hono'
import type { Migration } from 'kysely/migration'
import type { Job } from 'pg-boss'
import type { AppEnv } from '../http/env.ts'
import type { JobContext } from '../jobs/jobs.ts'
import type { AnyReport } from '../reports/define.ts'
import { PluginError } from './errors.ts'

export interface NavEntry {
  /** Heading the entry is grouped under, e.g. `Billing`, `Reports`, `Administration`. */
  readonly section: string
  readonly label: string
  /** Absolute path inside the portal, e.g. `/invoice`. */
  readonly href: string
  /** The entry shows only to users who may do this, e.g. `['read', 'Invoice']`. */
  readonly requires?: readonly [action: string, subject: string]
  /** Lower comes first inside its section; ties keep plugin order. */
  readonly order?: number
}

export interface PluginPermissions {
  /** CASL subjects, singular PascalCase: `Invoice`, `UsageReport`. */
  readonly subjects: readonly string[]
  /** Lowercase verbs: `read`, `create`, `update`, `delete`, `export`, `schedule`, `manage`. */
  readonly actions: readonly string[]
}

/** A background job: a pg-boss queue named `<plugin>.<name>`, optionally on a cron schedule. */
export interface JobDefinition<Data extends object = object> {
  readonly id: string
  /** Five-field cron expression (UTC unless `tz` is given); one schedule per queue. */
  readonly cron?: string
  readonly tz?: string
  readonly handler: (jobs: Job<Data>[], context: JobContext) => Promise<void>
}

export interface PluginDefinition {
  /** kebab-case; also the URL prefix (`/<id>`) and the namespace of its report, job and queue ids. */
  readonly id: string
  readonly title: string
  readonly description?: string
  /** Ids of plugins that must be enabled and set up first. */
  readonly dependsOn?: readonly string[]
  readonly permissions?: PluginPermissions
  /** The plugin's own migrations, by name (names sort in run order). Tables carry `org_id`. */
  readonly migrations?: Readonly<Record<string, Migration>>
  /** Adds the plugin's routes to its sub-app, mounted under `/<id>`. Handlers see `c.var` (AppEnv). */
  readonly routes?: (app: Hono<AppEnv>) => void
  readonly jobs?: readonly JobDefinition<any>[]
  readonly nav?: readonly NavEntry[]
  /** Reports (built with `defineReport`), ids prefixed `<plugin id>.`; the engine serves them under /reports. */
  readonly reports?: readonly AnyReport[]
}

const ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/
/** Prefixes the core serves itself; a plugin cannot take them. */
export const RESERVED_PREFIXES = new Set(['api', 'assets', 'login', 'logout', 'healthz', 'readyz', 'static'])

/** Checks a plugin's shape and returns it deeply frozen. Throws {@link PluginError} (`LL_ERR_PLUGIN_INVALID`). */
export function definePlugin<const P extends PluginDefinition>(definition: P): P {
  const invalid = (problem: string) => new PluginError('LL_ERR_PLUGIN_INVALID', `Plugin "${definition.id}": ${problem}`, definition.id)
  if (!ID.test(definition.id)) throw invalid('id must be kebab-case (a-z, 0-9, single dashes)')
  if (RESERVED_PREFIXES.has(definition.id)) throw invalid(`id "${definition.id}" is reserved by the core`)
  if (!definition.title?.trim()) throw invalid('title is required')
  for (const dep of definition.dependsOn ?? []) if (!ID.test(dep)) throw invalid(`dependsOn has an invalid id "${dep}"`)
  for (const job of definition.jobs ?? []) {
    if (!job.id.startsWith(`${definition.id}.`)) throw invalid(`job id "${job.id}" must start with "${definition.id}."`)
  }
  for (const report of definition.reports ?? []) {
    if (!report.id.startsWith(`${definition.id}.`)) throw invalid(`report id "${report.id}" must start with "${definition.id}."`)
  }
  for (const subject of definition.permissions?.subjects ?? []) {
    if (!/^[A-Z][A-Za-z0-9]*$/.test(subject)) throw invalid(`permission subject "${subject}" must be PascalCase`)
  }
  for (const action of definition.permissions?.actions ?? []) {
    if (!/^[a-z][a-z-]*$/.test(action)) throw invalid(`permission action "${action}" must be a lowercase verb`)
  }
  for (const entry of definition.nav ?? []) {
    if (!entry.href.startsWith('/')) throw invalid(`nav entry "${entry.label}" needs an absolute href`)
  }
  return deepFreeze(definition)
}

function deepFreeze<T>(value: T): T {
  // A module namespace (`import * as m0001`) is already sealed and cannot be frozen; leave it be.
  if (value && typeof value === 'object' && !Object.isFrozen(value) && (value as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] !== 'Module') {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}

export function isPluginDefinition(value: unknown): value is PluginDefinition {
  return typeof value === 'object' && value !== null && typeof (value as PluginDefinition).id === 'string'
    && typeof (value as PluginDefinition).title === 'string' && Object.isFrozen(value)
}
