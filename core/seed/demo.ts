/**
 * Demo data for trying the portal: an operator, two resellers (one with a nested reseller) and
 * their customers, and one login per kind; then a year of billing data from the generator
 * (catalog, contracts, usage and rollups, invoices paid / pending / overdue, top-ups, discounts).
 * Only ever run on an empty database and never in production (settings refuse DEMO_DATA there).
 */
import type { Kysely } from 'kysely'
import type { Database, OrganisationKind, OrganisationRow } from '../db/schema.ts'
import { hashPassword } from '../auth/password.ts'
import { createOperator, insertOrganisation } from '../tenancy/organisations.ts'
import { generateBilling } from './generate.ts'

export const DEMO_PASSWORD = 'ledgerlite-demo'

/** The generator's settings for the demo: small enough to seed in seconds on PGlite. */
export const DEMO_BILLING = { months: 12, seed: 2024, eventsPerOrgMonth: 40 } as const

/** A custom role, made the way an operator would in the Roles page. */
const CUSTOM_ROLE = {
  name: 'Manage Service Provider Reports',
  description: 'Reads and exports every report and list, and adds users with the Auditor role; changes nothing else.',
  grants: [['all', 'read'], ['all', 'export'], ['User', 'create'], ['User', 'update']],
} as const

export const DEMO_LOGINS = [
  { email: 'operator@demo.test', name: 'Olivia Operator', org: 'Northwind Cloud', roles: ['super_admin'], role: 'Super Administrator of the operator' },
  { email: 'reseller@demo.test', name: 'Ravi Reseller', org: 'Bluewave Partners', roles: ['reseller_admin'], role: 'Reseller Admin of the first reseller' },
  { email: 'reseller2@demo.test', name: 'Rosa Reseller', org: 'Corvid Telecom Resale', roles: ['reseller_admin'], role: 'Reseller Admin of the second reseller' },
  { email: 'customer@demo.test', name: 'Chloe Customer', org: 'Acme Web Studio', roles: ['customer_admin'], role: 'Customer Admin of a customer of the first reseller' },
  { email: 'auditor@demo.test', name: 'Arthur Auditor', org: 'Northwind Cloud', roles: ['auditor'], role: 'Auditor: reads and exports everything, changes nothing' },
  { email: 'reports@demo.test', name: 'Priya Reports', org: 'Northwind Cloud', roles: [CUSTOM_ROLE.name], role: `custom role "${CUSTOM_ROLE.name}"` },
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
  const root = await db.transaction().execute(async (trx) => {
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
    const custom = await trx.insertInto('roles').values({ org_id: operator.id, name: CUSTOM_ROLE.name, description: CUSTOM_ROLE.description })
      .returning('id').executeTakeFirstOrThrow()
    await trx.insertInto('role_permissions').values(CUSTOM_ROLE.grants.map(([subject, action]) => ({ role_id: custom.id, subject, action }))).execute()
    await trx.insertInto('role_manages')
      .columns(['role_id', 'managed_role_id'])
      .expression((eb) => eb.selectFrom('roles').select([eb.val(custom.id).as('role_id'), 'id']).where('system_key', '=', 'auditor'))
      .execute()
    const users = await trx.insertInto('users').values(DEMO_LOGINS.map((login, i) => ({
      org_id: ids.get(login.org)!, email: login.email, name: login.name, password_hash: hashes[i]!,
    }))).returning(['id', 'email']).execute()
    for (const login of DEMO_LOGINS) {
      const userId = users.find((u) => u.email === login.email)!.id
      await trx.insertInto('user_roles')
        .columns(['user_id', 'role_id'])
        .expression((eb) => eb.selectFrom('roles').select([eb.val(userId).as('user_id'), 'id'])
          .where((w) => w.or([w('system_key', 'in', login.roles), w.and([w('org_id', '=', operator.id), w('name', 'in', login.roles)])])))
        .execute()
    }
    return operator
  })
  // Billing data up to today, so the pages and reports show current months.
  await generateBilling(db, root, DEMO_BILLING)
}
