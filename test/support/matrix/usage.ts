/** Cross-tenant matrix: usage routes (stub: being written). */
import type { MatrixArea } from './types.ts'

export const usageArea: MatrixArea = { routes: {} }
