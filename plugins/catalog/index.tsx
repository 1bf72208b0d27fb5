/**
 * The catalog pages: services with their meters, plans with their prices, providers, and the
 * owner's costs. The rules live in core/billing (catalog.ts, plans.ts, providers.ts, costs.ts);
 * this file turns forms into calls and results into pages. Rows owned above the caller are shown
 * read-only; editing them is "not found", as for anything outside the caller's subtree.
 */
import type { Context, Hono } from 'hono'
import { can } from '../../core/access/ability.ts'
import {
  createMeter, createService, deleteMeter, deleteService, listMeters, listServices, meterInput, meterPatch, metersUsableBy, meterView,
  serviceInput, servicePatch, serviceView, updateMeter, updateService, type MeterView,
} from '../../core/billing/catalog.ts'
import { costInput, listCosts, replaceCosts, type CostInput } from '../../core/billing/costs.ts'
import { parseMoney, toMajor } from '../../core/billing/money.ts'
import { createPlan, deletePlan, listPlans, planInput, planPatch, planView, PLAN_STATUSES, priceInput, setPrices, updatePlan, type PlanStatus, type PriceInput } from '../../core/billing/plans.ts'
import { createProvider, deleteProvider, providerInput, providerPatch, providerView, listProviders, updateProvider } from '../../core/billing/providers.ts'
import type { AppEnv } from '../../core/http/env.ts'
import { HttpProblem, notFound } from '../../core/http/problem.ts'
import { flash, page, redirect } from '../../core/http/render.tsx'
import { definePlugin } from '../../core/plugins/define.ts'
import { formProblem, idValue, nonEmpty, parseForm, postedFields, type FormValues } from './form.ts'
import { PlanForm, PlanPage, PlansPage, ProviderForm, ProvidersPage } from './plan-views.tsx'
import { CostsPage, MeterForm, ServiceForm, ServicesPage, type Rights } from './views.tsx'

type C = Context<AppEnv>

const rights = (c: C): Rights => ({ create: c.var.ability.can('create', 'Catalog'), update: c.var.ability.can('update', 'Catalog'), delete: c.var.ability.can('delete', 'Catalog') })
const idOf = (c: C, what: string): number => {
  const id = idValue(c.req.param('id'))
  if (id === undefined) throw notFound(what)
  return id
}
/** A row the caller may change: in its subtree. A shared row from above is "not found" for writing. */
const writable = <T extends { inherited: boolean }>(row: T, what: string): T => {
  if (row.inherited) throw notFound(what)
  return row
}

/**
 * Runs a form's action; a 409/422 re-renders the form with the status and messages, anything
 * else propagates (404 page, 500).
 */
async function submit(c: C, action: () => Promise<Response>, showForm: (status: 409 | 422, errors: Record<string, string>, message: string) => Promise<Response>): Promise<Response> {
  try {
    return await action()
  } catch (error) {
    const problem = formProblem(error)
    if (problem) return showForm(problem.status, { ...problem.fields }, problem.message)
    throw error
  }
}

/** The plan form's fee is typed in major units of the plan's currency. */
function planValues(values: FormValues, currencyFallback: string): Record<string, string> {
  const out = nonEmpty(values, ['description'])
  delete out.fixedFee
  if (values.fixedFee === undefined) return out
  const fee = values.fixedFee.trim() || '0'
  const minor = parseMoney(fee, (values.currency ?? currencyFallback).trim().toUpperCase() || currencyFallback)
  if (minor === undefined || minor < 0n) throw new HttpProblem(422, 'Check the highlighted fields.', { fixedFee: 'Enter an amount like 120.00 (no more decimals than the currency has)' })
  out.fixedFeeMinor = minor.toString()
  return out
}

