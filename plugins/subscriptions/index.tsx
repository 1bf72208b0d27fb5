/**
 * Subscriptions (contracts) of the organisations in the caller's subtree: a filtered, paged list,
 * one subscription with its plan's prices and allocations, create, edit and delete. The rules
 * live in core/billing/subscriptions.ts.
 */
import type { Context } from 'hono'
import { can } from '../../core/access/ability.ts'
import { listPlans, planView } from '../../core/billing/plans.ts'
import { listProviders } from '../../core/billing/providers.ts'
import {
  createSubscription, deleteSubscription, listSubscriptions, subscriptionInput, subscriptionPatch, subscriptionView, updateSubscription,
} from '../../core/billing/subscriptions.ts'
import { SUBSCRIPTION_STATUSES, type SubscriptionStatus } from '../../core/db/schema.ts'
import type { AppEnv } from '../../core/http/env.ts'
import { notFound } from '../../core/http/problem.ts'
import { flash, page, redirect } from '../../core/http/render.tsx'
import { definePlugin } from '../../core/plugins/define.ts'
import { formProblem, idValue, nonEmpty, parseForm, postedFields, type FormValues } from '../catalog/form.ts'
import { DetailPage, ListPage, SubscriptionForm, type ListFilter, type OrgChoice } from './views.tsx'

type C = Context<AppEnv>
const PAGE_SIZE = 50
const ALLOCATIONS = ['vcpu', 'memoryGb', 'storageGb', 'bundles', 'licenceSeats'] as const

async function orgChoices(c: C): Promise<OrgChoice[]> {
  const rows = await c.var.db.organisations().select(['organisations.id', 'organisations.name', 'organisations.path', 'organisations.currency']).orderBy('organisations.path').execute()
  const base = c.var.org.path.split('/').length
  return rows.map((r) => ({ id: r.id, name: r.name, currency: r.currency, depth: r.path.split('/').length - base }))
}

function idOf(c: C): number {
  const id = idValue(c.req.param('id'))
  if (id === undefined) throw notFound('subscription')
  return id
}

/** Form fields as the input schemas want them: allocations nested, empty optional fields left out. */
function toInput(values: FormValues, mode: 'create' | 'edit'): Record<string, unknown> {
  const out: Record<string, unknown> = nonEmpty(values)
  const allocations: Record<string, string> = {}
  for (const key of ALLOCATIONS) {
    delete out[key]
    if ((values[key] ?? '').trim() !== '') allocations[key] = values[key]!
  }
  out.allocations = allocations
  // An emptied end date or provider means "none", not "unchanged".
  out.endsOn = (values.endsOn ?? '').trim() || null
  out.providerId = (values.providerId ?? '').trim() || null
  if (mode === 'edit') delete out.orgId
  return out
}

async function form(c: C, mode: 'create' | 'edit', state: { id?: number; values: FormValues; status?: 409 | 422; errors?: Record<string, string>; message?: string | undefined; orgName?: string }) {
  const [orgs, plans, providers] = await Promise.all([orgChoices(c), listPlans(c.var.db), listProviders(c.var.db)])
  const action = mode === 'create' ? '/subscriptions' : `/subscriptions/${state.id}`
  return page(c, {
    title: mode === 'create' ? 'New subscription' : 'Edit subscription', ...(state.status ? { status: state.status } : {}),
    body: <SubscriptionForm csrf={c.var.csrfToken} mode={mode} action={action} values={state.values} errors={state.errors ?? {}} message={state.message}
      cancelHref={mode === 'create' ? '/subscriptions' : `/subscriptions/${state.id}`} orgs={orgs} plans={plans} providers={providers} {...(state.orgName ? { orgName: state.orgName } : {})} />,
  })
}

