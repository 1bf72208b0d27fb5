/** Cross-tenant matrix: routes of report-pages. Being written. */
import type { MatrixArea } from './types.ts'

export const reportPagesArea: MatrixArea = { routes: {}, params: {} }
