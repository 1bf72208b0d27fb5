/**
 * Billing pages: invoices (list, detail, printable view, payments and status changes) and billing
 * runs. The rules live in core/billing; these handlers read forms and render. Everything goes
 * through the caller's scoped handle: a customer sees its own invoices, a reseller its subtree's.
 */
import { readFile } from 'node:fs/promises'
import type { Context } from 'hono'
import { can } from '../../core/access/ability.ts'
import { startBillingRun } from '../../core/billing/billing-runs.ts'
import { changeStatus, recordPayment } from '../../core/billing/invoice-actions.ts'
import { invoiceDetail, listBillingRuns, listInvoices } from '../../core/billing/invoice-queries.ts'
import { isPeriod, monthOf, todayUtc } from '../../core/billing/invoices.ts'
import { parseMoney } from '../../core/billing/money.ts'
import { INVOICE_STATUSES, type InvoiceStatus, type OrganisationRow } from '../../core/db/schema.ts'
import type { AppEnv } from '../../core/http/env.ts'
import { HttpProblem, notFound } from '../../core/http/problem.ts'
import { flash, page, redirect } from '../../core/http/render.tsx'
import { definePlugin } from '../../core/plugins/define.ts'
import { Document } from '../../views/AppShell.tsx'
import { InvoiceListPage, InvoicePage, PrintableInvoice, RunsPage, type InvoiceListFilter, type PaymentFormValues } from './views.tsx'

const PAGE_SIZE = 50
let stylesheet: Promise<string> | undefined

function invoiceId(c: Context<AppEnv>): number {
  const raw = c.req.param('id') ?? ''
  const id = /^\d{1,10}$/.test(raw) ? Number(raw) : 0
  if (id <= 0 || id > 2_147_483_647) throw notFound('invoice')
  return id
}

async function formBody(c: Context<AppEnv>): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(await c.req.parseBody())) if (typeof v === 'string' && k !== '_csrf') out[k] = v.trim()
  return out
}

async function showInvoice(c: Context<AppEnv>, id: number, extra: { status?: 409 | 422; values?: PaymentFormValues; errors?: Record<string, string>; message?: string } = {}) {
  const detail = await invoiceDetail(c.var.db, id)
  return page(c, {
    title: `Invoice ${detail.invoice.number}`,
    status: extra.status ?? 200,
    body: <InvoicePage detail={detail} canUpdate={c.var.ability.can('update', 'Invoice')} csrf={c.var.csrfToken} values={extra.values} errors={extra.errors} message={extra.message} />,
  })
}

async function showRuns(c: Context<AppEnv>, extra: { status?: 422 | 409; period?: string; errors?: Record<string, string>; message?: string } = {}) {
  const { runs, total } = await listBillingRuns(c.var.db, { limit: 50, offset: 0 })
  return page(c, {
    title: 'Billing runs',
    status: extra.status ?? 200,
    body: <RunsPage runs={runs} total={total} canCreate={c.var.ability.can('create', 'Invoice')} csrf={c.var.csrfToken}
      period={extra.period ?? monthOf(todayUtc())} errors={extra.errors ?? {}} message={extra.message} />,
  })
}

