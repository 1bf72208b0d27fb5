/** Cross-tenant matrix: catalog routes (stub: being written). */
import type { MatrixArea } from './types.ts'

export const catalogArea: MatrixArea = { routes: {} }