function serviceRoutes(app: Hono<AppEnv>): void {
  app.get('/', can('read', 'Catalog'), async (c) => {
    const [services, meters, costs] = await Promise.all([listServices(c.var.db), listMeters(c.var.db), listCosts(c.var.db, { ownerOrgId: c.var.org.id })])
    const byMeter = new Map(costs.filter((x) => x.meterId !== null).map((x) => [x.meterId!, x]))
    return page(c, { title: 'Catalog', body: <ServicesPage services={services} meters={meters} costs={byMeter} rights={rights(c)} csrf={c.var.csrfToken} /> })
  })

  const serviceForm = (c: C, mode: 'create' | 'edit', action: string, values: FormValues, status?: 409 | 422, errors: Record<string, string> = {}, message?: string) =>
    page(c, { title: mode === 'create' ? 'New service' : 'Edit service', ...(status ? { status } : {}),
      body: <ServiceForm csrf={c.var.csrfToken} mode={mode} action={action} values={values} errors={errors} message={message} cancelHref="/catalog" /> })

  app.get('/services/new', can('create', 'Catalog'), (c) => serviceForm(c, 'create', '/catalog/services', {}))
  app.post('/services', can('create', 'Catalog'), async (c) => {
    const values = await postedFields(c)
    return submit(c, async () => {
      const service = await createService(c.var.db, parseForm(serviceInput, nonEmpty(values, ['description'])))
      await flash(c, 'success', `Service ${service.name} was created.`)
      return redirect(c, '/catalog')
    }, (status, errors, message) => serviceForm(c, 'create', '/catalog/services', values, status, errors, message))
  })
  app.get('/services/:id/edit', can('update', 'Catalog'), async (c) => {
    const s = writable(await serviceView(c.var.db, idOf(c, 'service')), 'service')
    return serviceForm(c, 'edit', `/catalog/services/${s.id}`, { code: s.code, name: s.name, category: s.category, description: s.description })
  })
  app.post('/services/:id', can('update', 'Catalog'), async (c) => {
    const s = writable(await serviceView(c.var.db, idOf(c, 'service')), 'service')
    const values = await postedFields(c)
    return submit(c, async () => {
      await updateService(c.var.db, s.id, parseForm(servicePatch, nonEmpty(values, ['description'])))
      await flash(c, 'success', 'The service was saved.')
      return redirect(c, '/catalog')
    }, (status, errors, message) => serviceForm(c, 'edit', `/catalog/services/${s.id}`, values, status, errors, message))
  })
  app.post('/services/:id/delete', can('delete', 'Catalog'), async (c) => {
    await deleteService(c.var.db, idOf(c, 'service'))
    await flash(c, 'success', 'The service was deleted.')
    return redirect(c, '/catalog')
  })

  const meterForm = async (c: C, mode: 'create' | 'edit', action: string, values: FormValues, hasUsage: boolean, status?: 409 | 422, errors: Record<string, string> = {}, message?: string) =>
    page(c, { title: mode === 'create' ? 'New meter' : 'Edit meter', ...(status ? { status } : {}),
      body: <MeterForm csrf={c.var.csrfToken} mode={mode} action={action} values={values} errors={errors} message={message} cancelHref="/catalog"
        services={await listServices(c.var.db)} hasUsage={hasUsage} /> })

  app.get('/meters/new', can('create', 'Catalog'), (c) => meterForm(c, 'create', '/catalog/meters', { serviceId: c.req.query('service') ?? '' }, false))
  app.post('/meters', can('create', 'Catalog'), async (c) => {
    const values = await postedFields(c)
    return submit(c, async () => {
      const meter = await createMeter(c.var.db, parseForm(meterInput, nonEmpty(values)))
      await flash(c, 'success', `Meter ${meter.code} was created.`)
      return redirect(c, '/catalog')
    }, (status, errors, message) => meterForm(c, 'create', '/catalog/meters', values, false, status, errors, message))
  })
  app.get('/meters/:id/edit', can('update', 'Catalog'), async (c) => {
    const m = writable(await meterView(c.var.db, idOf(c, 'meter')), 'meter')
    const used = await c.var.db.selectFrom('usage_monthly').select('usage_monthly.meter_id').where('usage_monthly.meter_id', '=', m.id).limit(1).execute()
    return meterForm(c, 'edit', `/catalog/meters/${m.id}`, { serviceId: String(m.serviceId), code: m.code, name: m.name, unit: m.unit, aggregation: m.aggregation }, used.length > 0)
  })
  app.post('/meters/:id', can('update', 'Catalog'), async (c) => {
    const m = writable(await meterView(c.var.db, idOf(c, 'meter')), 'meter')
    const values = await postedFields(c)
    return submit(c, async () => {
      await updateMeter(c.var.db, m.id, parseForm(meterPatch, nonEmpty(values)))
      await flash(c, 'success', 'The meter was saved.')
      return redirect(c, '/catalog')
    }, (status, errors, message) => meterForm(c, 'edit', `/catalog/meters/${m.id}`, values, false, status, errors, message))
  })
  app.post('/meters/:id/delete', can('delete', 'Catalog'), async (c) => {
    await deleteMeter(c.var.db, idOf(c, 'meter'))
    await flash(c, 'success', 'The meter was deleted.')
    return redirect(c, '/catalog')
  })
}

