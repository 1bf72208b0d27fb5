/**
 * The usage-family reports (usage.summary, client.usage, resource.usage) through the JSON API and
 * their downloads (CSV with comma and pipe, XLSX), as a reseller and as a customer: every figure
 * equals the one computed from the raw fixture rows of the caller's own subtree, and no
 * organisation name or figure of another subtree shows. A user who may read but not export gets
 * a 403 on each download.
 */
import { parse } from 'csv-parse/sync'
import ExcelJS from 'exceljs'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { toMinorUnits, unscale } from '../../core/billing/money.ts'
import { signedIn } from '../support/agent.ts'
import { METERS, PLANS, SERVICES } from '../support/billing.ts'
import { ADMIN, addRole, addUser, dbLabel, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'
import { meterTotal, periodValue, scaled, seedUsageFixture, type SubscriptionKey, type UsageFixture } from '../db/report-usage-fixture.ts'

const test = suite(`usage-family report API (${dbLabel})`)
let rt: TestRuntime
let fx: UsageFixture
const FEB = ['2026-02-01', '2026-02-28'] as const
const JAN = ['2026-01-01', '2026-01-31'] as const
const QUERY = `from=${FEB[0]}&to=${FEB[1]}&pageSize=500`

test.before(async () => {
  rt = await testRuntime()
  fx = await seedUsageFixture(rt.database.db)
})
test.after(async () => { await rt?.dispose() })

type Who = 'alpha' | 'alphaCustomer'
/** Ids of the organisations in `root`'s subtree (itself included). */
const subtree = (root: keyof Tree) => Object.values(fx.tree).filter((o) => o.path.startsWith(fx.tree[root].path)).map((o) => o.id)
const outsideNames = (root: keyof Tree) => Object.values(fx.tree).filter((o) => !o.path.startsWith(fx.tree[root].path)).map((o) => o.name)
const meterCode = (id: number) => Object.entries(fx.catalog.meters).find(([, m]) => m === id)![0]
const meterSpec = (id: number) => METERS.find((m) => m.code === meterCode(id))!
const subscriptionsOf = (orgs: readonly number[]) => (Object.keys(fx.subs) as SubscriptionKey[])
  .filter((key) => orgs.includes(fx.days.find((d) => d.sub === fx.subs[key])!.org))

/** One report's expected rows as comparable keys, and how to read the same key from the API and from a download. */
interface Check {
  readonly id: string
  readonly query: string
  expected(orgs: readonly number[]): string[]
  /** The key of a JSON row (raw values: quantities as decimals, money in minor units). */
  fromJson(row: Record<string, unknown>): string
  /** The key of a download row, by column label (money in major units). */
  fromSheet(row: Record<string, string>): string
}

/** Per meter: quantity in February, organisations using it, quantity in January (10^-6 units). */
const usageSummary: Check = {
  id: 'usage.summary',
  query: QUERY,
  expected: (orgs) => [...new Set(fx.days.filter((d) => orgs.includes(d.org)).map((d) => d.meter))].map((meter) => {
    const now = meterTotal(fx.days, meter, ...FEB, orgs)
    return `${meter}|${now.q}|${now.orgs}|${meterTotal(fx.days, meter, ...JAN, orgs).q}`
  }).sort(),
  fromJson: (r) => `${r.meter_id}|${scaled(r.quantity)}|${r.organisations}|${scaled(r.previous)}`,
  fromSheet: (r) => `${r['Meter id']}|${scaled(r['Quantity (in Unit)'])}|${r.Organisations}|${scaled(r['Previous period (in Unit)'])}`,
}

/** Half away from zero of `n / d` for n >= 0. */
const rounded = (n: bigint, d: bigint) => (n * 2n + d) / (d * 2n)

/** Per client: February's usage charges at its plans' prices (rating's rule), monthly fees and total, in cents. */
const clientUsage: Check = {
  id: 'client.usage',
  query: QUERY,
  expected(orgs) {
    const byOrg = new Map<number, { usage: bigint; fixed: bigint }>()
    for (const key of subscriptionsOf(orgs)) {
      const sub = fx.subs[key]
      const plan = PLANS.find((p) => p.code === fx.plans[key])!
      const org = fx.days.find((d) => d.sub === sub)!.org
      const sums = byOrg.get(org) ?? { usage: 0n, fixed: 0n }
      sums.fixed += BigInt(plan.fixedFeeMinor)
      for (const meter of new Set(fx.days.filter((d) => d.sub === sub).map((d) => d.meter))) {
        const price = plan.prices[meterCode(meter)]
        const q = periodValue(fx.days, sub, meter, ...FEB)
        if (!price || q === undefined) continue
        const over = q - scaled(price[1])
        // quantity and unit price both in 10^-6 units, times 100 cents per euro.
        if (over > 0n) sums.usage += rounded(over * scaled(price[0]) * 100n, 10n ** 12n)
      }
      byOrg.set(org, sums)
    }
    return [...byOrg].map(([org, s]) => `${org}|${s.usage}|${s.fixed}|${s.usage + s.fixed}`).sort()
  },
  fromJson: (r) => `${r.org_id}|${r.usage_charges}|${r.fixed_fees}|${r.total}`,
  fromSheet: (r) => ['Organisation id', 'Usage charges (in Currency)', 'Monthly fees (in Currency)', 'Total charges (in Currency)']
    .map((label, i) => (i === 0 ? r[label] : toMinorUnits(r[label]!, 'EUR'))).join('|'),
}

/** Per organisation and resource (category, unit): February's quantity and its share of the subtree's total. */
const resourceUsage: Check = {
  id: 'resource.usage',
  query: `${QUERY}&tab=consumers`,
  expected(orgs) {
    const quantities = new Map<string, bigint>()
    for (const key of subscriptionsOf(orgs)) {
      const sub = fx.subs[key]
      const org = fx.days.find((d) => d.sub === sub)!.org
      for (const meter of new Set(fx.days.filter((d) => d.sub === sub).map((d) => d.meter))) {
        const q = periodValue(fx.days, sub, meter, ...FEB)
        if (q === undefined) continue
        const spec = meterSpec(meter)
        const k = `${org}|${SERVICES[spec.service]!.category}|${spec.unit}`
        quantities.set(k, (quantities.get(k) ?? 0n) + q)
      }
    }
    const totals = new Map<string, bigint>()
    for (const [k, q] of quantities) totals.set(k.replace(/^\d+\|/, ''), (totals.get(k.replace(/^\d+\|/, '')) ?? 0n) + q)
    return [...quantities].map(([k, q]) => `${k}|${q}|${unscale(rounded(q * 10000n, totals.get(k.replace(/^\d+\|/, ''))!), 2)}`).sort()
  },
  fromJson: (r) => `${r.org_id}|${r.category}|${r.unit}|${scaled(r.quantity)}|${r.share}`,
  fromSheet: (r) => `${r['Organisation id']}|${r.Resource}|${r.Unit}|${scaled(r['Consumption (in Unit)'])}|${Number(r['Share of the total (%)']).toFixed(2)}`,
}

const CHECKS = [usageSummary, clientUsage, resourceUsage]

/** Rows of a CSV or XLSX download as records keyed by the header labels, every cell as text. */
async function downloadRows(response: Response, format: 'csv' | 'xlsx', delimiter: 'comma' | 'pipe'): Promise<Record<string, string>[]> {
  let table: unknown[][]
  if (format === 'csv') {
    table = parse(await response.text(), { delimiter: delimiter === 'pipe' ? '|' : ',' }) as string[][]
  } else {
    const workbook = new ExcelJS.Workbook()
    await workbook.xlsx.load(await response.arrayBuffer())
    table = []
    workbook.worksheets[0]!.eachRow((row) => { table.push((row.values as unknown[]).slice(1)) })
  }
  const [header, ...rows] = table
  return rows.map((row) => Object.fromEntries(header!.map((label, i) => [String(label), row[i] === undefined || row[i] === null ? '' : String(row[i])])))
}

test('the fixture tells subtrees apart: each check expects other figures for the operator', async () => {
  for (const check of CHECKS) {
    for (const who of ['alpha', 'alphaCustomer'] as const) {
      const mine = check.expected(subtree(who))
      assert.ok(mine.length > 0, `${check.id} has rows for ${who}`)
      assert.not.equal(mine, check.expected(subtree('operator')), `${check.id} for ${who}`)
    }
  }
})

for (const who of ['alpha', 'alphaCustomer'] as const satisfies readonly Who[]) {
  test(`JSON as ${who}: the figures of its subtree only, from the raw rows`, async () => {
    const agent = await signedIn(rt.app, ADMIN[who])
    for (const check of CHECKS) {
      const response = await agent.get(`/api/v1/reports/${check.id}?${check.query}`)
      assert.is(response.status, 200, check.id)
      const body = await response.json() as { total: number; rows: Record<string, unknown>[] }
      const expected = check.expected(subtree(who))
      assert.is(body.total, expected.length, `${check.id} row count`)
      assert.equal(body.rows.map(check.fromJson).sort(), expected, check.id)
      const text = JSON.stringify(body)
      for (const name of outsideNames(who)) assert.not.ok(text.includes(name), `${check.id} shows ${name}`)
    }
  })

  test(`CSV (comma, pipe) and XLSX as ${who}: the same figures, nothing of another subtree`, async () => {
    const agent = await signedIn(rt.app, ADMIN[who])
    const downloads = [['csv', 'comma'], ['csv', 'pipe'], ['xlsx', 'comma']] as const
    for (const check of CHECKS) {
      for (const [format, delimiter] of downloads) {
        const response = await agent.get(`/api/v1/reports/${check.id}.${format}?${check.query}&delimiter=${delimiter}`)
        assert.is(response.status, 200, `${check.id}.${format}`)
        const rows = await downloadRows(response, format, delimiter)
        assert.equal(rows.map(check.fromSheet).sort(), check.expected(subtree(who)), `${check.id}.${format} ${delimiter}`)
        const text = JSON.stringify(rows)
        for (const name of outsideNames(who)) assert.not.ok(text.includes(name), `${check.id}.${format} shows ${name}`)
      }
    }
  })
}

test('names: the reseller\'s clients are in its downloads by name', async () => {
  const agent = await signedIn(rt.app, ADMIN.alpha)
  for (const id of ['client.usage', 'resource.usage']) {
    const text = await (await agent.get(`/api/v1/reports/${id}.csv?${QUERY}${id === 'resource.usage' ? '&tab=consumers' : ''}`)).text()
    for (const name of [fx.tree.alphaCustomer.name, fx.tree.alphaSubCustomer.name]) assert.ok(text.includes(name), `${id} lists ${name}`)
  }
})

test('a user who may read the three reports but not export them gets 403 on every download', async () => {
  const role = await addRole(rt.database.db, fx.tree.alpha.id, 'Usage reader', [['UsageReport', 'read'], ['ClientUsageReport', 'read'], ['ResourceReport', 'read']])
  await addUser(rt.database.db, fx.tree.alpha.id, 'usage-reader@test.example', { roleIds: [role] })
  const reader = await signedIn(rt.app, 'usage-reader@test.example')
  for (const check of CHECKS) {
    const json = await reader.get(`/api/v1/reports/${check.id}?${check.query}`)
    assert.is(json.status, 200, check.id)
    assert.equal((await json.json() as { rows: Record<string, unknown>[] }).rows.map(check.fromJson).sort(), check.expected(subtree('alpha')))
    for (const format of ['csv', 'xlsx']) assert.is((await reader.get(`/api/v1/reports/${check.id}.${format}?${check.query}`)).status, 403, `${check.id}.${format}`)
  }
})

test.run()
