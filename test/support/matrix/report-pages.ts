/**
 * Cross-tenant matrix: the report pages (core/reports/routes.tsx). A report id is not an
 * organisation's entity, so the `:id` routes are requested at the built-in accounts report
 * (`path`): every actor gets its own subtree's rows and never another's names (the matrix checks
 * the body). test/http/report-pages.test.ts proves the same for the chart, the look-up and the
 * export. The look-up needs read on a report with an organisations filter, which depends on the
 * reports installed, hence 200 or 403.
 */
import type { MatrixArea } from './types.ts'

export const reportPagesArea: MatrixArea = {
  routes: {
    'GET /reports': { ok: 200 },
    'GET /reports/organisations': { ok: [200, 403], query: 'org=e' },
    'GET /reports/open': { needs: ['read', 'Organisation'], ok: 303, query: 'report=organisations.accounts' },
    'GET /reports/:id': { path: '/reports/organisations.accounts', needs: ['read', 'Organisation'], ok: 200 },
    'GET /reports/:id/download': { path: '/reports/organisations.accounts/download', needs: ['export', 'Organisation'], ok: 303 },
    'POST /reports/:id/download': { path: '/reports/organisations.accounts/download', needs: ['export', 'Organisation'], ok: 303, body: { format: 'csv' } },
  },
  params: {},
}
