/** Cross-tenant matrix: invoices, payments and billing runs (pages and JSON API). */
import type { Kysely } from 'kysely'
import type { Database } from '../../../core/db/schema.ts'
import type { MatrixArea, OrgKey, ParamContext } from './types.ts'

const stable = new Map<string, number>()

/** An issued invoice of the target organisation, with one line naming it. */
async function makeInvoice({ db, tree, org, fresh, sequence }: ParamContext): Promise<number> {
  const key = `invoice:${org}`
  if (!fresh && stable.has(key)) return stable.get(key)!
  const period = `${2000 + Math.floor(sequence / 12)}-${String((sequence % 12) + 1).padStart(2, '0')}-01`
  const invoice = await db.insertInto('invoices').values({
    org_id: tree[org].id, number: `MTX-${org}-${sequence}`, period, currency: 'EUR', status: 'issued', issued_on: '2026-01-05', due_on: '2026-02-04',
    subtotal_minor: 1000, total_minor: 1000,
  }).returning('id').executeTakeFirstOrThrow()
  await db.insertInto('invoice_lines').values({ org_id: tree[org].id, invoice_id: invoice.id, position: 1, kind: 'fixed', description: `Line for ${org} only`, amount_minor: 1000 }).execute()
  if (!fresh) stable.set(key, invoice.id)
  return invoice.id
}

async function makeRun({ db, tree, org }: ParamContext): Promise<number> {
  const key = `run:${org}`
  if (stable.has(key)) return stable.get(key)!
  const run = await (db as Kysely<Database>).insertInto('billing_runs').values({ org_id: tree[org].id, period: '2025-01-01', status: 'done' }).returning('id').executeTakeFirstOrThrow()
  stable.set(key, run.id)
  return run.id
}

export const billingArea: MatrixArea = {
  routes: {
    'GET /billing/billing.css': { ok: 200 },
    'GET /billing/invoices': { needs: ['read', 'Invoice'], ok: 200 },
    'GET /billing/invoices/:id': { param: 'invoice', needs: ['read', 'Invoice'], ok: 200 },
    'POST /billing/invoices/:id/payments': { param: 'invoice', needs: ['update', 'Invoice'], body: { amount: '' }, ok: 422 },
    'POST /billing/invoices/:id/status': { param: 'invoice', needs: ['update', 'Invoice'], body: { status: 'bogus' }, ok: 422 },
    'GET /billing/runs': { needs: ['read', 'Invoice'], ok: 200 },
    'POST /billing/runs': { needs: ['create', 'Invoice'], body: { period: 'soon' }, ok: 422 },
    'GET /api/v1/invoices': { needs: ['read', 'Invoice'], ok: 200 },
    'GET /api/v1/invoices/:id': { param: 'invoice', needs: ['read', 'Invoice'], ok: 200 },
    'POST /api/v1/invoices/:id/payments': { param: 'invoice', needs: ['update', 'Invoice'], body: {}, ok: 422 },
    'POST /api/v1/invoices/:id/status': { param: 'invoice', needs: ['update', 'Invoice'], body: {}, ok: 422 },
    'GET /api/v1/billing-runs': { needs: ['read', 'Invoice'], ok: 200 },
    'GET /api/v1/billing-runs/:id': { param: 'billingRun', needs: ['read', 'Invoice'], ok: 200 },
    'POST /api/v1/billing-runs': { needs: ['create', 'Invoice'], body: {}, ok: 422 },
  },
  params: { invoice: makeInvoice, billingRun: makeRun },
  secrets: (org: OrgKey) => [`MTX-${org}-`, `Line for ${org} only`],
}
