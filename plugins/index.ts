/** The plugins that ship with Ledgerlite, by id. Third-party plugins are named in settings. */
import type { PluginDefinition } from '../core/plugins/define.ts'
import { organisationsPlugin } from './organisations/index.tsx'

export const builtInPlugins: readonly PluginDefinition[] = [organisationsPlugin]