export const subscriptionsPlugin = definePlugin({
  id: 'subscriptions',
  title: 'Subscriptions',
  description: 'Contracts of organisations on plans: dates, status, provider and allocations.',
  nav: [{ section: 'Billing', label: 'Subscriptions', href: '/subscriptions', requires: ['read', 'Subscription'], order: 10 }],
  routes: (app) => {
    app.get('/', can('read', 'Subscription'), async (c) => {
      const [orgs, plans] = await Promise.all([orgChoices(c), listPlans(c.var.db)])
      const org = idValue(c.req.query('org'))
      const plan = idValue(c.req.query('plan'))
      const status = c.req.query('status') ?? ''
      const expiring = /^\d{1,4}$/.test(c.req.query('expiring') ?? '') ? Math.min(Number(c.req.query('expiring')), 3660) : undefined
      const pageParam = Number(c.req.query('page') ?? '1')
      const filter: ListFilter = {
        // Choices outside what the caller may see are no filter at all.
        org: orgs.some((o) => o.id === org) ? org : undefined,
        plan: plans.some((p) => p.id === plan) ? plan : undefined,
        status: (SUBSCRIPTION_STATUSES as readonly string[]).includes(status) ? status : '',
        expiring,
        page: Number.isSafeInteger(pageParam) && pageParam >= 1 && pageParam <= 100_000 ? pageParam : 1,
      }
      const { subscriptions, total } = await listSubscriptions(c.var.db,
        { orgId: filter.org, planId: filter.plan, status: (filter.status || undefined) as SubscriptionStatus | undefined, expiringWithinDays: filter.expiring },
        { limit: PAGE_SIZE, offset: (filter.page - 1) * PAGE_SIZE })
      return page(c, { title: 'Subscriptions', body: <ListPage subscriptions={subscriptions} total={total} pageSize={PAGE_SIZE} filter={filter} orgs={orgs} plans={plans} canCreate={c.var.ability.can('create', 'Subscription')} /> })
    })

    app.get('/new', can('create', 'Subscription'), (c) =>
      form(c, 'create', { values: { orgId: c.req.query('org') ?? '', startsOn: new Date().toISOString().slice(0, 10) } }))

    app.post('/', can('create', 'Subscription'), async (c) => {
      const values = await postedFields(c)
      try {
        const created = await createSubscription(c.var.db, parseForm(subscriptionInput, toInput(values, 'create')))
        await flash(c, 'success', `Subscription ${created.name} was created.`)
        return redirect(c, `/subscriptions/${created.id}`)
      } catch (error) {
        const problem = formProblem(error)
        if (problem) return form(c, 'create', { values, status: problem.status, errors: { ...problem.fields }, message: problem.message })
        throw error
      }
    })

    app.get('/:id', can('read', 'Subscription'), async (c) => {
      const subscription = await subscriptionView(c.var.db, idOf(c))
      return page(c, {
        title: subscription.name,
        body: <DetailPage subscription={subscription} plan={await planView(c.var.db, subscription.planId)} csrf={c.var.csrfToken}
          canUpdate={c.var.ability.can('update', 'Subscription')} canDelete={c.var.ability.can('delete', 'Subscription')} />,
      })
    })

    app.get('/:id/edit', can('update', 'Subscription'), async (c) => {
      const s = await subscriptionView(c.var.db, idOf(c))
      const a = s.allocations
      return form(c, 'edit', {
        id: s.id, orgName: s.orgName,
        values: { planId: String(s.planId), providerId: s.providerId === null ? '' : String(s.providerId), name: s.name, startsOn: s.startsOn, endsOn: s.endsOn ?? '', status: s.status,
          vcpu: a.vcpu, memoryGb: a.memoryGb, storageGb: a.storageGb, bundles: String(a.bundles), licenceSeats: String(a.licenceSeats) },
      })
    })

    app.post('/:id', can('update', 'Subscription'), async (c) => {
      const s = await subscriptionView(c.var.db, idOf(c))
      const values = await postedFields(c)
      try {
        await updateSubscription(c.var.db, s.id, parseForm(subscriptionPatch, toInput(values, 'edit')))
        await flash(c, 'success', 'The subscription was saved.')
        return redirect(c, `/subscriptions/${s.id}`)
      } catch (error) {
        const problem = formProblem(error)
        if (problem) return form(c, 'edit', { id: s.id, orgName: s.orgName, values, status: problem.status, errors: { ...problem.fields }, message: problem.message })
        throw error
      }
    })

    app.post('/:id/delete', can('delete', 'Subscription'), async (c) => {
      await deleteSubscription(c.var.db, idOf(c))
      await flash(c, 'success', 'The subscription was deleted.')
      return redirect(c, '/subscriptions')
    })
  },
})
