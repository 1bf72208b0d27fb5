/**
 * Cross-tenant matrix: the catalog (services, meters, plans, providers, costs) and subscriptions,
 * pages and JSON. Catalog rows are shared downwards: a GET of a row owned by the parent answers
 * 200, a write to it 404, and a sibling's row is 404 either way. Costs and subscriptions are never
 * shared: each organisation gets a cost and a subscription whose text must not leak.
 */
import type { Kysely } from 'kysely'
import type { Database } from '../../../core/db/schema.ts'
import type { Tree } from '../fixture.ts'
import type { Case, MatrixArea, OrgKey, ParamContext, RouteSpec } from './types.ts'

const ORGS: readonly OrgKey[] = ['operator', 'alpha', 'alphaCustomer', 'alphaSub', 'alphaSubCustomer', 'beta', 'betaCustomer']
/** A cost amount unique to each organisation, as the API and the pages print it. */
const costOf = (org: OrgKey) => `${ORGS.indexOf(org) + 1}7.314159`
const contractOf = (org: OrgKey) => `Contract [${org}]`

let sharedPlanId = 0
const stable = new Map<string, number>()

/** GET of a shared row: the parent's is readable from below. */
const sharedRead = ({ target }: Case) => (target === 'parent' ? 200 : 404)

async function service(db: Kysely<Database>, orgId: number, n: number): Promise<number> {
  return (await db.insertInto('services').values({ org_id: orgId, code: `svc-${n}`, name: `Service ${n}`, category: 'other' }).returning('id').executeTakeFirstOrThrow()).id
}

async function cached(ctx: ParamContext, kind: string, make: () => Promise<number>): Promise<number> {
  if (ctx.fresh) return make()
  const key = `${kind}:${ctx.org}`
  const known = stable.get(key)
  if (known !== undefined) return known
  const id = await make()
  stable.set(key, id)
  return id
}

const params: MatrixArea['params'] = {
  service: (ctx) => cached(ctx, 'service', () => service(ctx.db, ctx.tree[ctx.org].id, ctx.sequence)),
  meter: (ctx) => cached(ctx, 'meter', async () => {
    const orgId = ctx.tree[ctx.org].id
    const serviceId = await service(ctx.db, orgId, ctx.sequence)
    return (await ctx.db.insertInto('meters').values({ org_id: orgId, service_id: serviceId, code: `mtr-${ctx.sequence}`, name: `Meter ${ctx.sequence}`, unit: 'u', aggregation: 'sum' })
      .returning('id').executeTakeFirstOrThrow()).id
  }),
  plan: (ctx) => cached(ctx, 'plan', async () => (await ctx.db.insertInto('plans').values({
    org_id: ctx.tree[ctx.org].id, code: `pln-${ctx.sequence}`, name: `Plan ${ctx.sequence}`, model: 'payg', currency: ctx.tree[ctx.org].currency,
  }).returning('id').executeTakeFirstOrThrow()).id),
  provider: (ctx) => cached(ctx, 'provider', async () => (await ctx.db.insertInto('providers').values({
    org_id: ctx.tree[ctx.org].id, name: `Provider ${ctx.sequence}`,
  }).returning('id').executeTakeFirstOrThrow()).id),
  subscription: (ctx) => cached(ctx, 'subscription', async () => (await ctx.db.insertInto('subscriptions').values({
    org_id: ctx.tree[ctx.org].id, plan_id: sharedPlanId, name: ctx.fresh ? `Fresh subscription ${ctx.sequence}` : contractOf(ctx.org), starts_on: '2025-01-01',
  }).returning('id').executeTakeFirstOrThrow()).id),
}

