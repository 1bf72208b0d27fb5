/**
 * The CSV backfill: the import page (operators only), row-by-row errors with line numbers, quoted
 * fields and pipes, duplicates and conflicts, no lower time limit; the /metering list with its
 * rollup lag; the `import-usage` and `create-token` commands.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readCsv } from '../../core/billing/csv-read.ts'
import { rollUpUsage } from '../../core/billing/rollups.ts'
import { ROLLUP_QUEUE } from '../../core/billing/usage.ts'
import { openDatabase } from '../../core/db/database.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { addSubscription, seedCatalog, type Catalog } from '../support/billing.ts'
import { ADMIN, dbLabel, onPostgres, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`usage CSV import (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let catalog: Catalog
let sub = 0
let betaSub = 0

const db = () => rt.database.db

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(db())
  catalog = await seedCatalog(db(), tree.operator.id)
  sub = await addSubscription(db(), tree.alphaCustomer.id, catalog.plans.payg!)
  betaSub = await addSubscription(db(), tree.betaCustomer.id, catalog.plans.payg!)
})
test.after(async () => { await rt?.dispose() })

async function upload(agent: Agent, csv: string, delimiter = 'comma', name = 'usage.csv'): Promise<Response> {
  const form = new FormData()
  form.set('file', new File([csv], name, { type: 'text/csv' }))
  form.set('delimiter', delimiter)
  return agent.request('/metering/import', { method: 'POST', body: form, headers: { 'x-csrf-token': await agent.csrf('/'), 'sec-fetch-site': 'same-origin' } })
}

const counts = (html: string) => Object.fromEntries([...html.matchAll(/data-count="(\w+)">(\d+)</g)].map((m) => [m[1], Number(m[2])]))
const lines = (html: string) => [...html.matchAll(/data-line="(\d+)"/g)].map((m) => Number(m[1]))

test('the RFC 4180 reader: quotes, escaped quotes, delimiters and line breaks inside quotes, CRLF, BOM, line numbers', () => {
  const records = [...readCsv('\uFEFFa,b\r\n"x,1","say ""hi"""\r\n\r\n"multi\nline",2\n3,\n', ',')]
  assert.equal(records, [
    { line: 1, cells: ['a', 'b'] }, { line: 2, cells: ['x,1', 'say "hi"'] }, { line: 4, cells: ['multi\nline', '2'] }, { line: 6, cells: ['3', ''] },
  ])
  assert.equal([...readCsv('a|b\n"1|2"|3', '|')].map((r) => r.cells), [['a', 'b'], ['1|2', '3']])
  assert.throws(() => [...readCsv('a\n"open', ',')], /line 2: a quoted field is not closed/)
})

test('the operator imports a file: valid rows stored (old ones too), every bad row reported by its line', async () => {
  const op = await signedIn(rt.app, ADMIN.operator)
  const page = await op.get('/metering/import')
  assert.is(page.status, 200)
  assert.match(await page.text(), 'type="file" name="file"')
  const future = new Date(Date.now() + 3600_000).toISOString()
  const csv = [
    'idempotency_key,subscription_id,meter,quantity,timestamp,properties',
    `imp-1,${sub},vcpu-hours,1.5,2023-01-15T10:00:00Z,`,
    `imp-2,${sub},vcpu-hours,abc,2023-01-15T10:00:00Z,`,
    `"imp-3",${sub},egress-gb,"2.5",2023-01-16T10:00:00+02:00,"{""vm"":""web, 1""}"`,
    `imp-4,${sub},licence-seats,1,2023-01-16T10:00:00Z,`,
    `imp-5,${betaSub + 1000},vcpu-hours,1,2023-01-16T10:00:00Z,`,
    `imp-6,${sub},vcpu-hours,1,${future},`,
    `imp-1,${sub},vcpu-hours,1.5,2023-01-15T10:00:00Z,`,
    `imp-1,${sub},vcpu-hours,9,2023-01-15T10:00:00Z,`,
    `imp-7,${sub},vcpu-hours,2,2023-01-17T10:00:00Z,"{""note"":`,
    `""two lines""}"`,
    `imp-8,${sub},vcpu-hours,1`,
    `imp-9,${sub},vcpu-hours,-1,2023-01-17T10:00:00Z,`,
    `imp-10,${sub},vcpu-hours,1,not a time,`,
  ].join('\r\n')
  const res = await upload(op, csv)
  assert.is(res.status, 200)
  const html = await res.text()
  assert.equal(counts(html), { rows: 12, accepted: 3, duplicates: 1, errors: 8 })
  assert.equal(lines(html), [3, 5, 6, 7, 9, 12, 13, 14])
  assert.match(html, 'plain decimal')
  assert.match(html, 'not priced on the plan')
  assert.match(html, 'does not exist, or you cannot see it')
  assert.match(html, 'in the future')
  assert.match(html, 'already used for a different event')
  assert.match(html, 'expected 6 columns, found 4')
  const stored = await db().selectFrom('usage_events').select(['idempotency_key', 'quantity', 'source', 'properties', 'occurred_at']).where('idempotency_key', 'like', 'imp-%').orderBy('id').execute()
  assert.equal(stored.map((e) => e.idempotency_key), ['imp-1', 'imp-3', 'imp-7'])
  assert.equal(stored[2]!.properties, { note: 'two lines' })
  assert.ok(stored.every((e) => e.source === 'import'))
  assert.equal(stored[1]!.properties, { vm: 'web, 1' })
  assert.equal(stored[1]!.occurred_at, new Date('2023-01-16T08:00:00Z'))
  const audit = await db().selectFrom('audit_log').selectAll().where('subject', '=', 'UsageEvent').where('action', '=', 'import').execute()
  assert.is(audit.length, 1)
  assert.is(audit[0]!.org_id, tree.operator.id)
  await rollUpUsage(db())
  const month = await db().selectFrom('usage_monthly').select('quantity').where('subscription_id', '=', sub).where('month', '=', '2023-01-01')
    .where('meter_id', '=', catalog.meters['vcpu-hours']!).executeTakeFirstOrThrow()
  assert.is(month.quantity, '3.500000')
})

test('pipe-delimited files, a wrong header, an empty file, a missing file', async () => {
  const op = await signedIn(rt.app, ADMIN.operator)
  const piped = `timestamp|meter|quantity|subscription_id|idempotency_key\n2023-02-01T00:00:00Z|sms|3|${sub}|pipe-1\n`
  assert.equal(counts(await (await upload(op, piped, 'pipe')).text()), { rows: 1, accepted: 1, duplicates: 0, errors: 0 })
  const wrong = await (await upload(op, piped, 'comma')).text()
  assert.match(wrong, 'the header must name the columns')
  assert.match(wrong, 'delimiter')
  assert.match(await (await upload(op, 'idempotency_key,subscription_id,meter,quantity,timestamp,colour\n')).text(), 'unknown: colour')
  const empty = await upload(op, '')
  assert.is(empty.status, 422)
  assert.match(await empty.text(), 'Choose a CSV file')
})

test('only the operator imports: resellers and customers get 403 and nothing is stored', async () => {
  for (const email of [ADMIN.alpha, ADMIN.alphaCustomer]) {
    const agent = await signedIn(rt.app, email)
    assert.is((await agent.get('/metering/import')).status, 403, email)
    const res = await upload(agent, `idempotency_key,subscription_id,meter,quantity,timestamp\nreseller-1,${sub},sms,1,2023-01-01T00:00:00Z\n`)
    assert.is(res.status, 403, email)
    assert.not.match(await (await agent.get('/metering')).text(), 'Import CSV')
  }
  assert.is((await db().selectFrom('usage_events').select('id').where('idempotency_key', '=', 'reseller-1').execute()).length, 0)
})

test('/metering lists the subtree\'s events with filters and paging, and shows the rollup lag', async () => {
  // The rollup job would fold the new events in the background, racing the page that should show
  // them waiting: this test rolls them up itself.
  await rt.boss.offWork(ROLLUP_QUEUE, { wait: true })
  const op = await signedIn(rt.app, ADMIN.operator)
  await upload(op, ['idempotency_key,subscription_id,meter,quantity,timestamp', `beta-1,${betaSub},sms,7,2023-03-01T00:00:00Z`, `lag-1,${sub},sms,1,2023-03-01T00:00:00Z`].join('\n'))
  const opPage = await (await op.get('/metering')).text()
  assert.match(opPage, 'beta-1')
  assert.match(opPage, 'Rollup lag')
  await rollUpUsage(db())
  assert.match(await (await op.get('/metering')).text(), 'Rollups are up to date')
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const alphaPage = await (await alpha.get('/metering')).text()
  assert.match(alphaPage, 'lag-1')
  assert.not.match(alphaPage, 'beta-1')
  assert.not.match(alphaPage, tree.betaCustomer.name)
  const filtered = await (await op.get(`/metering?subscription=${betaSub}&meter=sms`)).text()
  assert.match(filtered, 'beta-1')
  assert.not.match(filtered, 'lag-1')
  const fragment = await op.get('/metering?meter=sms', { 'hx-request': 'true' })
  assert.not.match(await fragment.text(), '<html')
  assert.match(await (await op.get('/metering?subscription=abc')).text(), 'The filter is not valid')
})

test('the import-usage and create-token commands', async () => {
  if (onPostgres) return // the commands open their own database; once (on a PGlite data directory) is enough
  const dir = mkdtempSync(join(tmpdir(), 'll-cli-'))
  const env = { ...process.env, DATA_DIR: dir, DATABASE_URL: '', LOG_LEVEL: 'silent', DEMO_DATA: 'false', SESSION_SECRET: 'x'.repeat(32) }
  const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'cli.ts', ...args], { env, encoding: 'utf8', timeout: 120_000 })
  assert.is(cli('migrate').status, 0)
  const opened = await openDatabase({ dataDir: dir })
  let cliSub: number
  let t: Tree
  try {
    t = await seedTree(opened.db)
    const c = await seedCatalog(opened.db, t.operator.id)
    cliSub = await addSubscription(opened.db, t.alphaCustomer.id, c.plans.payg!)
  } finally {
    await opened.close()
  }
  const file = join(dir, 'usage.csv')
  writeFileSync(file, `idempotency_key|subscription_id|meter|quantity|timestamp\ncli-1|${cliSub}|sms|4|2022-06-01T00:00:00Z\ncli-2|${cliSub}|sms|x|2022-06-01T00:00:00Z\n`)
  const run = cli('import-usage', '--file', file, '--delimiter', 'pipe')
  assert.is(run.status, 1, run.stderr)
  assert.match(run.stdout, 'line 3: quantity must be a plain decimal')
  assert.match(run.stdout, '2 rows read: 1 stored, 0 duplicates, 1 with errors; 1 events rolled up')
  assert.match(run.stderr, '1 row(s) were not imported')

  const token = cli('create-token', '--email', ADMIN.alpha, '--name', 'Platform', '--org', 'Alpha Customer')
  assert.is(token.status, 0, token.stderr)
  assert.match(token.stdout, 'scoped to "Alpha Customer"')
  assert.match(token.stdout, /token \(shown once\): llt_[A-Za-z0-9_-]{43}/)
  const outside = cli('create-token', '--email', ADMIN.alpha, '--name', 'Nope', '--org', 'Beta Customer')
  assert.is(outside.status, 1)
  assert.match(outside.stderr, 'inside the subtree')
  const reopened = await openDatabase({ dataDir: dir })
  try {
    const row = await reopened.db.selectFrom('api_tokens').select(['org_id', 'name']).where('name', '=', 'Platform').executeTakeFirstOrThrow()
    assert.is(row.org_id, t!.alphaCustomer.id)
    const daily = await reopened.db.selectFrom('usage_daily').select('quantity').where('subscription_id', '=', cliSub!).executeTakeFirstOrThrow()
    assert.is(daily.quantity, '4.000000')
  } finally {
    await reopened.close()
  }
})

test.run()
