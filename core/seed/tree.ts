/**
 * The generated organisation tree: an operator, resellers (some nested under others) and their
 * customers (some directly under the operator). Planned in memory from the seed, then written in
 * large inserts with ids taken from the sequence up front, so paths need no second pass.
 */
import { sql, type Kysely } from 'kysely'
import type { Database, OrganisationKind, OrganisationRow } from '../db/schema.ts'
import { createOperator } from '../tenancy/organisations.ts'
import type { Random } from './random.ts'

const FIRST = ['Acme', 'Alder', 'Apex', 'Argent', 'Aurora', 'Basalt', 'Beacon', 'Birch', 'Blue', 'Bright', 'Cedar', 'Cobalt', 'Copper', 'Coral', 'Crest',
  'Delta', 'Ember', 'Fern', 'Fjord', 'Flint', 'Garnet', 'Granite', 'Harbor', 'Hazel', 'Indigo', 'Iron', 'Juniper', 'Kestrel', 'Lark', 'Linden', 'Lumen',
  'Maple', 'Marble', 'Meadow', 'Nimbus', 'Nova', 'Oak', 'Onyx', 'Orbit', 'Pine', 'Quartz', 'Raven', 'Ridge', 'Sable', 'Silver', 'Slate', 'Spruce',
  'Summit', 'Tidal', 'Topaz', 'Vale', 'Willow', 'Zephyr']
const CUSTOMER_WORDS = ['Dental', 'Legal', 'Studio', 'Analytics', 'Logistics', 'Retail', 'Media', 'Clinic', 'Labs', 'Foods', 'Travel', 'Insurance',
  'Architects', 'Bakery', 'Consulting', 'Engineering', 'Games', 'Health', 'Motors', 'Outfitters', 'Pharma', 'Robotics', 'Software', 'Textiles']
const RESELLER_WORDS = ['Partners', 'Cloud Resale', 'Telecom', 'IT Services', 'Networks', 'Systems', 'Hosting', 'Managed Services', 'Connect']
const SUFFIXES = ['', '', '', ' Ltd', ' GmbH', ' B.V.', ' AB', ' SAS', ' Inc.']

const CURRENCIES: readonly (readonly [string, number])[] = [['EUR', 60], ['GBP', 20], ['USD', 15], ['SEK', 5]]

export interface PlannedOrg {
  readonly index: number
  readonly parent: number | null
  readonly kind: Exclude<OrganisationKind, 'operator'>
  readonly name: string
  readonly currency: string
}

/**
 * `count` organisations below the operator: about 7% resellers (a third of them nested under
 * another reseller), the rest customers, 15% of those directly under the operator. Parents come
 * before their children. `parent` is an index into the list, or null for the operator.
 */
export function planTree(rng: Random, count: number, operatorCurrency: string): PlannedOrg[] {
  const resellerCount = Math.max(1, Math.round(count * 0.07))
  const orgs: PlannedOrg[] = []
  const taken = new Set<string>()
  const uniqueName = (parent: number | null, base: string) => {
    let name = base
    for (let n = 2; taken.has(`${parent}|${name.toLowerCase()}`); n++) name = `${base} ${n}`
    taken.add(`${parent}|${name.toLowerCase()}`)
    return name
  }
  const resellers: number[] = []
  for (let i = 0; i < resellerCount; i++) {
    const nested = resellers.length > 0 && rng.chance(0.33)
    const parent = nested ? rng.pick(resellers) : null
    const currency = parent !== null && rng.chance(0.8) ? orgs[parent]!.currency : rng.weighted(CURRENCIES)
    const name = uniqueName(parent, `${rng.pick(FIRST)} ${rng.pick(RESELLER_WORDS)}`)
    orgs.push({ index: orgs.length, parent, kind: 'reseller', name, currency })
    resellers.push(orgs.length - 1)
  }
  for (let i = resellerCount; i < count; i++) {
    const parent = rng.chance(0.15) ? null : rng.pick(resellers)
    const inherited = parent === null ? operatorCurrency : orgs[parent]!.currency
    const currency = rng.chance(0.9) ? inherited : rng.weighted(CURRENCIES)
    const name = uniqueName(parent, `${rng.pick(FIRST)} ${rng.pick(CUSTOMER_WORDS)}${rng.pick(SUFFIXES)}`)
    orgs.push({ index: orgs.length, parent, kind: 'customer', name, currency })
  }
  return orgs
}

const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')

/** Writes the operator and the planned tree; returns every organisation, the operator first. */
export async function writeTree(db: Kysely<Database>, operatorName: string, operatorCurrency: string, planned: readonly PlannedOrg[]): Promise<OrganisationRow[]> {
  const operator = await createOperator(db, operatorName, operatorCurrency)
  if (!planned.length) return [operator]
  const { rows } = await sql<{ id: number }>`select nextval(pg_get_serial_sequence('organisations', 'id'))::int as id from generate_series(1, ${planned.length}) order by 1`.execute(db)
  const ids = rows.map((r) => r.id).sort((a, b) => a - b)
  const paths: string[] = []
  const values = planned.map((org, i) => {
    const parentPath = org.parent === null ? operator.path : paths[org.parent]!
    paths.push(`${parentPath}${ids[i]}/`)
    return {
      id: ids[i]!, parent_id: org.parent === null ? operator.id : ids[org.parent]!, kind: org.kind, name: org.name, path: paths[i]!,
      currency: org.currency, billing_email: `billing@${slug(org.name)}.example`,
    }
  })
  const written: OrganisationRow[] = [operator]
  for (let i = 0; i < values.length; i += 1000) {
    written.push(...(await db.insertInto('organisations').values(values.slice(i, i + 1000)).returningAll().execute()) as OrganisationRow[])
  }
  return written
}
