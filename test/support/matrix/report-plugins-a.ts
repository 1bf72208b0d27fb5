/**
 * Cross-tenant matrix: routes of the invoice and cost report plugins. The reports themselves are
 * served by the engine (report-pages / report-api areas); these are the invoice selection page and
 * its bulk status action. The action's body names no invoice here: which invoices an actor may
 * change is proven in test/http/report-invoice-actions.test.ts (out-of-scope ids are skipped).
 */
import type { MatrixArea } from './types.ts'

export const reportPluginsAArea: MatrixArea = {
  routes: {
    'GET /invoice': { needs: ['read', 'Invoice'], ok: 200 },
    'POST /invoice/actions': { needs: ['update', 'Invoice'], body: { action: 'bogus' }, ok: 400 },
  },
  params: {},
}
