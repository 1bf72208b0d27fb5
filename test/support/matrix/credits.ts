/**
 * Cross-tenant matrix: the credit ledger and discounts (pages under /credits, JSON under
 * /api/v1/credits and /api/v1/discounts). Routes that change a discount refuse the caller's own
 * organisation (403): only an organisation above an account manages its discounts.
 */
import type { Kysely } from 'kysely'
import type { Database } from '../../../core/db/schema.ts'
import type { Tree } from '../fixture.ts'
import type { Case, MatrixArea, OrgKey } from './types.ts'

const secretCredit = (org: OrgKey) => `[matrix-credit:${org}]`
const secretDiscount = (org: OrgKey) => `[matrix-discount:${org}]`

async function insertDiscount(db: Kysely<Database>, tree: Tree, org: OrgKey, description: string): Promise<number> {
  const account = tree[org]
  return (await db.insertInto('discounts').values({
    org_id: account.id, granted_by_org_id: account.parent_id ?? account.id, description, target: 'all', kind: 'percent', percent: '5',
    valid_from: '2020-01-01',
  }).returning('id').executeTakeFirstOrThrow()).id
}

const stable = new Map<OrgKey, number>()

/** Changing a discount: refused on the caller's own organisation, done on one below it. */
const changeOk = (done: number) => ({ target }: Case) => (target === 'own' ? 403 : done)

export const creditsArea: MatrixArea = {
  routes: {
    'GET /api/v1/credits': { needs: ['read', 'Credit'], ok: 200 },
    'GET /api/v1/credits/balances': { needs: ['read', 'Credit'], ok: 200, query: 'from=2020-01-01&to=2099-12-31' },
    'POST /api/v1/credits': { needs: ['create', 'Credit'], body: {}, ok: 422 },
    'GET /api/v1/discounts': { needs: ['read', 'Discount'], ok: 200 },
    'GET /api/v1/discounts/:id': { param: 'discount', needs: ['read', 'Discount'], ok: 200 },
    'POST /api/v1/discounts': { needs: ['create', 'Discount'], body: {}, ok: 422 },
    'PATCH /api/v1/discounts/:id': { param: 'discount', fresh: true, needs: ['update', 'Discount'], body: { description: 'Changed by the matrix' }, ok: changeOk(200) },
    'POST /api/v1/discounts/:id/cancel': { param: 'discount', fresh: true, needs: ['update', 'Discount'], ok: changeOk(200) },
    'GET /credits': { needs: ['read', 'Credit'], ok: 200 },
    'GET /credits/new': { needs: ['create', 'Credit'], ok: 200 },
    'POST /credits': { needs: ['create', 'Credit'], body: { orgId: '' }, ok: 422 },
    'GET /credits/discounts': { needs: ['read', 'Discount'], ok: 200 },
    'GET /credits/discounts/new': { needs: ['create', 'Discount'], ok: 200 },
    'POST /credits/discounts': { needs: ['create', 'Discount'], body: { orgId: '' }, ok: 422 },
    'GET /credits/discounts/:id': { param: 'discount', needs: ['read', 'Discount'], ok: 200 },
    'POST /credits/discounts/:id': { param: 'discount', fresh: true, needs: ['update', 'Discount'], body: { description: 'Changed by the matrix' }, ok: changeOk(303) },
    'POST /credits/discounts/:id/cancel': { param: 'discount', fresh: true, needs: ['update', 'Discount'], ok: changeOk(303) },
  },
  params: {
    discount: async ({ db, tree, org, fresh, sequence }) => {
      if (!fresh && stable.has(org)) return stable.get(org)!
      const id = await insertDiscount(db, tree, org, fresh ? `Fresh discount ${sequence}` : secretDiscount(org))
      if (!fresh) stable.set(org, id)
      return id
    },
  },
  setup: async (db, tree) => {
    stable.clear()
    for (const org of Object.keys(tree) as OrgKey[]) {
      const account = tree[org]
      await db.insertInto('credit_entries').values({
        org_id: account.id, kind: 'topup', amount_minor: '1000', currency: account.currency, granted_by_org_id: account.parent_id, description: secretCredit(org),
      }).execute()
      stable.set(org, await insertDiscount(db, tree, org, secretDiscount(org)))
    }
  },
  secrets: (org) => [secretCredit(org), secretDiscount(org)],
}
