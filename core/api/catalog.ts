/**
 * JSON API for the catalog (services, meters, plans with prices, costs) and providers, mounted at
 * `/api/v1`. The rules live in core/billing/*; this file reads JSON in and writes JSON out.
 * Shared rows owned above the caller are listed without their owner. Documented in
 * plugins/catalog/README.md.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { can } from '../access/ability.ts'
import { createMeter, createService, listMeters, listServices, meterInput, meterPatch, meterView, serviceInput, servicePatch, serviceView, updateMeter, updateService, type MeterView, type ServiceView } from '../billing/catalog.ts'
import { costsInput, listCosts, replaceCosts, type CostView } from '../billing/costs.ts'
import { createPlan, listPlans, planInput, planPatch, planView, PLAN_STATUSES, pricesInput, setPrices, updatePlan, type PlanView } from '../billing/plans.ts'
import { createProvider, listProviders, providerInput, providerPatch, providerView, PROVIDER_STATUSES, updateProvider, type ProviderView } from '../billing/providers.ts'
import { PLAN_MODELS } from '../db/schema.ts'
import type { AppEnv } from '../http/env.ts'
import { notFound } from '../http/problem.ts'
import { idParam, jsonBody, parseInput } from './json.ts'

/** The owner only when it is in the caller's subtree; `inherited` says the row is read-only here. */
const owner = (v: { ownerOrgId: number | null; inherited: boolean }) => ({ ...(v.ownerOrgId !== null ? { ownerOrgId: v.ownerOrgId } : {}), inherited: v.inherited })

export const serviceJson = (s: ServiceView) => ({ id: s.id, code: s.code, name: s.name, category: s.category, description: s.description, ...owner(s) })
export const meterJson = (m: MeterView) => ({ id: m.id, serviceId: m.serviceId, code: m.code, name: m.name, unit: m.unit, aggregation: m.aggregation, ...owner(m) })
export const planJson = (p: PlanView) => ({
  id: p.id, code: p.code, name: p.name, model: p.model, currency: p.currency, fixedFeeMinor: p.fixedFeeMinor, status: p.status, description: p.description, ...owner(p),
  prices: p.prices.map((r) => ({ meterId: r.meterId, meter: r.meterCode, unit: r.unit, unitPrice: r.unitPrice, includedQuantity: r.includedQuantity })),
})
export const providerJson = (p: ProviderView) => ({
  id: p.id, name: p.name, region: p.region, cpuCapacity: p.cpuCapacity, memoryGb: p.memoryGb, storageGb: p.storageGb, status: p.status, ...owner(p),
})
export const costJson = (c: CostView) => ({
  id: c.id, ownerOrgId: c.ownerOrgId, ...(c.meterId !== null ? { meterId: c.meterId, meter: c.meterCode } : { planId: c.planId, plan: c.planCode }), amount: c.amount, currency: c.currency,
})

/** Shared rows owned above the caller are read-only: writing them is "not found", checked before the body. */
function writable(row: { inherited: boolean }, what: string): void {
  if (row.inherited) throw notFound(what)
}

/** Query parameters, an empty one meaning "no filter" as on the pages. */
const query = (raw: Record<string, string>) => Object.fromEntries(Object.entries(raw).filter(([, v]) => v.trim() !== ''))

const planQuery = z.object({
  status: z.enum(PLAN_STATUSES, { error: 'Use active or retired' }).optional(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'Use a three-letter ISO code').optional(),
  model: z.enum(PLAN_MODELS, { error: 'Use payg, reserved or bundle' }).optional(),
})
const meterQuery = z.object({ service: z.string().regex(/^\d{1,9}$/, 'Use a service id').transform(Number).optional() })
const providerQuery = z.object({ status: z.enum(PROVIDER_STATUSES, { error: 'Use active or retired' }).optional() })

