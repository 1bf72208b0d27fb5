/** Cross-tenant matrix: routes of report-plugins-b. Being written. */
import type { MatrixArea } from './types.ts'

export const reportPluginsBArea: MatrixArea = { routes: {}, params: {} }
