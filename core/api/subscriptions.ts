/**
 * JSON API for subscriptions, mounted at `/api/v1`. The rules live in core/billing/subscriptions.ts.
 * Documented in plugins/subscriptions/README.md.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { can } from '../access/ability.ts'
import {
  createSubscription, deleteSubscription, listSubscriptions, PERIOD, subscriptionInput, subscriptionPatch, subscriptionView, updateSubscription,
  type SubscriptionView,
} from '../billing/subscriptions.ts'
import { SUBSCRIPTION_STATUSES } from '../db/schema.ts'
import type { AppEnv } from '../http/env.ts'
import { notFound } from '../http/problem.ts'
import { idParam, jsonBody, parseInput } from './json.ts'

export const subscriptionJson = (s: SubscriptionView) => ({
  id: s.id, orgId: s.orgId, orgName: s.orgName, planId: s.planId, plan: s.planCode, planName: s.planName, currency: s.currency,
  providerId: s.providerId, providerName: s.providerName, name: s.name, startsOn: s.startsOn, endsOn: s.endsOn, status: s.status,
  allocations: s.allocations, createdAt: s.createdAt.toISOString(), updatedAt: s.updatedAt.toISOString(),
})

const id = (what: string) => z.string().regex(/^\d{1,9}$/, `Use ${what} id`).transform(Number)
const listQuery = z.object({
  org: id('an organisation').optional(),
  plan: id('a plan').optional(),
  status: z.enum(SUBSCRIPTION_STATUSES, { error: 'Use active, suspended or cancelled' }).optional(),
  period: z.string().regex(PERIOD, 'Use a month like 2025-01').optional(),
  expiringWithin: z.coerce.number({ error: 'Use a number of days' }).int('Use a whole number of days').min(0).max(3660, 'Use at most 3660 days').optional(),
  limit: z.coerce.number().int().min(1).max(500, 'Use at most 500').default(100),
  offset: z.coerce.number().int().min(0).default(0),
})

export function subscriptionApi(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()

  app.get('/subscriptions', can('read', 'Subscription'), async (c) => {
    const q = parseInput(listQuery, Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v.trim() !== '')))
    if (q.org !== undefined && !(await c.var.db.organisation(q.org))) throw notFound('organisation')
    const { subscriptions, total } = await listSubscriptions(c.var.db,
      { orgId: q.org, planId: q.plan, status: q.status, period: q.period, expiringWithinDays: q.expiringWithin },
      { limit: q.limit, offset: q.offset })
    return c.json({ subscriptions: subscriptions.map(subscriptionJson), total, limit: q.limit, offset: q.offset })
  })

  app.get('/subscriptions/:id', can('read', 'Subscription'), async (c) => {
    return c.json({ subscription: subscriptionJson(await subscriptionView(c.var.db, idParam(c, 'subscription'))) })
  })

  app.post('/subscriptions', can('create', 'Subscription'), async (c) => {
    const subscription = await createSubscription(c.var.db, parseInput(subscriptionInput, await jsonBody(c)))
    c.var.log.info('subscription created', { subscriptionId: subscription.id, orgId: subscription.orgId })
    return c.json({ subscription: subscriptionJson(subscription) }, 201)
  })

  app.patch('/subscriptions/:id', can('update', 'Subscription'), async (c) => {
    const subscriptionId = idParam(c, 'subscription')
    await subscriptionView(c.var.db, subscriptionId)
    const patch = parseInput(subscriptionPatch, await jsonBody(c))
    return c.json({ subscription: subscriptionJson(await updateSubscription(c.var.db, subscriptionId, patch)) })
  })

  app.delete('/subscriptions/:id', can('delete', 'Subscription'), async (c) => {
    const subscriptionId = idParam(c, 'subscription')
    await deleteSubscription(c.var.db, subscriptionId)
    c.var.log.info('subscription deleted', { subscriptionId })
    return c.json({ deleted: subscriptionId })
  })

  return app
}
