import { sql, type Kysely } from 'kysely'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { scaleDecimal } from '../../core/billing/money.ts'
import type { Database } from '../../core/db/schema.ts'
import { generate, GenerateError, type GenerateOptions, type GenerateSummary } from '../../core/seed/generate.ts'
import { dbLabel, freshDatabase, type TestDatabase } from '../support/fixture.ts'

const OPTIONS: GenerateOptions = { orgs: 30, months: 3, seed: 4242, eventsPerOrgMonth: 60, today: '2026-01-15' }

/** Every table the generator writes; created_at/updated_at are wall-clock stamps and left out. */
const TABLES = ['organisations', 'services', 'meters', 'plans', 'plan_prices', 'catalog_costs', 'providers', 'subscriptions', 'usage_events', 'usage_daily',
  'usage_monthly', 'invoices', 'invoice_lines', 'payments', 'credit_entries', 'discounts'] as const

async function digests(db: Kysely<Database>): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const table of TABLES) {
    const columns = await sql<{ column_name: string }>`select column_name from information_schema.columns
      where table_schema = 'public' and table_name = ${table} and column_name not in ('created_at', 'updated_at') order by column_name`.execute(db)
    const list = sql.join(columns.rows.map((c) => sql.ref(`t.${c.column_name}`)))
    const { rows } = await sql<{ digest: string | null; n: string }>`select md5(string_agg(r, E'\\n' order by r)) as digest, count(*) as n
      from (select row(${list})::text as r from ${sql.table(table)} t) x`.execute(db)
    out[table] = `${rows[0]!.n}:${rows[0]!.digest}`
  }
  return out
}

interface Ctx { a: TestDatabase; b: TestDatabase; c: TestDatabase; summary: GenerateSummary }
const test = suite<Ctx>(`data generator (${dbLabel})`)
test.before(async (ctx) => {
  ;[ctx.a, ctx.b, ctx.c] = await Promise.all([freshDatabase(), freshDatabase(), freshDatabase()])
  ctx.summary = await generate(ctx.a.database.db, OPTIONS)
  await generate(ctx.b.database.db, OPTIONS)
  await generate(ctx.c.database.db, { ...OPTIONS, seed: 4243 })
})
test.after(async (ctx) => { await Promise.all([ctx.a, ctx.b, ctx.c].map((d) => d?.dispose())) })

test('the same options give identical data in every table; another seed gives other data', async ({ a, b, c }) => {
  const first = await digests(a.database.db)
  assert.equal(await digests(b.database.db), first)
  const other = await digests(c.database.db)
  for (const table of ['organisations', 'subscriptions', 'usage_events', 'usage_monthly', 'invoices', 'invoice_lines'] as const) {
    assert.is.not(other[table], first[table], table)
  }
  for (const table of TABLES) assert.not.ok(first[table]!.startsWith('0:') && table !== 'payments', `${table} is empty`)
})

test('a database that already has organisations is refused', async ({ a }) => {
  try {
    await generate(a.database.db, OPTIONS)
    assert.unreachable('generate into a non-empty database')
  } catch (error) {
    assert.instance(error, GenerateError)
    assert.match((error as Error).message, /empty database/)
  }
})

