/**
 * JSON API for invoices, payments and billing runs, mounted at `/api/v1`. The domain functions in
 * core/billing decide everything; this file reads JSON in and writes JSON out. Documented in
 * plugins/billing/README.md.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { can } from '../access/ability.ts'
import { startBillingRun } from '../billing/billing-runs.ts'
import { balanceOf, changeStatus, recordPayment, STATUS_LABELS } from '../billing/invoice-actions.ts'
import { billingRun, invoiceDetail, listBillingRuns, listInvoices, type InvoiceListRow } from '../billing/invoice-queries.ts'
import { isPeriod } from '../billing/invoices.ts'
import { parseMoney } from '../billing/money.ts'
import { INVOICE_STATUSES, type BillingRunRow, type InvoiceLineRow, type PaymentRow } from '../db/schema.ts'
import type { AppEnv } from '../http/env.ts'
import { HttpProblem, notFound } from '../http/problem.ts'
import { idParam, jsonBody, parseInput } from './json.ts'

export function invoiceJson(invoice: InvoiceListRow) {
  return {
    id: invoice.id, number: invoice.number, orgId: invoice.org_id, organisation: invoice.org_name, period: invoice.period.slice(0, 7),
    currency: invoice.currency, status: invoice.status, statusLabel: STATUS_LABELS[invoice.status], issuedOn: invoice.issued_on, dueOn: invoice.due_on,
    subtotalMinor: invoice.subtotal_minor, discountMinor: invoice.discount_minor, creditMinor: invoice.credit_minor, totalMinor: invoice.total_minor,
    paidMinor: invoice.paid_minor, balanceMinor: balanceOf(invoice).toString(),
    paidAt: invoice.paid_at?.toISOString() ?? null, voidedAt: invoice.voided_at?.toISOString() ?? null, createdAt: invoice.created_at.toISOString(),
  }
}

export function lineJson(line: InvoiceLineRow) {
  return {
    position: line.position, kind: line.kind, description: line.description, subscriptionId: line.subscription_id, meterId: line.meter_id,
    discountId: line.discount_id, quantity: line.quantity, includedQuantity: line.included_quantity, unit: line.unit, unitPrice: line.unit_price,
    amountMinor: line.amount_minor,
  }
}

export function paymentJson(payment: PaymentRow) {
  return { id: payment.id, amountMinor: payment.amount_minor, currency: payment.currency, paidOn: payment.paid_on, method: payment.method, reference: payment.reference, createdAt: payment.created_at.toISOString() }
}

export function runJson(run: BillingRunRow) {
  return {
    id: run.id, orgId: run.org_id, period: run.period.slice(0, 7), status: run.status, invoicesCreated: run.invoices_created, invoicesUpdated: run.invoices_updated,
    error: run.error, createdAt: run.created_at.toISOString(), startedAt: run.started_at?.toISOString() ?? null, finishedAt: run.finished_at?.toISOString() ?? null,
  }
}

const month = z.string().refine(isPeriod, 'Use a month as YYYY-MM')
const day = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'Use a date as YYYY-MM-DD')

const listQuery = z.object({
  org: z.string().regex(/^\d{1,10}$/, 'Use an organisation id').transform(Number).optional(),
  period: month.optional(),
  from: month.optional(),
  to: month.optional(),
  status: z.enum(INVOICE_STATUSES, { error: `Use one of ${INVOICE_STATUSES.join(', ')}` }).optional(),
  limit: z.coerce.number().int().min(1).max(500, 'Use at most 500').default(50),
  offset: z.coerce.number().int().min(0).default(0),
})

const pagingQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500, 'Use at most 500').default(50),
  offset: z.coerce.number().int().min(0).default(0),
})

const paymentInput = z.object({
  amountMinor: z.union([z.number().int('Use whole minor units'), z.string().regex(/^\d{1,18}$/, 'Use whole minor units, e.g. "12345"')]).optional(),
  amount: z.string().regex(/^\d{1,15}(\.\d{1,3})?$/, 'Use a decimal amount in major units, e.g. "123.45"').optional(),
  paidOn: day.optional(),
  reference: z.string().trim().max(200, 'Use at most 200 characters').optional(),
}).strict()

const statusInput = z.object({
  status: z.enum(['issued', 'paid', 'void'], { error: 'Use issued, paid or void' }),
  paidOn: day.optional(),
  reference: z.string().trim().max(200, 'Use at most 200 characters').optional(),
}).strict()

const runInput = z.object({ period: z.string({ error: 'Give the period as YYYY-MM' }) }).strict()

function query(c: { req: { query(): Record<string, string> } }): Record<string, string> {
  // An empty parameter (`?status=`) means no filter, as it does on the page.
  return Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v.trim() !== ''))
}

/** The amount of a payment body in minor units of `currency`: `amountMinor` or `amount`, exactly one. */
export function paymentAmount(input: { amountMinor?: number | string | undefined; amount?: string | undefined }, currency: string): bigint {
  if ((input.amountMinor === undefined) === (input.amount === undefined)) {
    throw new HttpProblem(422, 'Some fields are not valid.', { amount: 'Give either amountMinor (minor units) or amount (a major-unit decimal string)' })
  }
  if (input.amountMinor !== undefined) return BigInt(input.amountMinor)
  const parsed = parseMoney(input.amount!, currency)
  if (parsed === undefined) throw new HttpProblem(422, 'Some fields are not valid.', { amount: `Too many decimals for ${currency}` })
  return parsed
}

