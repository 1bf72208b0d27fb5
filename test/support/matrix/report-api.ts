/** Cross-tenant matrix: routes of report-api. Being written. */
import type { MatrixArea } from './types.ts'

export const reportApiArea: MatrixArea = { routes: {}, params: {} }