export function catalogApi(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()

  app.get('/services', can('read', 'Catalog'), async (c) => c.json({ services: (await listServices(c.var.db)).map(serviceJson) }))
  app.post('/services', can('create', 'Catalog'), async (c) => {
    const service = await createService(c.var.db, parseInput(serviceInput, await jsonBody(c)))
    return c.json({ service: serviceJson(service) }, 201)
  })
  app.patch('/services/:id', can('update', 'Catalog'), async (c) => {
    const id = idParam(c, 'service')
    writable(await serviceView(c.var.db, id), 'service')
    const body = await jsonBody(c)
    return c.json({ service: serviceJson(await updateService(c.var.db, id, parseInput(servicePatch, body))) })
  })

  app.get('/meters', can('read', 'Catalog'), async (c) => {
    const { service } = parseInput(meterQuery, query(c.req.query()))
    return c.json({ meters: (await listMeters(c.var.db, { serviceId: service })).map(meterJson) })
  })
  app.post('/meters', can('create', 'Catalog'), async (c) => {
    const meter = await createMeter(c.var.db, parseInput(meterInput, await jsonBody(c)))
    return c.json({ meter: meterJson(meter) }, 201)
  })
  app.patch('/meters/:id', can('update', 'Catalog'), async (c) => {
    const id = idParam(c, 'meter')
    writable(await meterView(c.var.db, id), 'meter')
    const body = await jsonBody(c)
    return c.json({ meter: meterJson(await updateMeter(c.var.db, id, parseInput(meterPatch, body))) })
  })

  app.get('/plans', can('read', 'Catalog'), async (c) => {
    const filter = parseInput(planQuery, query(c.req.query()))
    return c.json({ plans: (await listPlans(c.var.db, filter)).map(planJson) })
  })
  app.get('/plans/:id', can('read', 'Catalog'), async (c) => c.json({ plan: planJson(await planView(c.var.db, idParam(c, 'plan'))) }))
  app.post('/plans', can('create', 'Catalog'), async (c) => {
    const plan = await createPlan(c.var.db, parseInput(planInput, await jsonBody(c)))
    return c.json({ plan: planJson(plan) }, 201)
  })
  app.patch('/plans/:id', can('update', 'Catalog'), async (c) => {
    const id = idParam(c, 'plan')
    writable(await planView(c.var.db, id), 'plan')
    const body = await jsonBody(c)
    return c.json({ plan: planJson(await updatePlan(c.var.db, id, parseInput(planPatch, body))) })
  })
  app.put('/plans/:id/prices', can('update', 'Catalog'), async (c) => {
    const id = idParam(c, 'plan')
    writable(await planView(c.var.db, id), 'plan')
    const { prices } = parseInput(pricesInput, await jsonBody(c))
    return c.json({ plan: planJson(await setPrices(c.var.db, id, prices)) })
  })

  app.get('/providers', can('read', 'Catalog'), async (c) => {
    const { status } = parseInput(providerQuery, query(c.req.query()))
    return c.json({ providers: (await listProviders(c.var.db, { status })).map(providerJson) })
  })
  app.post('/providers', can('create', 'Catalog'), async (c) => {
    const provider = await createProvider(c.var.db, parseInput(providerInput, await jsonBody(c)))
    return c.json({ provider: providerJson(provider) }, 201)
  })
  app.patch('/providers/:id', can('update', 'Catalog'), async (c) => {
    const id = idParam(c, 'provider')
    writable(await providerView(c.var.db, id), 'provider')
    const body = await jsonBody(c)
    return c.json({ provider: providerJson(await updateProvider(c.var.db, id, parseInput(providerPatch, body))) })
  })

  app.get('/costs', can('read', 'Catalog'), async (c) => c.json({ costs: (await listCosts(c.var.db)).map(costJson) }))
  app.put('/costs', can('update', 'Catalog'), async (c) => {
    const { costs } = parseInput(costsInput, await jsonBody(c))
    return c.json({ costs: (await replaceCosts(c.var.db, costs)).map(costJson) })
  })

  return app
}