function planRoutes(app: Hono<AppEnv>): void {
  app.get('/plans', can('read', 'Catalog'), async (c) => {
    const status = (PLAN_STATUSES as readonly string[]).includes(c.req.query('status') ?? '') ? c.req.query('status') as PlanStatus : undefined
    return page(c, { title: 'Plans', body: <PlansPage plans={await listPlans(c.var.db, { status })} status={status ?? ''} canCreate={c.var.ability.can('create', 'Catalog')} /> })
  })

  const planForm = (c: C, mode: 'create' | 'edit', action: string, values: FormValues, cancelHref: string, status?: 409 | 422, errors: Record<string, string> = {}, message?: string) =>
    page(c, { title: mode === 'create' ? 'New plan' : 'Edit plan', ...(status ? { status } : {}),
      body: <PlanForm csrf={c.var.csrfToken} mode={mode} action={action} values={values} errors={errors} message={message} cancelHref={cancelHref} /> })

  app.get('/plans/new', can('create', 'Catalog'), (c) => planForm(c, 'create', '/catalog/plans', { currency: c.var.org.currency }, '/catalog/plans'))
  app.post('/plans', can('create', 'Catalog'), async (c) => {
    const values = await postedFields(c)
    return submit(c, async () => {
      const plan = await createPlan(c.var.db, parseForm(planInput, planValues(values, c.var.org.currency)))
      await flash(c, 'success', `Plan ${plan.name} was created. Set its prices below.`)
      return redirect(c, `/catalog/plans/${plan.id}`)
    }, (status, errors, message) => planForm(c, 'create', '/catalog/plans', values, '/catalog/plans', status, errors, message))
  })

  const planPage = async (c: C, id: number, state: { status?: 409 | 422; values?: FormValues; errors?: Record<string, string>; message?: string } = {}) => {
    const plan = await planView(c.var.db, id)
    const owner = plan.ownerOrgId !== null ? await c.var.db.organisation(plan.ownerOrgId) : undefined
    // A shared plan is priced from its owner's meters: those above the caller, which the caller sees too.
    const meters: MeterView[] = owner ? await metersUsableBy(c.var.db, owner.path)
      : plan.prices.map((p) => ({ id: p.meterId, code: p.meterCode, name: p.meterName, unit: p.unit, serviceId: 0, aggregation: 'sum', ownerOrgId: null, inherited: true }))
    const subscriptions = plan.inherited ? 0 : (await c.var.db.selectFrom('subscriptions').select('subscriptions.id').where('subscriptions.plan_id', '=', id).execute()).length
    return page(c, { title: plan.name, ...(state.status ? { status: state.status } : {}),
      body: <PlanPage plan={plan} meters={meters} rights={rights(c)} csrf={c.var.csrfToken} subscriptions={subscriptions} values={state.values} errors={state.errors} message={state.message} /> })
  }

  app.get('/plans/:id', can('read', 'Catalog'), (c) => planPage(c, idOf(c, 'plan')))
  app.get('/plans/:id/edit', can('update', 'Catalog'), async (c) => {
    const p = writable(await planView(c.var.db, idOf(c, 'plan')), 'plan')
    const fee = toMajor(p.fixedFeeMinor, p.currency)
    return planForm(c, 'edit', `/catalog/plans/${p.id}`, { code: p.code, name: p.name, model: p.model, currency: p.currency, fixedFee: fee, status: p.status, description: p.description }, `/catalog/plans/${p.id}`)
  })
  app.post('/plans/:id', can('update', 'Catalog'), async (c) => {
    const p = writable(await planView(c.var.db, idOf(c, 'plan')), 'plan')
    const values = await postedFields(c)
    return submit(c, async () => {
      await updatePlan(c.var.db, p.id, parseForm(planPatch, planValues(values, p.currency)))
      await flash(c, 'success', 'The plan was saved.')
      return redirect(c, `/catalog/plans/${p.id}`)
    }, (status, errors, message) => planForm(c, 'edit', `/catalog/plans/${p.id}`, values, `/catalog/plans/${p.id}`, status, errors, message))
  })
  app.post('/plans/:id/prices', can('update', 'Catalog'), async (c) => {
    const p = writable(await planView(c.var.db, idOf(c, 'plan')), 'plan')
    const values = await postedFields(c)
    return submit(c, async () => {
      const prices: PriceInput[] = []
      for (const [key, raw] of Object.entries(values)) {
        const meterId = /^price\.(\d+)$/.exec(key)?.[1]
        if (!meterId || raw.trim() === '') continue
        const included = (values[`included.${meterId}`] ?? '').trim() || '0'
        try {
          prices.push(parseForm(priceInput, { meterId, unitPrice: raw, includedQuantity: included }))
        } catch (error) {
          const problem = formProblem(error)
          throw problem ? new HttpProblem(422, 'Check the highlighted prices.', { [`meter.${meterId}`]: Object.values(problem.fields ?? {})[0] ?? problem.message }) : error
        }
      }
      await setPrices(c.var.db, p.id, prices)
      await flash(c, 'success', 'The prices were saved.')
      return redirect(c, `/catalog/plans/${p.id}`)
    }, (status, errors, message) => planPage(c, p.id, { status, values, errors, message }))
  })
  app.post('/plans/:id/delete', can('delete', 'Catalog'), async (c) => {
    await deletePlan(c.var.db, idOf(c, 'plan'))
    await flash(c, 'success', 'The plan was deleted.')
    return redirect(c, '/catalog/plans')
  })
}