test('the book has resellers with customers, plans of every model in use, heavy consumers and a summary that adds up', async ({ a, summary }) => {
  const db = a.database.db
  assert.is(summary.organisations, OPTIONS.orgs + 1)
  assert.ok(summary.resellers >= 1 && summary.customers > summary.resellers * 5, `${summary.resellers} resellers, ${summary.customers} customers`)
  const underResellers = await db.selectFrom('organisations as c').innerJoin('organisations as p', 'p.id', 'c.parent_id')
    .select((eb) => eb.fn.countAll<string>().as('n')).where('p.kind', '=', 'reseller').where('c.kind', '=', 'customer').executeTakeFirstOrThrow()
  assert.ok(Number(underResellers.n) > 0)
  const models = await db.selectFrom('subscriptions as s').innerJoin('plans as p', 'p.id', 's.plan_id').select('p.model').distinct().orderBy('p.model').execute()
  assert.equal(models.map((m) => m.model), ['bundle', 'payg', 'reserved'])
  const aggregations = await db.selectFrom('meters').select('aggregation').distinct().orderBy('aggregation').execute()
  assert.equal(aggregations.map((m) => m.aggregation), ['last', 'max', 'sum'])
  const mismatched = await db.selectFrom('subscriptions as s').innerJoin('plans as p', 'p.id', 's.plan_id').innerJoin('organisations as o', 'o.id', 's.org_id')
    .select('s.id').whereRef('p.currency', '<>', 'o.currency').execute()
  assert.equal(mismatched, [], 'every plan is in its organisation\'s currency')
  const statuses = await db.selectFrom('subscriptions').select('status').distinct().execute()
  assert.ok(statuses.some((s) => s.status === 'active'))

  // Heavy consumers: an organisation using far more than the median customer of some meter.
  const { rows } = await sql<{ org_id: number; ratio: string }>`
    with per as (select org_id, meter_id, sum(quantity) as q from usage_monthly group by org_id, meter_id),
         med as (select meter_id, percentile_cont(0.5) within group (order by q) as m from per group by meter_id)
    select per.org_id, max(per.q / nullif(med.m, 0)::numeric) as ratio from per join med using (meter_id) group by per.org_id`.execute(db)
  const heavy = rows.filter((r) => Number(r.ratio) >= 10)
  assert.ok(heavy.length >= 1 && heavy.length <= Math.max(2, rows.length / 10), `heavy: ${JSON.stringify(rows)}`)
  assert.is(summary.heavyConsumers, 1)

  const events = await db.selectFrom('usage_events').select((eb) => eb.fn.countAll<string>().as('n')).where('source', '=', 'generator').executeTakeFirstOrThrow()
  assert.is(Number(events.n), summary.events)
  const inbox = await db.selectFrom('usage_rollup_inbox').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  assert.is(Number(inbox.n), 0)
})

test('usage is lower at weekends for weekday-driven meters', async ({ a }) => {
  const { rows } = await sql<{ weekend: boolean; avg: string }>`
    select extract(isodow from e.occurred_at at time zone 'UTC') >= 6 as weekend, avg(e.quantity / d.base) as avg
    from usage_events e join meters m on m.id = e.meter_id
    join (select subscription_id, meter_id, avg(quantity) as base from usage_events group by 1, 2) d on d.subscription_id = e.subscription_id and d.meter_id = e.meter_id
    where m.code = 'voice-minutes' group by 1`.execute(a.database.db)
  const weekday = Number(rows.find((r) => !r.weekend)!.avg)
  const weekend = Number(rows.find((r) => r.weekend)!.avg)
  assert.ok(weekday > weekend * 2, `weekday ${weekday} vs weekend ${weekend}`)
})

interface Folded { quantity: bigint; count: number; lastAt: number; lastId: bigint }