async function setup(db: Kysely<Database>, tree: Tree): Promise<void> {
  sharedPlanId = (await db.insertInto('plans').values({ org_id: tree.operator.id, code: 'matrix-shared', name: 'Matrix shared plan', model: 'payg', currency: tree.operator.currency })
    .returning('id').executeTakeFirstOrThrow()).id
  for (const org of ORGS) {
    const orgId = tree[org].id
    const serviceId = await service(db, orgId, 9000 + ORGS.indexOf(org))
    const meter = await db.insertInto('meters').values({ org_id: orgId, service_id: serviceId, code: `costed-${ORGS.indexOf(org)}`, name: 'Costed meter', unit: 'u', aggregation: 'sum' })
      .returning('id').executeTakeFirstOrThrow()
    await db.insertInto('catalog_costs').values({ org_id: orgId, meter_id: meter.id, currency: 'EUR', amount: costOf(org) }).execute()
  }
}

const CATALOG_READ = ['read', 'Catalog'] as const
const CATALOG_CREATE = ['create', 'Catalog'] as const
const CATALOG_UPDATE = ['update', 'Catalog'] as const
const CATALOG_DELETE = ['delete', 'Catalog'] as const
const SUB_READ = ['read', 'Subscription'] as const
const SUB_CREATE = ['create', 'Subscription'] as const
const SUB_UPDATE = ['update', 'Subscription'] as const
const SUB_DELETE = ['delete', 'Subscription'] as const

