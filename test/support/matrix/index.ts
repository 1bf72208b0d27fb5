/** Every area's contribution to the cross-tenant matrix. Add a file beside this one and list it here. */
import { billingArea } from './billing.ts'
import { catalogArea } from './catalog.ts'
import { creditsArea } from './credits.ts'
import type { MatrixArea } from './types.ts'
import { usageArea } from './usage.ts'
import { reportPagesArea } from './report-pages.ts'
import { reportApiArea } from './report-api.ts'
import { reportRunsArea } from './report-runs.ts'
import { reportPluginsAArea } from './report-plugins-a.ts'
import { reportPluginsBArea } from './report-plugins-b.ts'

export const AREAS: readonly MatrixArea[] = [
  catalogArea, usageArea, billingArea, creditsArea,
  reportPagesArea, reportApiArea, reportRunsArea, reportPluginsAArea, reportPluginsBArea,
]
