/**
 * Every report of the enabled plugins, by id. Built once at boot; a report whose id does not start
 * with its plugin's id, or an id used twice, stops the boot with a coded error.
 */
import type { AppAbility } from '../access/ability.ts'
import type { PluginDefinition } from '../plugins/define.ts'
import { PluginError } from '../plugins/errors.ts'
import type { AnyReport } from './define.ts'

export class ReportRegistry {
  readonly #byId = new Map<string, AnyReport>()

  constructor(plugins: readonly PluginDefinition[]) {
    for (const plugin of plugins) {
      for (const report of plugin.reports ?? []) {
        if (this.#byId.has(report.id)) throw new PluginError('LL_ERR_REPORT_DUPLICATE_ID', `two reports have the id "${report.id}"`, plugin.id)
        this.#byId.set(report.id, report)
      }
    }
  }

  /** Every report, in plugin order. */
  all(): readonly AnyReport[] {
    return [...this.#byId.values()]
  }

  get(id: string): AnyReport | undefined {
    return this.#byId.get(id)
  }

  /** The reports `ability` may read, grouped by category (categories and titles sorted). */
  readable(ability: AppAbility): Array<{ category: string; reports: AnyReport[] }> {
    const groups = new Map<string, AnyReport[]>()
    for (const report of this.#byId.values()) {
      if (!ability.can('read', report.subject)) continue
      groups.set(report.category, [...(groups.get(report.category) ?? []), report])
    }
    return [...groups.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([category, reports]) => ({ category, reports: reports.sort((a, b) => a.title.localeCompare(b.title)) }))
  }
}
