/**
 * Demo data for trying the portal: an operator, two resellers (one with a nested reseller) and
 * their customers, and one login per kind. Only ever run on an empty database and never in
 * production (settings refuse DEMO_DATA there).
 */
import type { Kysely } from 'kysely'
import type { Database, OrganisationKind, OrganisationRow } from '../db/schema.ts'
import { hashPassword } from '../auth/password.ts'
import { createOperator, insertOrganisation } from '../tenancy/organisations.ts'

export const DEMO_PASSWORD = 'ledgerlite-demo'

export const DEMO_LOGINS = [
  { email: 'operator@demo.test', name: 'Olivia Operator', org: 'Northwind Cloud', role: 'Super Administrator of the operator' },
  { email: 'reseller@demo.test', name: 'Ravi Reseller', org: 'Bluewave Partners', role: 'admin of the first reseller' },
  { email: 'customer@demo.test', name: 'Chloe Customer', org: 'Acme Web Studio', role: 'admin of a customer of that reseller' },
] as const

interface DemoOrg {
  readonly name: string
  readonly kind: Exclude<OrganisationKind, 'operator'>
  readonly currency?: string
  readonly children?: readonly DemoOrg[]
}

const TREE: readonly DemoOrg[] = [
  {
    name: 'Bluewave Partners', kind: 'reseller', children: [
      { name: 'Acme Web Studio', kind: 'customer' },
      { name: 'Lumen Analytics', kind: 'customer' },
      { name: 'Bluewave Nordics', kind: 'reseller', currency: 'SEK', children: [{ name: 'Fjord Retail', kind: 'customer', currency: 'SEK' }] },
    ],
  },
  {
    name: 'Corvid Telecom Resale', kind: 'reseller', currency: 'GBP', children: [
      { name: 'Harbor Dental', kind: 'customer', currency: 'GBP' },
      { name: 'Pinecrest Legal', kind: 'customer', currency: 'GBP' },
    ],
  },
  { name: 'Orbit Media', kind: 'customer' },
]

export async function isEmpty(db: Kysely<Database>): Promise<boolean> {
  const row = await db.selectFrom('organisations').select('id').limit(1).executeTakeFirst()
  return !row
}

export async function seedDemo(db: Kysely<Database>): Promise<void> {
  const hashes = await Promise.all(DEMO_LOGINS.map(() => hashPassword(DEMO_PASSWORD)))
  await db.transaction().execute(async (trx) => {
    const db = trx as unknown as Kysely<Database>
    const operator = await createOperator(db, 'Northwind Cloud')
    const ids = new Map<string, number>([[operator.name, operator.id]])
    const insert = async (nodes: readonly DemoOrg[], parent: OrganisationRow) => {
      for (const node of nodes) {
        const row = await insertOrganisation(db, parent, {
          kind: node.kind, name: node.name, currency: node.currency ?? 'EUR',
          billing_email: `billing@${node.name.toLowerCase().replace(/[^a-z]+/g, '-')}.example`,
        })
        ids.set(node.name, row.id)
        await insert(node.children ?? [], row)
      }
    }
    await insert(TREE, operator)
    await trx.insertInto('users').values(DEMO_LOGINS.map((login, i) => ({
      org_id: ids.get(login.org)!, email: login.email, name: login.name, password_hash: hashes[i]!,
    }))).execute()
  })
}
