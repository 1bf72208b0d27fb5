import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { sql, type Kysely } from 'kysely'
import type { Job } from 'pg-boss'
import { compiledLookup, lookupHandle } from '../../core/db/database.ts'
import { migrateAll, MIGRATION_SCHEMA, pendingMigrations } from '../../core/db/migrate.ts'
import type { Database } from '../../core/db/schema.ts'
import { definePlugin } from '../../core/plugins/define.ts'
import { migrationSets } from '../../core/runtime.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { coreMigrations } from '../../migrations/index.ts'
import { builtInPlugins } from '../../plugins/index.ts'
import { dbLabel, testRuntime, type TestRuntime } from '../support/fixture.ts'

// A plugin whose job reports each job it handles, so tests wait on completion instead of sleeping.
const handled: Array<(job: Job<{ n: number }>) => void> = []
const probePlugin = definePlugin({
  id: 'probe',
  title: 'Probe',
  jobs: [{ id: 'probe.echo', handler: async (jobs: Job<{ n: number }>[]) => { for (const job of jobs) handled.shift()?.(job) } }],
})
const nextHandled = () => new Promise<Job<{ n: number }>>((resolve) => handled.push(resolve))

const db = suite<{ rt: TestRuntime; kysely: Kysely<Database> }>(`database (${dbLabel})`)

db.before(async (ctx) => {
  ctx.rt = await testRuntime({ installed: [...builtInPlugins, probePlugin] })
  ctx.kysely = ctx.rt.database.db
})
db.after(async (ctx) => { await ctx.rt.dispose() })

const jobCount = async (kysely: Kysely<Database>, n: number) => {
  const { rows } = await sql<{ count: string }>`select count(*) from pgboss.job where name = 'probe.echo' and (data->>'n')::int = ${n}`.execute(kysely)
  return Number(rows[0]!.count)
}

db('migrations are applied, recorded per owner, and a second run applies nothing', async ({ kysely, rt }) => {
  const sets = migrationSets(rt.plugins)
  assert.equal(await pendingMigrations(kysely, sets), [])
  assert.equal(await migrateAll(kysely, sets), [])
  const { rows } = await sql<{ name: string }>`select name from ${sql.table(`${MIGRATION_SCHEMA}.core`)}`.execute(kysely)
  assert.equal(rows.map((r) => r.name).sort(), Object.keys(coreMigrations).sort())
  for (const table of ['organisations', 'users', 'sessions', 'login_throttle', 'roles', 'role_permissions', 'role_manages', 'user_roles', 'api_tokens', 'audit_log']) {
    const found = await sql<{ exists: boolean }>`select to_regclass(${table}) is not null as exists`.execute(kysely)
    assert.ok(found.rows[0]!.exists, `${table} exists`)
  }
})

db('a plugin migration runs after the core, and disabling the plugin leaves the history valid', async ({ kysely }) => {
  const extra = { owner: 'gadget', migrations: { '0001_gadgets': { up: async (k: Kysely<any>) => { await k.schema.createTable('gadgets').addColumn('org_id', 'integer', (c) => c.notNull().references('organisations.id')).execute() } } } }
  const applied = await migrateAll(kysely, [{ owner: 'core', migrations: migrationSets([])[0]!.migrations }, extra])
  assert.equal(applied, [{ owner: 'gadget', name: '0001_gadgets' }])
  assert.equal(await pendingMigrations(kysely, [extra]), [])
  // Without the plugin, migrating again is fine: its history lives in its own table.
  assert.equal(await migrateAll(kysely, migrationSets([])), [])
})

db('int8, numeric, date, timestamptz and json come back the same on both databases', async ({ kysely }) => {
  const { rows } = await sql<Record<string, unknown>>`
    select 9007199254740993::int8 as big, 12.3450::numeric(12,4) as amount, '2026-01-31'::date as day,
           now() as at, '{"a":[1,2]}'::jsonb as doc, 5::int4 as small, (select count(*) from organisations) as n`.execute(kysely)
  const row = rows[0]!
  assert.is(row.big, '9007199254740993')
  assert.is(row.amount, '12.3450')
  assert.is(row.day, '2026-01-31')
  assert.instance(row.at, Date)
  assert.equal(row.doc, { a: [1, 2] })
  assert.is(row.small, 5)
  assert.is(typeof row.n, 'string')
})

db('streams large results in chunks', async ({ kysely }) => {
  let count = 0
  let sum = 0
  const query = kysely.selectNoFrom(sql<number>`g`.as('g')).modifyEnd(sql`from generate_series(1, 2500) as g`)
  for await (const row of query.stream(700)) {
    count++
    sum += Number(row.g)
  }
  assert.is(count, 2500)
  assert.is(sum, (2500 * 2501) / 2)
})

db('savepoints roll back part of a transaction', async ({ kysely }) => {
  const trx = await kysely.startTransaction().execute()
  try {
    await sql`create temporary table sp_probe (v int) on commit drop`.execute(trx)
    await sql`insert into sp_probe values (1)`.execute(trx)
    const sp = await trx.savepoint('before_two').execute()
    await sql`insert into sp_probe values (2)`.execute(sp)
    const back = await sp.rollbackToSavepoint('before_two').execute()
    const { rows } = await sql<{ v: number }>`select v from sp_probe order by v`.execute(back)
    assert.equal(rows.map((r) => r.v), [1])
    await back.commit().execute()
  } catch (error) {
    await trx.rollback().execute().catch(() => {})
    throw error
  }
})

