/** Cross-tenant matrix: credits routes (stub: being written). */
import type { MatrixArea } from './types.ts'

export const creditsArea: MatrixArea = { routes: {} }
