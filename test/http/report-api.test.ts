/**
 * The report JSON API through the front door: the catalogue, rows as JSON, streamed downloads in
 * every format with safe headers, `export` needed on every download path (session and bearer
 * token), a reseller's download limited to its subtree, parameter errors naming the key, unknown
 * reports and disallowed formats.
 */
import { parse } from 'csv-parse/sync'
import ExcelJS from 'exceljs'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { insertApiToken } from '../../core/auth/tokens.ts'
import { definePlugin } from '../../core/plugins/define.ts'
import { defineReport } from '../../core/reports/define.ts'
import { insertOrganisation } from '../../core/tenancy/organisations.ts'
import { builtInPlugins } from '../../plugins/index.ts'
import { signedIn, type Agent } from '../support/agent.ts'
import { addRole, addUser, ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`report api (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
let alpha: Agent
let reader: Agent
let readerToken: string
let alphaToken: string

const csvOnly = defineReport({
  id: 'reportapitest.csv-only',
  title: 'CSV only',
  description: 'A report that allows CSV only',
  category: 'Test',
  subject: 'Organisation',
  params: {},
  formats: ['csv'],
  columns: [{ key: 'id', label: 'Id', type: 'integer' }],
  defaultSort: 'id',
  rowKey: ['id'],
  query: ({ db }) => db.organisations().select('organisations.id'),
})
const testPlugin = definePlugin({ id: 'reportapitest', title: 'Report API test', reports: [csvOnly] })

test.before(async () => {
  rt = await testRuntime({ installed: [...builtInPlugins, testPlugin] })
  tree = await seedTree(rt.database.db)
  await insertOrganisation(rt.database.db, tree.alpha, { kind: 'customer', name: '=HYPERLINK("http://x")' })
  alpha = await signedIn(rt.app, ADMIN.alpha)
  const role = await addRole(rt.database.db, tree.alpha.id, 'Report reader', [['Organisation', 'read']])
  const userId = await addUser(rt.database.db, tree.alpha.id, 'reader@test.example', { roleIds: [role] })
  reader = await signedIn(rt.app, 'reader@test.example')
  readerToken = (await insertApiToken(rt.database.db, { orgId: tree.alpha.id, userId, name: 'reader token', expiresAt: null })).token
  const alphaUser = await rt.database.db.selectFrom('users').select('id').where('email', '=', ADMIN.alpha).executeTakeFirstOrThrow()
  alphaToken = (await insertApiToken(rt.database.db, { orgId: tree.alpha.id, userId: alphaUser.id, name: 'alpha token', expiresAt: null })).token
})
test.after(async () => { await rt?.dispose() })

const bearer = (token: string, path: string) => rt.app.request(`http://localhost${path}`, { headers: { authorization: `Bearer ${token}` } })

test('the catalogue lists readable reports with params, columns, formats and canExport', async () => {
  const res = await alpha.get('/api/v1/reports', { accept: 'application/json' })
  assert.is(res.status, 200)
  const { reports } = await res.json() as { reports: any[] }
  const accounts = reports.find((r) => r.id === 'organisations.accounts')
  assert.ok(accounts)
  assert.is(accounts.canExport, true)
  assert.equal(accounts.formats, ['csv', 'xlsx', 'xml'])
  assert.ok(accounts.params.some((p: any) => p.name === 'period' && p.keys.includes('from')))
  assert.ok(accounts.columns.some((c: any) => c.key === 'id' && c.type === 'integer'))
  const asReader = await (await reader.get('/api/v1/reports', { accept: 'application/json' })).json() as { reports: any[] }
  assert.is(asReader.reports.find((r) => r.id === 'organisations.accounts').canExport, false)
})

test('rows as JSON: scoped to the subtree, paged, with totals; errors name the key', async () => {
  const res = await alpha.get('/api/v1/reports/organisations.accounts?pageSize=2&sort=-name', { accept: 'application/json' })
  assert.is(res.status, 200)
  const body = await res.json() as any
  assert.is(body.report.id, 'organisations.accounts')
  assert.is(body.total, 5)
  assert.is(body.rows.length, 2)
  assert.is(body.sort, '-name')
  assert.is(body.query, 'sort=-name')
  assert.ok(body.params.period.from && body.params.period.to)
  assert.not.ok(JSON.stringify(body).includes('Beta'))
  const bad = await alpha.get('/api/v1/reports/organisations.accounts?period=fortnight', { accept: 'application/json' })
  assert.is(bad.status, 400)
  assert.match(JSON.stringify(await bad.json()), 'period')
  const foreign = await alpha.get(`/api/v1/reports/organisations.accounts?org=${tree.betaCustomer.id}`, { accept: 'application/json' })
  assert.is(foreign.status, 400)
  assert.is((await alpha.get('/api/v1/reports/organisations.nope', { accept: 'application/json' })).status, 404)
  assert.is((await alpha.get('/api/v1/reports/organisations.nope.csv', { accept: 'application/json' })).status, 404)
})

test('downloads in every format with safe headers, scoped, formulas neutralised', async () => {
  const name = 'Q1 "all"\r\nSet-Cookie: x=1 Umsätze/../'
  const res = await alpha.get(`/api/v1/reports/organisations.accounts.csv?delimiter=pipe&bom=1&name=${encodeURIComponent(name)}`)
  assert.is(res.status, 200)
  assert.is(res.headers.get('content-type'), 'text/csv; charset=utf-8')
  assert.is(res.headers.get('cache-control'), 'no-store')
  assert.is(res.headers.get('x-content-type-options'), 'nosniff')
  const disposition = res.headers.get('content-disposition')!
  assert.match(disposition, /^attachment; filename="[^"\r\n]*\.csv"; filename\*=UTF-8''[^\s"]+\.csv$/)
  // Response.text() drops a BOM: decode by hand to see it.
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await res.arrayBuffer())
  assert.ok(text.startsWith('\uFEFFId|Organisation|'), text.slice(0, 20))
  const records = parse(text.slice(1), { delimiter: '|' }) as string[][]
  assert.is(records.length, 1 + 5)
  assert.ok(records.some((r) => r[1] === `'=HYPERLINK("http://x")`))
  assert.not.ok(text.includes('Beta'))
  const json = await (await alpha.get('/api/v1/reports/organisations.accounts?pageSize=500', { accept: 'application/json' })).json() as any
  assert.equal(records.slice(1).map((r) => Number(r[0])), json.rows.map((r: any) => r.id))

  const xlsx = await alpha.get('/api/v1/reports/organisations.accounts.xlsx')
  assert.is(xlsx.status, 200)
  const workbook = new ExcelJS.Workbook()
  await workbook.xlsx.load(await xlsx.arrayBuffer())
  assert.is(workbook.worksheets[0]!.rowCount, 1 + 5)
  const xml = await alpha.get('/api/v1/reports/organisations.accounts.xml')
  assert.is(xml.status, 200)
  const xmlText = await xml.text()
  assert.match(xmlText, '<name>=HYPERLINK(&quot;http://x&quot;)</name>')
  assert.not.ok(xmlText.includes('Beta'))
  const token = await bearer(alphaToken, '/api/v1/reports/organisations.accounts.csv')
  assert.is(token.status, 200)
  assert.not.ok((await token.text()).includes('Beta'))
})

test('no export permission: 403 on every download path, by session and by token; format not allowed: 400', async () => {
  for (const format of ['csv', 'xlsx', 'xml']) {
    assert.is((await reader.get(`/api/v1/reports/organisations.accounts.${format}`)).status, 403, format)
    assert.is((await bearer(readerToken, `/api/v1/reports/organisations.accounts.${format}`)).status, 403, format)
  }
  assert.is((await reader.get('/api/v1/reports/organisations.accounts', { accept: 'application/json' })).status, 200)
  const xml = await alpha.get('/api/v1/reports/reportapitest.csv-only.xml', { accept: 'application/json' })
  assert.is(xml.status, 400)
  assert.match(JSON.stringify(await xml.json()), 'format')
  assert.is((await alpha.get('/api/v1/reports/reportapitest.csv-only.csv')).status, 200)
})

test.run()