export const billingPlugin = definePlugin({
  id: 'billing',
  title: 'Billing',
  description: 'Invoices, payments and billing runs.',
  nav: [
    { section: 'Billing', label: 'Invoices', href: '/billing/invoices', requires: ['read', 'Invoice'], order: 10 },
    { section: 'Billing', label: 'Billing runs', href: '/billing/runs', requires: ['read', 'Invoice'], order: 20 },
  ],
  routes: (app) => {
    app.get('/billing.css', async (c) => {
      stylesheet ??= readFile(new URL('./billing.css', import.meta.url), 'utf8')
      c.header('Cache-Control', 'private, max-age=3600')
      return c.body(await stylesheet, 200, { 'Content-Type': 'text/css; charset=utf-8' })
    })

    app.get('/invoices', can('read', 'Invoice'), async (c) => {
      const status = c.req.query('status') ?? ''
      const period = c.req.query('period') ?? ''
      const org = c.req.query('org') ?? ''
      const pageNumber = Math.min(Math.max(1, Number.parseInt(c.req.query('page') ?? '1', 10) || 1), 100000)
      const filter: InvoiceListFilter = {
        status: (INVOICE_STATUSES as readonly string[]).includes(status) ? status : '',
        period: isPeriod(period) ? period : '',
        org: /^\d{1,10}$/.test(org) ? org : '',
        page: pageNumber,
      }
      const orgId = filter.org ? (await c.var.db.organisation(Number(filter.org)))?.id : undefined
      if (filter.org && orgId === undefined) throw notFound('organisation')
      const [{ invoices, total }, orgs] = await Promise.all([
        listInvoices(c.var.db, { orgId, from: filter.period || undefined, to: filter.period || undefined, status: (filter.status || undefined) as InvoiceStatus | undefined },
          { limit: PAGE_SIZE, offset: (pageNumber - 1) * PAGE_SIZE }),
        c.var.db.organisations().selectAll().orderBy('organisations.path').limit(1000).execute(),
      ])
      const message = period && !filter.period ? 'The period filter takes a month as YYYY-MM; it was ignored.' : undefined
      return page(c, { title: 'Invoices', body: <InvoiceListPage invoices={invoices} total={total} pageSize={PAGE_SIZE} filter={filter} orgs={orgs as OrganisationRow[]} message={message} /> })
    })

    app.get('/invoices/:id', can('read', 'Invoice'), async (c) => {
      const id = invoiceId(c)
      if (c.req.query('print') !== '1') return showInvoice(c, id)
      const detail = await invoiceDetail(c.var.db, id)
      c.header('Cache-Control', 'no-store')
      return c.html(<Document title={`Invoice ${detail.invoice.number}`} csrfToken={c.var.csrfToken}><PrintableInvoice detail={detail} /></Document>)
    })

    app.post('/invoices/:id/payments', can('update', 'Invoice'), async (c) => {
      const id = invoiceId(c)
      const values = await formBody(c)
      const { invoice } = await invoiceDetail(c.var.db, id)
      const errors: Record<string, string> = {}
      const amount = parseMoney(values.amount ?? '', invoice.currency)
      if (amount === undefined || amount <= 0n) errors.amount = `Enter an amount in ${invoice.currency}, e.g. 123.45`
      if (values.paidOn && !/^\d{4}-\d{2}-\d{2}$/.test(values.paidOn)) errors.paidOn = 'Use a date as YYYY-MM-DD'
      if ((values.reference ?? '').length > 200) errors.reference = 'Use at most 200 characters'
      if (Object.keys(errors).length) return showInvoice(c, id, { status: 422, values, errors, message: 'Check the highlighted fields.' })
      try {
        await recordPayment(c.var.db, id, { amountMinor: amount!, paidOn: values.paidOn || undefined, reference: values.reference || undefined })
      } catch (error) {
        if (error instanceof HttpProblem && (error.status === 409 || error.status === 422)) return showInvoice(c, id, { status: error.status, values, errors: { ...error.fields }, message: error.message })
        throw error
      }
      await flash(c, 'success', 'The payment was recorded.')
      return redirect(c, `/billing/invoices/${id}`)
    })

    app.post('/invoices/:id/status', can('update', 'Invoice'), async (c) => {
      const id = invoiceId(c)
      const { status } = await formBody(c)
      if (status !== 'issued' && status !== 'paid' && status !== 'void') {
        await invoiceDetail(c.var.db, id)
        return showInvoice(c, id, { status: 422, message: 'Choose issue, mark paid or void.' })
      }
      try {
        await changeStatus(c.var.db, id, status)
      } catch (error) {
        if (error instanceof HttpProblem && (error.status === 409 || error.status === 422)) return showInvoice(c, id, { status: error.status, message: error.message })
        throw error
      }
      await flash(c, 'success', status === 'issued' ? 'The invoice was issued.' : status === 'paid' ? 'The invoice was marked paid.' : 'The invoice was voided.')
      return redirect(c, `/billing/invoices/${id}`)
    })

    app.get('/runs', can('read', 'Invoice'), (c) => showRuns(c))

    app.post('/runs', can('create', 'Invoice'), async (c) => {
      const { period = '' } = await formBody(c)
      try {
        const { run, joined } = await startBillingRun(c.var.db, { period, userId: c.var.user?.id ?? null })
        await flash(c, 'success', joined ? `A billing run for ${period} is already under way (run ${run.id}).` : `Billing run ${run.id} for ${period} was started.`)
      } catch (error) {
        if (error instanceof HttpProblem && (error.status === 409 || error.status === 422)) return showRuns(c, { status: error.status, period, errors: { ...error.fields }, message: error.message })
        throw error
      }
      return redirect(c, '/billing/runs')
    })
  },
})
