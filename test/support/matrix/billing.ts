/** Cross-tenant matrix: billing routes (stub: being written). */
import type { MatrixArea } from './types.ts'

export const billingArea: MatrixArea = { routes: {} }
