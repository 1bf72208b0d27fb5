/** Cross-tenant matrix: routes of report-plugins-a. Being written. */
import type { MatrixArea } from './types.ts'

export const reportPluginsAArea: MatrixArea = { routes: {}, params: {} }
