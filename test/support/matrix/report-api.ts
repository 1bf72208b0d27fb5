/**
 * Cross-tenant matrix: the reports JSON API (core/api/reports.ts). `/reports/:ref` is both the rows
 * (`organisations.accounts`) and the streamed download (`organisations.accounts.csv`); the matrix
 * requests the rows for the built-in accounts report, and checks that no actor's answer names an
 * organisation outside its subtree. The download's permissions and scope are tested in
 * test/db/report-export.test.ts and test/http/report-pages.test.ts.
 */
import type { MatrixArea } from './types.ts'

export const reportApiArea: MatrixArea = {
  routes: {
    'GET /api/v1/reports': { ok: 200 },
    'GET /api/v1/reports/:ref': { path: '/api/v1/reports/organisations.accounts', needs: ['read', 'Organisation'], ok: 200, query: 'pageSize=500' },
  },
  params: {},
}