test('daily and monthly rollups equal the raw events folded with each meter\'s aggregation', async ({ a }) => {
  const db = a.database.db
  const meters = new Map((await db.selectFrom('meters').select(['id', 'aggregation']).execute()).map((m) => [m.id, m.aggregation]))
  const events = await db.selectFrom('usage_events').select(['id', 'org_id', 'subscription_id', 'meter_id', 'quantity', 'occurred_at']).execute()
  const fold = (key: (e: typeof events[number]) => string) => {
    const out = new Map<string, Folded>()
    for (const e of events) {
      const k = key(e)
      const q = scaleDecimal(e.quantity, 6)
      const at = e.occurred_at.getTime()
      const id = BigInt(e.id)
      const cur = out.get(k)
      if (!cur) { out.set(k, { quantity: q, count: 1, lastAt: at, lastId: id }); continue }
      const aggregation = meters.get(e.meter_id)
      const later = at > cur.lastAt || (at === cur.lastAt && id > cur.lastId)
      if (aggregation === 'sum') cur.quantity += q
      else if (aggregation === 'max') cur.quantity = q > cur.quantity ? q : cur.quantity
      else if (later) cur.quantity = q
      cur.count++
      if (later) { cur.lastAt = at; cur.lastId = id }
    }
    return out
  }
  const base = (e: typeof events[number]) => `${e.org_id}|${e.subscription_id}|${e.meter_id}`
  const daily = fold((e) => `${base(e)}|${e.occurred_at.toISOString().slice(0, 10)}`)
  const monthly = fold((e) => `${base(e)}|${e.occurred_at.toISOString().slice(0, 7)}-01`)
  for (const [table, expected, column] of [['usage_daily', daily, 'day'], ['usage_monthly', monthly, 'month']] as const) {
    const rows = await sql<{ k: string; quantity: string; event_count: string; last_at: Date }>`
      select org_id || '|' || subscription_id || '|' || meter_id || '|' || ${sql.ref(column)}::text as k, quantity, event_count, last_at from ${sql.table(table)}`.execute(db)
    assert.is(rows.rows.length, expected.size, `${table} rows`)
    for (const row of rows.rows) {
      const want = expected.get(row.k)
      assert.ok(want, `${table} ${row.k} has no events`)
      assert.is(scaleDecimal(row.quantity, 6), want!.quantity, `${table} ${row.k} quantity`)
      assert.is(Number(row.event_count), want!.count, `${table} ${row.k} count`)
      assert.is(row.last_at.getTime(), want!.lastAt, `${table} ${row.k} last_at`)
    }
  }
})

test('closed months are invoiced; invoices are paid, pending or overdue, and payments match', async ({ a }) => {
  const db = a.database.db
  const invoices = await db.selectFrom('invoices').selectAll().execute()
  const periods = [...new Set(invoices.map((i) => i.period))].sort()
  assert.equal(periods, ['2025-10-01', '2025-11-01', '2025-12-01'])
  const statuses = new Set(invoices.map((i) => i.status))
  for (const status of ['paid', 'issued', 'overdue'] as const) assert.ok(statuses.has(status), `an invoice is ${status}: ${[...statuses]}`)
  assert.not.ok(statuses.has('draft'))
  const payments = await db.selectFrom('payments').selectAll().execute()
  for (const invoice of invoices) {
    assert.ok(invoice.issued_on && invoice.due_on, `invoice ${invoice.number} issued`)
    assert.is(BigInt(invoice.total_minor), BigInt(invoice.subtotal_minor) + BigInt(invoice.discount_minor) + BigInt(invoice.credit_minor))
    const paid = payments.filter((p) => p.invoice_id === invoice.id)
    if (invoice.status === 'paid') {
      assert.is(invoice.paid_minor, invoice.total_minor)
      assert.ok(invoice.paid_at)
      assert.is(paid.reduce((sum, p) => sum + BigInt(p.amount_minor), 0n), BigInt(invoice.total_minor), `payments of ${invoice.number}`)
    } else {
      assert.is(paid.length, 0)
      if (invoice.status === 'overdue') assert.ok(invoice.due_on! < OPTIONS.today!, `${invoice.number} overdue before due`)
      if (invoice.status === 'issued') assert.ok(invoice.due_on! >= OPTIONS.today!, `${invoice.number} pending but past due`)
    }
  }
  const kinds = await db.selectFrom('credit_entries').select('kind').distinct().execute()
  assert.ok(kinds.some((k) => k.kind === 'topup'), 'top-ups')
  const discounts = await db.selectFrom('discounts').select(['valid_from', 'valid_to', 'cancelled_at']).execute()
  const today = OPTIONS.today!
  const derived = new Set(discounts.map((d) => (d.cancelled_at ? 'cancelled' : d.valid_from > today ? 'scheduled' : d.valid_to && d.valid_to < today ? 'expired' : 'active')))
  assert.ok(derived.size >= 3, `discount statuses: ${[...derived]}`)
})

test.run()
