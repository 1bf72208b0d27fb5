/**
 * Orders the enabled plugins by their declared dependencies (never by their position in a list)
 * and refuses, with a coded {@link PluginError}, a duplicate id, an unknown or missing dependency,
 * or a cycle.
 */
import type { PluginDefinition } from './define.ts'
import { PluginError } from './errors.ts'

/**
 * @param installed every plugin the composition root knows (built-in and third-party)
 * @param enabled the ids to run; all installed ones when undefined
 * @returns the enabled plugins, each after everything it depends on
 */
export function resolvePlugins(installed: readonly PluginDefinition[], enabled?: readonly string[]): PluginDefinition[] {
  const byId = new Map<string, PluginDefinition>()
  for (const plugin of installed) {
    if (byId.has(plugin.id)) throw new PluginError('LL_ERR_PLUGIN_DUPLICATE_ID', `two plugins have the id "${plugin.id}"`, plugin.id)
    byId.set(plugin.id, plugin)
  }
  const wanted = [...new Set(enabled ?? installed.map((p) => p.id))]
  for (const id of wanted) {
    if (!byId.has(id)) throw new PluginError('LL_ERR_PLUGIN_NOT_FOUND', `plugin "${id}" is enabled but not installed (installed: ${[...byId.keys()].join(', ') || 'none'})`, id)
  }
  const selected = new Set(wanted)
  for (const id of wanted) {
    for (const dep of byId.get(id)!.dependsOn ?? []) {
      if (!selected.has(dep)) {
        const why = byId.has(dep) ? 'is installed but not enabled' : 'is not installed'
        throw new PluginError('LL_ERR_PLUGIN_MISSING_DEPENDENCY', `plugin "${id}" depends on "${dep}", which ${why}`, id)
      }
    }
  }

  const ordered: PluginDefinition[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (id: string, trail: string[]) => {
    if (state.get(id) === 'done') return
    if (state.get(id) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(id)), id]
      throw new PluginError('LL_ERR_PLUGIN_DEPENDENCY_CYCLE', `plugins depend on each other in a cycle: ${cycle.join(' -> ')}`, id)
    }
    state.set(id, 'visiting')
    for (const dep of byId.get(id)!.dependsOn ?? []) visit(dep, [...trail, id])
    state.set(id, 'done')
    ordered.push(byId.get(id)!)
  }
  for (const id of wanted) visit(id, [])
  return ordered
}
