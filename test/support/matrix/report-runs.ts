/** Cross-tenant matrix: routes of report-runs. Being written. */
import type { MatrixArea } from './types.ts'

export const reportRunsArea: MatrixArea = { routes: {}, params: {} }
