/**
 * Cross-tenant matrix: usage routes. Setup gives every organisation a subscription and one usage
 * event whose idempotency key names the organisation; no actor may see another subtree's key.
 */
import type { Kysely } from 'kysely'
import type { Database } from '../../../core/db/schema.ts'
import type { Tree } from '../fixture.ts'
import type { MatrixArea, OrgKey } from './types.ts'

const usageKey = (org: OrgKey) => `matrix-usage[${org}]`

async function setup(db: Kysely<Database>, tree: Tree): Promise<void> {
  // A catalog of its own (codes no other area uses), so this area does not depend on another's setup.
  const service = await db.insertInto('services').values({ org_id: tree.operator.id, code: 'matrix-usage', name: 'Matrix usage', category: 'other' }).returning('id').executeTakeFirstOrThrow()
  const meter = await db.insertInto('meters').values({ org_id: tree.operator.id, service_id: service.id, code: 'matrix-usage', name: 'Matrix usage', unit: 'unit', aggregation: 'sum' }).returning('id').executeTakeFirstOrThrow()
  const plan = await db.insertInto('plans').values({ org_id: tree.operator.id, code: 'matrix-usage', name: 'Matrix usage', model: 'payg', currency: 'EUR' }).returning('id').executeTakeFirstOrThrow()
  await db.insertInto('plan_prices').values({ org_id: tree.operator.id, plan_id: plan.id, meter_id: meter.id, unit_price: '0.01' }).execute()
  for (const key of Object.keys(tree) as OrgKey[]) {
    const org = tree[key]
    const sub = await db.insertInto('subscriptions').values({ org_id: org.id, plan_id: plan.id, name: `Usage sub [${key}]`, starts_on: '2020-01-01' }).returning('id').executeTakeFirstOrThrow()
    await db.insertInto('usage_events').values({
      org_id: org.id, subscription_id: sub.id, meter_id: meter.id, quantity: '1', occurred_at: new Date(), idempotency_key: usageKey(key), payload_hash: 'x'.repeat(64),
    }).execute()
  }
}

export const usageArea: MatrixArea = {
  routes: {
    'POST /api/v1/usage-events': { needs: ['create', 'UsageEvent'], body: {}, ok: 400 },
    'GET /api/v1/usage-events': { needs: ['read', 'UsageEvent'], ok: 200 },
    'GET /metering': { needs: ['read', 'UsageEvent'], ok: 200 },
    // The CSV backfill is the operator's: a reseller holding the permission still gets 403.
    'GET /metering/import': { needs: ['create', 'UsageEvent'], ok: ({ actor }) => (actor === 'operator' ? 200 : 403) },
    'POST /metering/import': { needs: ['create', 'UsageEvent'], body: {}, ok: ({ actor }) => (actor === 'operator' ? 422 : 403) },
  },
  setup,
  secrets: (org) => [usageKey(org), `Usage sub [${org}]`],
}