export function billingApi(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()

  app.get('/invoices', can('read', 'Invoice'), async (c) => {
    const q = parseInput(listQuery, query(c))
    if (q.org !== undefined && !(await c.var.db.organisation(q.org))) throw notFound('organisation')
    const { invoices, total } = await listInvoices(c.var.db, { orgId: q.org, from: q.period ?? q.from, to: q.period ?? q.to, status: q.status }, { limit: q.limit, offset: q.offset })
    return c.json({ invoices: invoices.map(invoiceJson), total, limit: q.limit, offset: q.offset })
  })

  app.get('/invoices/:id', can('read', 'Invoice'), async (c) => {
    const { invoice, lines, payments } = await invoiceDetail(c.var.db, idParam(c, 'invoice'))
    return c.json({ invoice: { ...invoiceJson(invoice), lines: lines.map(lineJson), payments: payments.map(paymentJson) } })
  })

  app.post('/invoices/:id/payments', can('update', 'Invoice'), async (c) => {
    const id = idParam(c, 'invoice')
    // Found first: an invoice outside the caller's subtree is a 404 whatever the body says.
    const { invoice: current } = await invoiceDetail(c.var.db, id)
    const input = parseInput(paymentInput, await jsonBody(c))
    const { payment } = await recordPayment(c.var.db, id, { amountMinor: paymentAmount(input, current.currency), paidOn: input.paidOn, reference: input.reference })
    c.var.log.info('payment recorded', { invoiceId: id, paymentId: payment.id })
    const detail = await invoiceDetail(c.var.db, id)
    return c.json({ payment: paymentJson(payment), invoice: invoiceJson(detail.invoice) }, 201)
  })

  app.post('/invoices/:id/status', can('update', 'Invoice'), async (c) => {
    const id = idParam(c, 'invoice')
    await invoiceDetail(c.var.db, id)
    const input = parseInput(statusInput, await jsonBody(c))
    await changeStatus(c.var.db, id, input.status, { paidOn: input.paidOn, reference: input.reference })
    c.var.log.info('invoice status changed', { invoiceId: id, status: input.status })
    const { invoice, lines, payments } = await invoiceDetail(c.var.db, id)
    return c.json({ invoice: { ...invoiceJson(invoice), lines: lines.map(lineJson), payments: payments.map(paymentJson) } })
  })

  app.get('/billing-runs', can('read', 'Invoice'), async (c) => {
    const q = parseInput(pagingQuery, query(c))
    const { runs, total } = await listBillingRuns(c.var.db, q)
    return c.json({ runs: runs.map(runJson), total, limit: q.limit, offset: q.offset })
  })

  app.get('/billing-runs/:id', can('read', 'Invoice'), async (c) => {
    return c.json({ run: runJson(await billingRun(c.var.db, idParam(c, 'billing run'))) })
  })

  app.post('/billing-runs', can('create', 'Invoice'), async (c) => {
    const input = parseInput(runInput, await jsonBody(c))
    const { run, joined } = await startBillingRun(c.var.db, { period: input.period, userId: c.var.user?.id ?? null })
    c.var.log.info(joined ? 'billing run joined' : 'billing run queued', { runId: run.id, period: input.period })
    return c.json({ run: runJson(run), joined }, joined ? 200 : 202)
  })

  return app
}

