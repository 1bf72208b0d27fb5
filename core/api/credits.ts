/**
 * JSON API for the credit ledger and discounts (same scope and rules as the pages):
 * `GET /api/v1/credits`, `GET /api/v1/credits/balances`, `POST /api/v1/credits`,
 * `GET /api/v1/discounts`, `GET /api/v1/discounts/{id}`, `POST /api/v1/discounts`,
 * `PATCH /api/v1/discounts/{id}`, `POST /api/v1/discounts/{id}/cancel`. Money is a string of
 * minor units plus its currency.
 */
import type { Context } from 'hono'
import { Hono } from 'hono'
import { z } from 'zod'
import { can } from '../access/ability.ts'
import {
  creditBalances, creditInput, grantCredit, isDay, listCreditEntries, type BalanceRow, type CreditEntryView,
} from '../billing/credits.ts'
import {
  cancelDiscount, createDiscount, discountInput, discountPatch, DISCOUNT_STATUSES, getDiscount, listDiscounts, updateDiscount, type DiscountView,
} from '../billing/discounts.ts'
import { CREDIT_KINDS, DISCOUNT_TARGETS, type CreditEntryRow } from '../db/schema.ts'
import type { AppEnv } from '../http/env.ts'
import { HttpProblem, notFound } from '../http/problem.ts'
import { idParam, jsonBody, parseInput } from './json.ts'

export function creditJson(e: CreditEntryView | (CreditEntryRow & { org_name?: string })) {
  return {
    id: e.id,
    orgId: e.org_id,
    ...(e.org_name !== undefined ? { orgName: e.org_name } : {}),
    kind: e.kind,
    amountMinor: e.amount_minor,
    currency: e.currency,
    occurredAt: e.occurred_at.toISOString(),
    expiresOn: e.expires_on,
    expiredAt: e.expired_at ? e.expired_at.toISOString() : null,
    invoiceId: e.invoice_id,
    grantedByOrgId: e.granted_by_org_id,
    description: e.description,
  }
}

export function balanceJson(b: BalanceRow) {
  return {
    orgId: b.org_id, orgName: b.org_name, currency: b.currency, balanceMinor: b.balance_minor,
    ...(b.accrued_minor !== null ? { accruedMinor: b.accrued_minor } : {}),
  }
}

export function discountJson(d: DiscountView) {
  return {
    id: d.id,
    orgId: d.org_id,
    orgName: d.org_name,
    grantedByOrgId: d.granted_by_org_id,
    grantedByName: d.granted_by_name,
    description: d.description,
    target: d.target,
    targetId: d.service_id ?? d.plan_id ?? d.meter_id,
    targetName: d.target_name,
    kind: d.kind,
    percent: d.percent,
    amountMinor: d.amount_minor,
    currency: d.currency,
    validFrom: d.valid_from,
    validTo: d.valid_to,
    status: d.status,
    cancelledAt: d.cancelled_at ? d.cancelled_at.toISOString() : null,
    createdAt: d.created_at.toISOString(),
  }
}

const day = z.string().refine(isDay, 'Use a date like 2025-01-31').optional()
const orgFilter = z.string().regex(/^\d{1,10}$/, 'Use an organisation id').optional()

const ledgerQuery = z.object({
  org: orgFilter,
  kind: z.enum(CREDIT_KINDS, { error: `Use one of ${CREDIT_KINDS.join(', ')}` }).optional(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'Use a three-letter currency code').optional(),
  from: day,
  to: day,
  before: z.string().regex(/^\d{1,18}$/, 'Use the nextBefore value of the previous page').optional(),
  limit: z.coerce.number().int().min(1).max(500, 'Use at most 500').default(100),
})

const discountQuery = z.object({
  org: orgFilter,
  status: z.enum(DISCOUNT_STATUSES, { error: `Use one of ${DISCOUNT_STATUSES.join(', ')}` }).optional(),
  target: z.enum(DISCOUNT_TARGETS, { error: `Use one of ${DISCOUNT_TARGETS.join(', ')}` }).optional(),
  from: day,
  to: day,
  limit: z.coerce.number().int().min(1).max(500, 'Use at most 500').default(100),
  offset: z.coerce.number().int().min(0).default(0),
})

/** An `org` filter names an organisation in scope, or the answer is 404 (as for any other lookup). */
async function orgInScope(c: Context<AppEnv>, org: string | undefined): Promise<number | undefined> {
  if (org === undefined) return undefined
  if (!(await c.var.db.organisation(Number(org)))) throw notFound('organisation')
  return Number(org)
}

function checkPeriod(from: string | undefined, to: string | undefined): void {
  if (from && to && to < from) throw new HttpProblem(422, 'Some fields are not valid.', { to: 'Use a date on or after "from"' })
}

export function creditApi(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()

  app.get('/credits', can('read', 'Credit'), async (c) => {
    const q = parseInput(ledgerQuery, c.req.query())
    checkPeriod(q.from, q.to)
    const { entries, nextBefore } = await listCreditEntries(c.var.db, {
      orgId: await orgInScope(c, q.org), kind: q.kind, currency: q.currency, from: q.from, to: q.to, before: q.before, limit: q.limit,
    })
    return c.json({ entries: entries.map(creditJson), nextBefore })
  })

  app.get('/credits/balances', can('read', 'Credit'), async (c) => {
    const q = parseInput(z.object({ org: orgFilter, from: day, to: day }), c.req.query())
    checkPeriod(q.from, q.to)
    const balances = await creditBalances(c.var.db, { orgId: await orgInScope(c, q.org), from: q.from, to: q.to })
    return c.json({ balances: balances.map(balanceJson), ...(q.from || q.to ? { period: { from: q.from ?? null, to: q.to ?? null } } : {}) })
  })

  app.post('/credits', can('create', 'Credit'), async (c) => {
    const input = parseInput(creditInput, await jsonBody(c))
    const entry = await grantCredit(c.var.db, input)
    return c.json({ entry: creditJson(entry) }, 201)
  })

  app.get('/discounts', can('read', 'Discount'), async (c) => {
    const q = parseInput(discountQuery, c.req.query())
    checkPeriod(q.from, q.to)
    const { discounts, total } = await listDiscounts(c.var.db, {
      orgId: await orgInScope(c, q.org), status: q.status, target: q.target, from: q.from, to: q.to, limit: q.limit, offset: q.offset,
    })
    return c.json({ discounts: discounts.map(discountJson), total })
  })

  app.get('/discounts/:id', can('read', 'Discount'), async (c) => {
    return c.json({ discount: discountJson(await getDiscount(c.var.db, idParam(c, 'discount'))) })
  })

  app.post('/discounts', can('create', 'Discount'), async (c) => {
    const input = parseInput(discountInput, await jsonBody(c))
    return c.json({ discount: discountJson(await createDiscount(c.var.db, input)) }, 201)
  })

  app.patch('/discounts/:id', can('update', 'Discount'), async (c) => {
    const id = idParam(c, 'discount')
    await getDiscount(c.var.db, id) // 404 before any complaint about the body
    const patch = parseInput(discountPatch, await jsonBody(c))
    return c.json({ discount: discountJson(await updateDiscount(c.var.db, id, patch)) })
  })

  app.post('/discounts/:id/cancel', can('update', 'Discount'), async (c) => {
    const id = idParam(c, 'discount')
    return c.json({ discount: discountJson(await cancelDiscount(c.var.db, id)) })
  })

  return app
}
