/** The plugins that ship with Ledgerlite, by id. Third-party plugins are named in settings. */
import type { PluginDefinition } from '../core/plugins/define.ts'
import { auditPlugin } from './audit/index.tsx'
import { organisationsPlugin } from './organisations/index.tsx'
import { rolesPlugin } from './roles/index.tsx'
import { usersPlugin } from './users/index.tsx'

export const builtInPlugins: readonly PluginDefinition[] = [organisationsPlugin, usersPlugin, rolesPlugin, auditPlugin]
