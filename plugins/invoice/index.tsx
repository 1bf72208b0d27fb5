/**
 * Invoice report plugin: the `invoice.invoices` report (list and aging, served by the report
 * engine under /reports) and, under /invoice, a selection page with the report's rows and a form
 * to mark the chosen invoices paid, pending or void (POST /invoice/actions).
 */
import { can } from '../../core/access/ability.ts'
import { HttpProblem } from '../../core/http/problem.ts'
import { flash, page, redirect } from '../../core/http/render.tsx'
import { definePlugin } from '../../core/plugins/define.ts'
import { isCanonicalQuery, selectionReturnPath } from '../../core/reports/define.ts'
import { runReport } from '../../core/reports/engine.ts'
import { queryInput, type ParamsOf } from '../../core/reports/params.ts'
import { parseReportRequest } from '../../core/reports/request.ts'
import { applyInvoiceAction, INVOICE_ACTIONS, MAX_SELECTION, summarise, type InvoiceAction } from './actions.ts'
import { invoiceReport } from './invoice-report.ts'
import { SelectionPage, type SelectionRow } from './views.tsx'

export const invoiceReportPlugin = definePlugin({
  id: 'invoice',
  title: 'Invoice report',
  description: 'Invoices of the customers in scope with balances, aging and status changes.',
  permissions: { subjects: ['Invoice'], actions: ['read', 'export', 'update'] },
  reports: [invoiceReport],
  nav: [{ section: 'Billing', label: 'Invoice actions', href: '/invoice', requires: ['update', 'Invoice'], order: 15 }],
  routes: (app) => {
    app.get('/', can('read', 'Invoice'), async (c) => {
      const search = new URL(c.req.url).searchParams
      search.delete('tab')
      // The status select sends an empty value for "all statuses".
      if (search.get('status') === '') search.delete('status')
      const request = await parseReportRequest(invoiceReport, queryInput(search), {
        db: c.var.db, timeZone: c.var.settings?.reportTimeZone ?? 'UTC',
      })
      const result = await runReport(request)
      const params = request.context.params as ParamsOf<typeof invoiceReport.params>
      return page(c, {
        title: 'Invoice actions',
        body: <SelectionPage rows={result.rows as unknown as SelectionRow[]} total={result.total} page={result.page} pageSize={result.pageSize}
          query={request.query} period={params.period.preset} statuses={params.status}
          canUpdate={c.var.ability.can('update', 'Invoice')} csrf={c.var.csrfToken} />,
      })
    })

    app.post('/actions', can('update', 'Invoice'), async (c) => {
      const body = await c.req.parseBody({ all: true })
      const action = body.action
      if (typeof action !== 'string' || !(INVOICE_ACTIONS as readonly string[]).includes(action)) {
        throw new HttpProblem(400, `action: use one of ${INVOICE_ACTIONS.join(', ')}`, { action: 'Choose mark paid, mark pending or void' })
      }
      const raw = body.invoiceId === undefined ? [] : Array.isArray(body.invoiceId) ? body.invoiceId : [body.invoiceId]
      const ids = [...new Set(raw.map((v) => (typeof v === 'string' && /^\d{1,10}$/.test(v.trim()) ? Number(v.trim()) : NaN)))]
      if (ids.some((id) => !Number.isSafeInteger(id) || id <= 0 || id > 2_147_483_647)) {
        throw new HttpProblem(400, 'invoiceId: use invoice ids (whole numbers)', { invoiceId: 'Use invoice ids' })
      }
      if (ids.length > MAX_SELECTION) throw new HttpProblem(400, `invoiceId: choose at most ${MAX_SELECTION} invoices at a time`, { invoiceId: 'Too many invoices' })
      // Back to the report view the selection came from, or to this plugin's selection page.
      const back = selectionReturnPath(invoiceReport, body.back)
        ?? (typeof body.back === 'string' && isCanonicalQuery(body.back) && body.back ? `/invoice?${body.back}` : '/invoice')
      if (!ids.length) {
        await flash(c, 'info', 'Choose at least one invoice first.')
        return redirect(c, back)
      }
      const outcome = await applyInvoiceAction(c.var.db, action as InvoiceAction, ids)
      await flash(c, outcome.skipped.length && !outcome.changed.length ? 'error' : 'success', summarise(action as InvoiceAction, outcome))
      return redirect(c, back)
    })
  },
})