db('a job sent inside a transaction rolls back with it, and commits with it', async ({ kysely, rt }) => {
  const handle = new ScopedDb(kysely, { orgId: 0, path: '/' }, rt.boss)
  await handle.transaction(async (trx) => {
    await trx.sendJob('probe.echo', { n: 101 })
    throw new Error('roll back')
  }).catch((error: Error) => assert.is(error.message, 'roll back'))
  assert.is(await jobCount(kysely, 101), 0)

  const done = nextHandled()
  await handle.transaction(async (trx) => { await trx.sendJob('probe.echo', { n: 102 }) })
  assert.is(await jobCount(kysely, 102), 1)
  const job = await done
  assert.is(job.data.n, 102)
})

db('a job sent outside an open transaction is not swallowed by it', async ({ kysely, rt }) => {
  let began!: () => void
  let release!: () => void
  const started = new Promise<void>((resolve) => { began = resolve })
  const gate = new Promise<void>((resolve) => { release = resolve })
  const open = kysely.transaction().execute(async (trx) => {
    await sql`select 1`.execute(trx)
    began()
    await gate
    throw new Error('roll back the unrelated transaction')
  }).catch(() => 'rolled back')
  await started
  const sent = rt.boss.send('probe.echo', { n: 103 })
  release()
  assert.is(await open, 'rolled back')
  assert.ok(await sent)
  assert.is(await jobCount(kysely, 103), 1)
})

db('PostgreSQL connections run without JIT and with custom plans for every execution', async ({ kysely, rt }) => {
  if (rt.database.kind !== 'postgres') return
  // Several at once, so more than one pooled connection answers.
  const answers = await Promise.all(Array.from({ length: 6 }, () => sql<{ jit: string; mode: string }>`select current_setting('jit') as jit, current_setting('plan_cache_mode') as mode, pg_sleep(0.05)`.execute(kysely)))
  for (const { rows } of answers) assert.equal({ jit: rows[0]!.jit, mode: rows[0]!.mode }, { jit: 'off', mode: 'force_custom_plan' })
})

db('key lookups run on their own connections, where PostgreSQL may reuse a generic plan', async ({ kysely, rt }) => {
  const lookups = lookupHandle(kysely)
  if (rt.database.kind !== 'postgres') {
    assert.is(lookups, kysely, 'one connection on PGlite: the same handle')
    return
  }
  assert.is.not(lookups, kysely)
  const ask = (handle: typeof kysely) => sql<{ jit: string; mode: string; pid: number }>`select current_setting('jit') as jit, current_setting('plan_cache_mode') as mode, pg_backend_pid() as pid`.execute(handle)
  const lookup = (await ask(lookups)).rows[0]!
  assert.equal({ jit: lookup.jit, mode: lookup.mode }, { jit: 'off', mode: 'auto' })
  const main = await Promise.all(Array.from({ length: 4 }, () => ask(kysely)))
  assert.ok(main.every(({ rows }) => rows[0]!.pid !== lookup.pid), 'not a connection of the main pool')
})

db('a compiled lookup runs its statement again with new values, keeping its own constants', async ({ kysely }) => {
  const orgByIdAndKind = compiledLookup((handle, id, kind) => handle.selectFrom('organisations')
    .select(['id', 'kind', sql<string>`${'constant'}::text`.as('fixed')])
    // The stand-ins are strings; the values sent later are whatever the caller passes.
    .where('id', '=', id as unknown as number)
    .where('kind', '=', kind as 'customer'), 2)
  const [root] = await kysely.insertInto('organisations').values({ parent_id: null, kind: 'operator', name: 'Lookup root', path: '/', status: 'active', currency: 'EUR' })
    .returning(['id']).execute()
  await kysely.updateTable('organisations').set({ path: `/${root!.id}/` }).where('id', '=', root!.id).execute()
  const [child] = await kysely.insertInto('organisations').values({ parent_id: root!.id, kind: 'customer', name: 'Lookup child', path: '/', status: 'active', currency: 'EUR' })
    .returning(['id']).execute()
  assert.equal(await orgByIdAndKind(kysely, root!.id, 'operator'), { id: root!.id, kind: 'operator', fixed: 'constant' })
  assert.equal(await orgByIdAndKind(kysely, child!.id, 'customer'), { id: child!.id, kind: 'customer', fixed: 'constant' })
  assert.is(await orgByIdAndKind(kysely, child!.id, 'operator'), undefined)
  await kysely.deleteFrom('organisations').where('id', 'in', [child!.id, root!.id]).execute()
  // A value the statement does not carry as a parameter would be silently dropped: refused instead.
  const careless = compiledLookup((handle) => handle.selectFrom('organisations').select('id').where('id', '=', 1))
  try {
    await careless(kysely, 1)
    assert.unreachable('a statement without its value must be refused')
  } catch (error) {
    assert.match((error as Error).message, /each value must appear once/)
  }
})

db.run()