const routes: Record<string, RouteSpec> = {
  // pages: services and meters
  'GET /catalog': { needs: CATALOG_READ, ok: 200 },
  'GET /catalog/services/new': { needs: CATALOG_CREATE, ok: 200 },
  'POST /catalog/services': { needs: CATALOG_CREATE, body: { code: 'Bad Code' }, ok: 422 },
  'GET /catalog/services/:id/edit': { param: 'service', needs: CATALOG_UPDATE, ok: 200 },
  'POST /catalog/services/:id': { param: 'service', needs: CATALOG_UPDATE, body: { code: 'Bad Code' }, ok: 422 },
  'POST /catalog/services/:id/delete': { param: 'service', fresh: true, needs: CATALOG_DELETE, ok: 303 },
  'GET /catalog/meters/new': { needs: CATALOG_CREATE, ok: 200 },
  'POST /catalog/meters': { needs: CATALOG_CREATE, body: { code: 'Bad Code' }, ok: 422 },
  'GET /catalog/meters/:id/edit': { param: 'meter', needs: CATALOG_UPDATE, ok: 200 },
  'POST /catalog/meters/:id': { param: 'meter', needs: CATALOG_UPDATE, body: { code: 'Bad Code' }, ok: 422 },
  'POST /catalog/meters/:id/delete': { param: 'meter', fresh: true, needs: CATALOG_DELETE, ok: 303 },
  // pages: plans
  'GET /catalog/plans': { needs: CATALOG_READ, ok: 200 },
  'GET /catalog/plans/new': { needs: CATALOG_CREATE, ok: 200 },
  'POST /catalog/plans': { needs: CATALOG_CREATE, body: { code: 'Bad Code' }, ok: 422 },
  'GET /catalog/plans/:id': { param: 'plan', needs: CATALOG_READ, ok: 200, outside: sharedRead },
  'GET /catalog/plans/:id/edit': { param: 'plan', needs: CATALOG_UPDATE, ok: 200 },
  'POST /catalog/plans/:id': { param: 'plan', needs: CATALOG_UPDATE, body: { code: 'Bad Code' }, ok: 422 },
  'POST /catalog/plans/:id/prices': { param: 'plan', needs: CATALOG_UPDATE, body: { 'price.2147483000': '1' }, ok: 422 },
  'POST /catalog/plans/:id/delete': { param: 'plan', fresh: true, needs: CATALOG_DELETE, ok: 303 },
  // pages: providers and costs
  'GET /catalog/providers': { needs: CATALOG_READ, ok: 200 },
  'GET /catalog/providers/new': { needs: CATALOG_CREATE, ok: 200 },
  'POST /catalog/providers': { needs: CATALOG_CREATE, body: { name: '' }, ok: 422 },
  'GET /catalog/providers/:id/edit': { param: 'provider', needs: CATALOG_UPDATE, ok: 200 },
  'POST /catalog/providers/:id': { param: 'provider', needs: CATALOG_UPDATE, body: { cpuCapacity: '-1' }, ok: 422 },
  'POST /catalog/providers/:id/delete': { param: 'provider', fresh: true, needs: CATALOG_DELETE, ok: 303 },
  'GET /catalog/costs': { needs: CATALOG_READ, ok: 200 },
  'POST /catalog/costs': { needs: CATALOG_UPDATE, body: { 'meter.2147483000.amount': '1', 'meter.2147483000.currency': 'EUR' }, ok: 422 },
  // pages: subscriptions
  'GET /subscriptions': { needs: SUB_READ, ok: 200 },
  'GET /subscriptions/new': { needs: SUB_CREATE, ok: 200 },
  'POST /subscriptions': { needs: SUB_CREATE, body: { name: '' }, ok: 422 },
  'GET /subscriptions/:id': { param: 'subscription', needs: SUB_READ, ok: 200 },
  'GET /subscriptions/:id/edit': { param: 'subscription', needs: SUB_UPDATE, ok: 200 },
  'POST /subscriptions/:id': { param: 'subscription', needs: SUB_UPDATE, body: { startsOn: 'soon' }, ok: 422 },
  'POST /subscriptions/:id/delete': { param: 'subscription', fresh: true, needs: SUB_DELETE, ok: 303 },
  // JSON API: catalog
  'GET /api/v1/services': { needs: CATALOG_READ, ok: 200 },
  'POST /api/v1/services': { needs: CATALOG_CREATE, body: {}, ok: 422 },
  'PATCH /api/v1/services/:id': { param: 'service', needs: CATALOG_UPDATE, body: { code: 'Bad Code' }, ok: 422 },
  'GET /api/v1/meters': { needs: CATALOG_READ, ok: 200 },
  'POST /api/v1/meters': { needs: CATALOG_CREATE, body: {}, ok: 422 },
  'PATCH /api/v1/meters/:id': { param: 'meter', needs: CATALOG_UPDATE, body: { code: 'Bad Code' }, ok: 422 },
  'GET /api/v1/plans': { needs: CATALOG_READ, ok: 200 },
  'POST /api/v1/plans': { needs: CATALOG_CREATE, body: {}, ok: 422 },
  'GET /api/v1/plans/:id': { param: 'plan', needs: CATALOG_READ, ok: 200, outside: sharedRead },
  'PATCH /api/v1/plans/:id': { param: 'plan', needs: CATALOG_UPDATE, body: { code: 'Bad Code' }, ok: 422 },
  'PUT /api/v1/plans/:id/prices': { param: 'plan', needs: CATALOG_UPDATE, body: { prices: 'none' }, ok: 422 },
  'GET /api/v1/providers': { needs: CATALOG_READ, ok: 200 },
  'POST /api/v1/providers': { needs: CATALOG_CREATE, body: {}, ok: 422 },
  'PATCH /api/v1/providers/:id': { param: 'provider', needs: CATALOG_UPDATE, body: { cpuCapacity: '-1' }, ok: 422 },
  'GET /api/v1/costs': { needs: CATALOG_READ, ok: 200 },
  'PUT /api/v1/costs': { needs: CATALOG_UPDATE, body: { costs: 'none' }, ok: 422 },
  // JSON API: subscriptions
  'GET /api/v1/subscriptions': { needs: SUB_READ, ok: 200 },
  'POST /api/v1/subscriptions': { needs: SUB_CREATE, body: {}, ok: 422 },
  'GET /api/v1/subscriptions/:id': { param: 'subscription', needs: SUB_READ, ok: 200 },
  'PATCH /api/v1/subscriptions/:id': { param: 'subscription', needs: SUB_UPDATE, body: { startsOn: 'soon' }, ok: 422 },
  'DELETE /api/v1/subscriptions/:id': { param: 'subscription', fresh: true, needs: SUB_DELETE, ok: 200 },
}

export const catalogArea: MatrixArea = {
  routes,
  params,
  setup,
  secrets: (org) => [costOf(org), contractOf(org)],
}
