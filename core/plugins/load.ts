/**
 * Turns the `PLUGINS` setting into plugin values: built-in ids as they are, anything else is a
 * module specifier (a package name or a path) whose export is a plugin made with definePlugin.
 */
import { pathToFileURL } from 'node:url'
import { resolve } from 'node:path'
import { isPluginDefinition, type PluginDefinition } from './define.ts'
import { PluginError } from './errors.ts'

export async function loadInstalledPlugins(builtIn: readonly PluginDefinition[], configured: readonly string[] | undefined, cwd = process.cwd()): Promise<{ installed: PluginDefinition[]; enabled: string[] | undefined }> {
  if (!configured) return { installed: [...builtIn], enabled: undefined }
  const installed = [...builtIn]
  const enabled: string[] = []
  const known = new Set(builtIn.map((p) => p.id))
  for (const entry of configured) {
    if (known.has(entry)) {
      enabled.push(entry)
      continue
    }
    const specifier = entry.startsWith('.') || entry.startsWith('/') ? pathToFileURL(resolve(cwd, entry)).href : entry
    let module: Record<string, unknown>
    try {
      module = await import(specifier)
    } catch (error) {
      if (error instanceof PluginError) throw error
      const hint = /^[a-z][a-z0-9-]*$/.test(entry) ? ` (built-in plugins: ${[...known].join(', ')})` : ''
      throw new PluginError('LL_ERR_PLUGIN_NOT_FOUND', `cannot load plugin "${entry}": ${(error as Error).message}${hint}`)
    }
    const plugins = Object.values(module).filter(isPluginDefinition)
    if (plugins.length === 0) throw new PluginError('LL_ERR_PLUGIN_INVALID', `module "${entry}" exports no plugin made with definePlugin`)
    for (const plugin of plugins) {
      installed.push(plugin)
      enabled.push(plugin.id)
    }
  }
  return { installed, enabled }
}
