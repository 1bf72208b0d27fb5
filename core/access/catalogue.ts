/**
 * The permission catalogue: every subject a role can be granted, with the actions that make sense
 * for it. The core's own subjects come first, then each enabled plugin's declared ones. The role
 * matrix is drawn from it and a role may only hold pairs from it (or `manage`/`all`).
 */
import type { PluginDefinition } from '../plugins/define.ts'

/** Columns of the role matrix, in order. `manage` means every action, including future ones. */
export const ACTIONS = ['read', 'create', 'update', 'delete', 'export', 'schedule', 'manage'] as const
export type Action = (typeof ACTIONS)[number] | (string & {})

export interface SubjectEntry {
  /** CASL subject, singular PascalCase. */
  readonly subject: string
  /** Plural label for people, e.g. `API tokens`. */
  readonly label: string
  readonly actions: readonly string[]
  /** `core`, or the id of the plugin that declared it. */
  readonly owner: string
}

export const CORE_SUBJECTS: readonly SubjectEntry[] = [
  { subject: 'Organisation', label: 'Organisations', actions: ['read', 'create', 'update'], owner: 'core' },
  { subject: 'User', label: 'Users', actions: ['read', 'create', 'update', 'delete'], owner: 'core' },
  { subject: 'Role', label: 'Roles', actions: ['read', 'create', 'update', 'delete'], owner: 'core' },
  { subject: 'ApiToken', label: 'API tokens', actions: ['read', 'create', 'delete'], owner: 'core' },
  { subject: 'AuditLog', label: 'Audit log', actions: ['read', 'export'], owner: 'core' },
  // Metering and billing (core/billing).
  { subject: 'Catalog', label: 'Catalog (services, meters, plans, costs, providers)', actions: ['read', 'create', 'update', 'delete'], owner: 'core' },
  { subject: 'Subscription', label: 'Subscriptions', actions: ['read', 'create', 'update', 'delete'], owner: 'core' },
  { subject: 'UsageEvent', label: 'Usage events', actions: ['read', 'create'], owner: 'core' },
  { subject: 'Invoice', label: 'Invoices and billing runs', actions: ['read', 'create', 'update', 'export'], owner: 'core' },
  { subject: 'Credit', label: 'Credits', actions: ['read', 'create', 'update'], owner: 'core' },
  { subject: 'Discount', label: 'Discounts', actions: ['read', 'create', 'update'], owner: 'core' },
]

/** `UsageReport` -> `Usage reports`: a label for a plugin subject that did not name one. */
export function labelOf(subject: string): string {
  const words = subject.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase()
  return words.charAt(0).toUpperCase() + words.slice(1) + (words.endsWith('s') || words.endsWith(' log') ? '' : 's')
}

/**
 * Core subjects plus each plugin's. A subject declared twice is one row whose actions are the union.
 * @example permissionCatalogue(runtime.plugins).map((s) => s.subject) // ['Organisation', 'User', ...]
 */
export function permissionCatalogue(plugins: readonly PluginDefinition[]): SubjectEntry[] {
  const bySubject = new Map<string, SubjectEntry>()
  for (const entry of CORE_SUBJECTS) bySubject.set(entry.subject, entry)
  for (const plugin of plugins) {
    const declared = plugin.permissions
    if (!declared) continue
    for (const subject of declared.subjects) {
      const known = bySubject.get(subject)
      const actions = [...new Set([...(known?.actions ?? []), ...declared.actions.filter((a) => a !== 'manage')])]
      bySubject.set(subject, { subject, label: known?.label ?? labelOf(subject), actions: sortActions(actions), owner: known?.owner ?? plugin.id })
    }
    // A report's subject can always be read and exported: the engine checks both.
    for (const report of plugin.reports ?? []) {
      const known = bySubject.get(report.subject)
      const actions = [...new Set([...(known?.actions ?? []), 'read', 'export'])]
      bySubject.set(report.subject, { subject: report.subject, label: known?.label ?? labelOf(report.subject), actions: sortActions(actions), owner: known?.owner ?? plugin.id })
    }
  }
  return [...bySubject.values()]
}

function sortActions(actions: string[]): string[] {
  const rank = (a: string) => {
    const i = (ACTIONS as readonly string[]).indexOf(a)
    return i < 0 ? ACTIONS.length : i
  }
  return actions.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
}

/** Whether a (subject, action) pair may be stored on a role. */
export function isGrantable(catalogue: readonly SubjectEntry[], subject: string, action: string): boolean {
  if (subject === 'all') return ACTIONS.includes(action as (typeof ACTIONS)[number])
  const entry = catalogue.find((e) => e.subject === subject)
  return !!entry && (action === 'manage' || entry.actions.includes(action))
}