function providerRoutes(app: Hono<AppEnv>): void {
  app.get('/providers', can('read', 'Catalog'), async (c) =>
    page(c, { title: 'Providers', body: <ProvidersPage providers={await listProviders(c.var.db)} rights={rights(c)} csrf={c.var.csrfToken} /> }))

  const providerForm = (c: C, mode: 'create' | 'edit', action: string, values: FormValues, status?: 409 | 422, errors: Record<string, string> = {}, message?: string) =>
    page(c, { title: mode === 'create' ? 'New provider' : 'Edit provider', ...(status ? { status } : {}),
      body: <ProviderForm csrf={c.var.csrfToken} mode={mode} action={action} values={values} errors={errors} message={message} /> })

  app.get('/providers/new', can('create', 'Catalog'), (c) => providerForm(c, 'create', '/catalog/providers', {}))
  app.post('/providers', can('create', 'Catalog'), async (c) => {
    const values = await postedFields(c)
    return submit(c, async () => {
      const provider = await createProvider(c.var.db, parseForm(providerInput, nonEmpty(values)))
      await flash(c, 'success', `Provider ${provider.name} was created.`)
      return redirect(c, '/catalog/providers')
    }, (status, errors, message) => providerForm(c, 'create', '/catalog/providers', values, status, errors, message))
  })
  app.get('/providers/:id/edit', can('update', 'Catalog'), async (c) => {
    const p = writable(await providerView(c.var.db, idOf(c, 'provider')), 'provider')
    return providerForm(c, 'edit', `/catalog/providers/${p.id}`, { name: p.name, region: p.region, cpuCapacity: p.cpuCapacity, memoryGb: p.memoryGb, storageGb: p.storageGb, status: p.status })
  })
  app.post('/providers/:id', can('update', 'Catalog'), async (c) => {
    const p = writable(await providerView(c.var.db, idOf(c, 'provider')), 'provider')
    const values = await postedFields(c)
    return submit(c, async () => {
      await updateProvider(c.var.db, p.id, parseForm(providerPatch, nonEmpty(values, ['region'])))
      await flash(c, 'success', 'The provider was saved.')
      return redirect(c, '/catalog/providers')
    }, (status, errors, message) => providerForm(c, 'edit', `/catalog/providers/${p.id}`, values, status, errors, message))
  })
  app.post('/providers/:id/delete', can('delete', 'Catalog'), async (c) => {
    await deleteProvider(c.var.db, idOf(c, 'provider'))
    await flash(c, 'success', 'The provider was deleted.')
    return redirect(c, '/catalog/providers')
  })
}

