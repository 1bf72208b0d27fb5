/** The plugins that ship with Ledgerlite, by id. Third-party plugins are named in settings. */
import type { PluginDefinition } from '../core/plugins/define.ts'
import { auditPlugin } from './audit/index.tsx'
import { billingPlugin } from './billing/index.tsx'
import { catalogPlugin } from './catalog/index.tsx'
import { creditsPlugin } from './credits/index.tsx'
import { meteringPlugin } from './metering/index.tsx'
import { organisationsPlugin } from './organisations/index.tsx'
import { rolesPlugin } from './roles/index.tsx'
import { subscriptionsPlugin } from './subscriptions/index.tsx'
import { usersPlugin } from './users/index.tsx'
import { invoiceReportPlugin } from './invoice/index.tsx'
import { costReportPlugin } from './cost/index.tsx'
import { usageReportPlugin } from './usage/index.tsx'
import { clientReportPlugin } from './client/index.tsx'
import { resourceReportPlugin } from './resource/index.tsx'

export const builtInPlugins: readonly PluginDefinition[] = [
  organisationsPlugin, usersPlugin, rolesPlugin, auditPlugin,
  catalogPlugin, subscriptionsPlugin, meteringPlugin, billingPlugin, creditsPlugin,
  invoiceReportPlugin, usageReportPlugin, clientReportPlugin, resourceReportPlugin, costReportPlugin,
]