function costRoutes(app: Hono<AppEnv>): void {
  const costsPage = async (c: C, state: { status?: 422 | 409; values?: FormValues; errors?: Record<string, string>; message?: string } = {}) => {
    const [meters, plans, costs] = await Promise.all([metersUsableBy(c.var.db, c.var.org.path), listPlans(c.var.db), listCosts(c.var.db, { ownerOrgId: c.var.org.id })])
    const usablePlans = plans.filter((p) => p.inherited || p.ownerOrgId === c.var.org.id)
    return page(c, { title: 'Catalog costs', ...(state.status ? { status: state.status } : {}),
      body: <CostsPage meters={meters} plans={usablePlans} costs={costs} ownerOrgId={c.var.org.id} canEdit={c.var.ability.can('update', 'Catalog')} csrf={c.var.csrfToken}
        values={state.values} errors={state.errors} message={state.message} /> })
  }
  app.get('/costs', can('read', 'Catalog'), (c) => costsPage(c))
  app.post('/costs', can('update', 'Catalog'), async (c) => {
    const values = await postedFields(c)
    return submit(c, async () => {
      const costs: CostInput[] = []
      for (const [key, raw] of Object.entries(values)) {
        const match = /^(meter|plan)\.(\d+)\.amount$/.exec(key)
        if (!match || raw.trim() === '') continue
        const [, kind, id] = match
        try {
          costs.push(parseForm(costInput, { [`${kind}Id`]: id, amount: raw, currency: values[`${kind}.${id}.currency`] ?? '' }))
        } catch (error) {
          const problem = formProblem(error)
          throw problem ? new HttpProblem(422, 'Check the highlighted costs.', { [`${kind}.${id}`]: Object.values(problem.fields ?? {})[0] ?? problem.message }) : error
        }
      }
      await replaceCosts(c.var.db, costs)
      await flash(c, 'success', 'The costs were saved.')
      return redirect(c, '/catalog/costs')
    }, (status, errors, message) => costsPage(c, { status, values, errors, message }))
  })
}

export const catalogPlugin = definePlugin({
  id: 'catalog',
  title: 'Catalog',
  description: 'Services, meters, plans with their prices, costs, and infrastructure providers.',
  nav: [
    { section: 'Catalog', label: 'Services & meters', href: '/catalog', requires: ['read', 'Catalog'], order: 10 },
    { section: 'Catalog', label: 'Plans', href: '/catalog/plans', requires: ['read', 'Catalog'], order: 20 },
    { section: 'Catalog', label: 'Providers', href: '/catalog/providers', requires: ['read', 'Catalog'], order: 30 },
  ],
  routes: (app) => {
    serviceRoutes(app)
    planRoutes(app)
    providerRoutes(app)
    costRoutes(app)
  },
})
