import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { sql } from 'kysely'
import { grantSystemRole } from '../../core/access/roles.ts'
import type { AuditEntryJson } from '../../core/api/audit.ts'
import { recordAudit } from '../../core/audit/audit.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { addRole, addUser, ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite(`audit log (${dbLabel})`)

let rt: TestRuntime
let tree: Tree
let gammaId: number
let formulaOrgId: number
let opEditId: string
const READER = 'audit-reader@test.example'
const NO_AUDIT = 'no-audit@test.example'
const GAMMA_ADMIN = 'gamma-admin@test.example'
const FORMULA = '=HYPERLINK("x")'
const TAGGED = '<i>Tag</i> Co'
/** Updates of alphaSubCustomer, so alpha has more than one page (50 rows). */
const BULK_EDITS = 52

interface AuditList { entries: AuditEntryJson[]; next: string | null }

function orgForm(values: Record<string, string>): Record<string, string> {
  return { billingEmail: '', currency: 'EUR', status: 'active', ...values }
}

async function createdOrgId(res: Response): Promise<number> {
  assert.is(res.status, 303, `create answered ${res.status}: ${res.status === 303 ? '' : await res.text()}`)
  return Number(/^\/organisations\/(\d+)$/.exec(res.headers.get('location') ?? '')?.[1])
}

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  const op = await as(ADMIN.operator)
  const alpha = await as(ADMIN.alpha)
  const beta = await as(ADMIN.beta)

  // The operator changes something in alpha's customer: alpha must see it, but not who did it.
  const opEdit = await op.postForm(`/organisations/${tree.alphaCustomer.id}`, orgForm({ name: 'Alpha Customer', billingEmail: 'accounts@alpha-customer.example' }))
  assert.is(opEdit.status, 303)
  gammaId = await createdOrgId(await alpha.postForm('/organisations', orgForm({ kind: 'customer', name: 'Gamma Customer', parentId: String(tree.alpha.id) })))
  formulaOrgId = await createdOrgId(await alpha.postForm('/organisations', orgForm({ kind: 'customer', name: FORMULA, parentId: String(tree.alpha.id) })))
  await createdOrgId(await alpha.postForm('/organisations', orgForm({ kind: 'customer', name: TAGGED, parentId: String(tree.alpha.id) })))
  assert.is((await alpha.postForm(`/organisations/${tree.alphaSub.id}`, orgForm({ name: 'Alpha Sub Reseller', currency: 'USD' }))).status, 303)
  await createdOrgId(await beta.postForm('/organisations', orgForm({ kind: 'customer', name: 'Beta New Customer', parentId: String(tree.beta.id) })))
  const role = await alpha.postForm('/roles', { name: 'Audit reader', description: 'Reads the audit log', manages: 'list', permissions: 'AuditLog:read' })
  assert.is(role.status, 303, 'role created through the roles page')

  const token = await alpha.csrf('/')
  for (let i = 0; i < BULK_EDITS; i++) {
    const res = await alpha.postForm(`/organisations/${tree.alphaSubCustomer.id}`, orgForm({ name: 'Alpha Sub Customer', currency: i % 2 ? 'EUR' : 'GBP' }), { csrf: token })
    assert.is(res.status, 303)
  }

  // A job's change: no person behind it.
  const system = new ScopedDb(rt.database.db, { orgId: tree.operator.id, path: tree.operator.path })
  await system.transaction((trx) => recordAudit(trx, { orgId: tree.alphaCustomer.id, action: 'suspend', subject: 'Organisation', subjectId: tree.alphaCustomer.id, summary: 'Suspension checked by the billing job' }))

  // Two dates in the past for the date filters: the operator's edit and alpha's edit of alphaSub.
  const db = rt.database.db
  const opRow = await db.selectFrom('audit_log').select('id').where('org_id', '=', tree.alphaCustomer.id).where('action', '=', 'update').executeTakeFirstOrThrow()
  opEditId = String(opRow.id)
  await sql`update audit_log set at = '2024-01-15T10:00:00Z' where id = ${opEditId}`.execute(db)
  await sql`update audit_log set at = '2024-01-31T23:59:59.5Z' where org_id = ${tree.alphaSub.id} and action = 'update'`.execute(db)

  // A custom role that may read but not export the audit log; a user without the audit log at all.
  const readerRole = (await db.selectFrom('roles').select('id').where('name', '=', 'Audit reader').executeTakeFirstOrThrow()).id
  await addUser(db, tree.alpha.id, READER, { roleIds: [readerRole] })
  await addUser(db, tree.alpha.id, NO_AUDIT, { roleIds: [await addRole(db, tree.alpha.id, 'Organisation viewer')] })
  await grantSystemRole(db, [await addUser(db, gammaId, GAMMA_ADMIN)], 'customer_admin')
})

test.after(async () => {
  await rt?.dispose()
})

// ---- helpers ---------------------------------------------------------------------------------

const agents = new Map<string, Promise<Agent>>()
/** One signed-in agent per user for the whole file: signing in (scrypt) is the slow part. */
function as(email: string): Promise<Agent> {
  let agent = agents.get(email)
  if (!agent) agents.set(email, agent = signedIn(rt.app, email))
  return agent
}

async function list(agent: Agent, query = ''): Promise<AuditList> {
  const res = await agent.get(`/api/v1/audit-log${query ? `?${query}` : ''}`)
  assert.is(res.status, 200, `GET /api/v1/audit-log?${query} answered ${res.status}`)
  return (await res.json()) as AuditList
}

/** Every entry, following the cursor. */
async function all(agent: Agent, query = ''): Promise<AuditEntryJson[]> {
  const out: AuditEntryJson[] = []
  let before: string | null = null
  do {
    const page: AuditList = await list(agent, [query, 'limit=200', before ? `before=${before}` : ''].filter(Boolean).join('&'))
    out.push(...page.entries)
    before = page.next
  } while (before)
  return out
}

function subtreeIds(...roots: (keyof Tree)[]): Set<number> {
  const paths = roots.map((r) => tree[r].path)
  const ids = new Set<number>()
  for (const org of Object.values(tree)) if (paths.some((p) => org.path.startsWith(p))) ids.add(org.id)
  return ids
}

/** A minimal RFC 4180 reader for the tests (quoted cells, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++ } else if (ch === '"') quoted = false
      else cell += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') { row.push(cell); cell = '' } else if (ch === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++ } else cell += ch
  }
  if (cell || row.length) { row.push(cell); rows.push(row) }
  return rows
}

const rowIds = (html: string) => [...html.matchAll(/<tr data-audit-id="(\d+)">/g)].map((m) => m[1]!)
const olderLink = (html: string) => /<a href="(\/audit\?[^"]*before=\d+[^"]*)"/.exec(html)?.[1]?.replaceAll('&amp;', '&')

// ---- scope -----------------------------------------------------------------------------------

test('the operator sees every entry, newest first', async () => {
  const entries = await all(await as(ADMIN.operator))
  const { n } = await rt.database.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  assert.is(entries.length, Number(n))
  for (let i = 1; i < entries.length; i++) {
    const [a, b] = [entries[i - 1]!, entries[i]!]
    assert.ok(a.at > b.at || (a.at === b.at && BigInt(a.id) > BigInt(b.id)), `entry ${i} out of order`)
  }
  const opEdit = entries.find((e) => e.id === opEditId)!
  assert.equal(opEdit.actor, { email: ADMIN.operator, userId: opEdit.actor && 'userId' in opEdit.actor ? opEdit.actor.userId : -1 })
  assert.type((opEdit.actor as { userId: number }).userId, 'number')
})

test('alpha\'s admin sees only its subtree, including the operator\'s change in its customer', async () => {
  const entries = await all(await as(ADMIN.alpha))
  const allowed = subtreeIds('alpha')
  for (const id of [gammaId, formulaOrgId]) allowed.add(id)
  const tagged = await rt.database.db.selectFrom('organisations').select('id').where('name', '=', TAGGED).executeTakeFirstOrThrow()
  allowed.add(tagged.id)
  assert.ok(entries.length > BULK_EDITS)
  for (const e of entries) assert.ok(allowed.has(e.orgId), `entry ${e.id} of organisation ${e.orgId} is outside alpha's subtree`)
  assert.ok(entries.some((e) => e.id === opEditId))
  assert.ok(entries.some((e) => e.subject === 'Role' && e.action === 'create'))
})

test('beta sees none of alpha\'s entries and no alpha name anywhere', async () => {
  const beta = await as(ADMIN.beta)
  const entries = await all(beta)
  assert.ok(entries.length >= 1)
  const allowed = subtreeIds('beta')
  for (const e of entries) assert.ok(allowed.has(e.orgId) || e.summary.includes('Beta New Customer'), `entry ${e.id} is outside beta's subtree`)
  const html = await (await beta.get('/audit')).text()
  const csv = await (await beta.get('/audit/export.csv')).text()
  for (const body of [JSON.stringify(entries), html, csv]) {
    assert.not.ok(body.includes('Alpha'), 'no alpha name')
    assert.not.ok(body.includes(ADMIN.alpha), 'no alpha email')
  }
})

test('the operator\'s change reaches alpha with the actor masked: page, JSON and CSV', async () => {
  const alpha = await as(ADMIN.alpha)
  const entries = await all(alpha)
  const opEdit = entries.find((e) => e.id === opEditId)!
  assert.equal(opEdit.actor, { external: true })
  assert.is(opEdit.summary, 'Organisation "Alpha Customer" changed')
  const html = await (await alpha.get('/audit?from=2024-01-15&to=2024-01-15')).text()
  assert.ok(rowIds(html).includes(opEditId))
  assert.ok(html.includes('An administrator of your provider'))
  const csv = await (await alpha.get('/audit/export.csv')).text()
  assert.ok(csv.includes('An administrator of your provider'))
  for (const body of [JSON.stringify(entries), html, csv, await (await alpha.get('/audit')).text()]) {
    assert.not.ok(body.includes(ADMIN.operator), 'the operator\'s email is not shown')
    assert.not.ok(body.includes('Test Operator'), 'the operator\'s name is not shown')
  }
  // The system's change shows as System, with a null actor.
  const system = entries.find((e) => e.action === 'suspend')!
  assert.is(system.actor, null)
  assert.match(html, /<td class="muted">An administrator of your provider<\/td>/)
})

test('a customer admin sees only its own organisation\'s entries, with its provider masked', async () => {
  const customer = await as(ADMIN.alphaCustomer)
  const entries = await all(customer)
  assert.equal([...new Set(entries.map((e) => e.orgId))], [tree.alphaCustomer.id])
  assert.equal(entries.map((e) => e.action).sort(), ['suspend', 'update'])
  const edit = entries.find((e) => e.action === 'update')!
  // The parent (alpha) is outside the customer's subtree: its id is not shown.
  assert.is((edit.before as { parentId: unknown }).parentId, null)
  assert.is((edit.after as { billingEmail: unknown }).billingEmail, 'accounts@alpha-customer.example')

  const gamma = await all(await as(GAMMA_ADMIN))
  assert.is(gamma.length, 1)
  const created = gamma[0]!
  assert.is(created.action, 'create')
  assert.is(created.before, null)
  assert.is((created.after as { name: string }).name, 'Gamma Customer')
  assert.is((created.after as { parentId: unknown }).parentId, null)
  assert.is(created.summary, 'Customer "Gamma Customer" created under your provider')
  assert.equal(created.actor, { external: true })
})

test('the creation of an organisation carries its name in `after`, shown in the changes table', async () => {
  const alpha = await as(ADMIN.alpha)
  const created = (await all(alpha, 'subject=Organisation&action=create')).find((e) => e.subjectId === String(gammaId))!
  assert.is(created.before, null)
  assert.is((created.after as { name: string }).name, 'Gamma Customer')
  assert.is((created.after as { parentId: number }).parentId, tree.alpha.id)
  assert.equal(created.actor, { email: ADMIN.alpha, userId: (created.actor as { userId: number }).userId })
  const html = await (await alpha.get('/audit?action=create&subject=Organisation')).text()
  assert.match(html, /<details><summary>\d+ changes<\/summary>/)
  assert.ok(html.includes('<tr><th scope="row">name</th><td></td><td>Gamma Customer</td></tr>'))
  // Values are text, never markup.
  assert.ok(html.includes('&lt;i&gt;Tag&lt;/i&gt; Co'))
  assert.not.ok(html.includes(TAGGED))
  // An update lists only what changed.
  const edit = await (await alpha.get(`/audit?org=${tree.alphaSub.id}`)).text()
  assert.ok(edit.includes('<tr><th scope="row">currency</th><td>EUR</td><td>USD</td></tr>'))
  assert.not.ok(edit.includes('<th scope="row">name</th>'))
  assert.match(edit, /<time datetime="2024-01-31T23:59:59\.\d{3}Z">2024-01-31 23:59:59<\/time>/)
})

// ---- filters ---------------------------------------------------------------------------------

test('the actor filter matches an email in the subtree, the system, or the provider; never a foreign email', async () => {
  const op = await as(ADMIN.operator)
  const byAlpha = await all(op, `actor=${encodeURIComponent(ADMIN.alpha)}`)
  assert.ok(byAlpha.length > BULK_EDITS)
  for (const e of byAlpha) assert.equal(e.actor, { email: ADMIN.alpha, userId: (e.actor as { userId: number }).userId })
  assert.is((await all(op, `actor=${encodeURIComponent(ADMIN.alpha.toUpperCase())}`)).length, byAlpha.length)
  assert.equal((await all(op, 'actor=system')).map((e) => e.action), ['suspend'])

  const alpha = await as(ADMIN.alpha)
  assert.is((await all(alpha, `actor=${encodeURIComponent(ADMIN.operator)}`)).length, 0, 'alpha cannot probe for the operator\'s email')
  assert.equal((await all(alpha, 'actor=provider')).map((e) => e.id), [opEditId])
})

test('the organisation filter narrows to one organisation, or to it and below', async () => {
  const op = await as(ADMIN.operator)
  const one = await all(op, `org=${tree.alphaSub.id}`)
  assert.is(one.length, 1)
  assert.is(one[0]!.orgId, tree.alphaSub.id)
  const below = await all(op, `org=${tree.alphaSub.id}&subtree=1`)
  assert.equal([...new Set(below.map((e) => e.orgId))].sort(), [tree.alphaSub.id, tree.alphaSubCustomer.id].sort())
  assert.is(below.length, 1 + BULK_EDITS)
  const alphaAll = await all(await as(ADMIN.alpha))
  assert.is((await all(op, `org=${tree.alpha.id}&subtree=1`)).length, alphaAll.length)
  // Someone else's organisation is a bad parameter, answered the same as one that does not exist.
  const alpha = await as(ADMIN.alpha)
  for (const id of [tree.beta.id, 99999999]) {
    const res = await alpha.get(`/api/v1/audit-log?org=${id}`)
    assert.is(res.status, 400)
    const text = await res.text()
    assert.is((JSON.parse(text) as { error: { fields: Record<string, string> } }).error.fields.org, 'Choose an organisation in your subtree')
    assert.not.ok(text.includes('Beta'))
  }
})

test('the subject and action filters', async () => {
  const op = await as(ADMIN.operator)
  const roles = await all(op, 'subject=Role')
  assert.ok(roles.length >= 1)
  for (const e of roles) assert.is(e.subject, 'Role')
  const orgs = await all(op, 'subject=Organisation')
  assert.ok(orgs.length > BULK_EDITS)
  for (const e of orgs) assert.is(e.subject, 'Organisation')
  const creates = await all(op, 'action=create&subject=Organisation')
  assert.equal(creates.map((e) => (e.after as { name: string }).name).sort(), [TAGGED, FORMULA, 'Beta New Customer', 'Gamma Customer'].sort())
  for (const e of await all(op, 'action=update')) assert.is(e.action, 'update')
})

test('the date filter takes whole UTC days, both ends inclusive', async () => {
  const op = await as(ADMIN.operator)
  const january = await all(op, 'from=2024-01-15&to=2024-01-31')
  assert.equal(january.map((e) => e.orgId), [tree.alphaSub.id, tree.alphaCustomer.id])
  assert.equal((await all(op, 'from=2024-01-16&to=2024-01-31')).map((e) => e.orgId), [tree.alphaSub.id])
  assert.equal((await all(op, 'to=2024-01-30')).map((e) => e.id), [opEditId])
  assert.equal((await all(op, 'from=2024-01-15&to=2024-01-15')).map((e) => e.id), [opEditId])
  const recent = await all(op, 'from=2024-02-01')
  assert.not.ok(recent.some((e) => e.at < '2024-02-01'))
})

test('a bad filter is a 400 naming the field, on the page and in JSON, never a 500', async () => {
  const alpha = await as(ADMIN.alpha)
  const cases: [string, string][] = [
    ['from=2024-02-30', 'from'], ['to=yesterday', 'to'], ['from=2024-03-01&to=2024-02-01', 'to'],
    ['limit=0', 'limit'], ['limit=201', 'limit'], ['before=abc', 'before'], ['org=x', 'org'], ['subject=<b>', 'subject'],
  ]
  for (const [query, field] of cases) {
    const api = await alpha.get(`/api/v1/audit-log?${query}`)
    assert.is(api.status, 400, query)
    const body = (await api.json()) as { error: { message: string; fields: Record<string, string> } }
    assert.ok(body.error.fields[field], `${query}: fields.${field}`)
    assert.match(body.error.message, `"${field}"`)
  }
  const page = await alpha.get('/audit?from=2024-02-30')
  assert.is(page.status, 400)
  const html = await page.text()
  assert.match(html, /<strong>from<\/strong>: Use a date like 2025-12-31/)
  assert.match(html, /<input type="date" name="from" value="2024-02-30"/)
  const fragment = await alpha.get('/audit?to=nope', { 'HX-Request': 'true', 'HX-Target': 'div#audit-results' })
  assert.is(fragment.status, 400)
  assert.match(await fragment.text(), /<strong>to<\/strong>/)
  // A cursor from outside the subtree is refused like a malformed one.
  const betaRow = await rt.database.db.selectFrom('audit_log').select('id').where('summary', 'like', '%Beta New Customer%').executeTakeFirstOrThrow()
  assert.is((await alpha.get(`/api/v1/audit-log?before=${betaRow.id}`)).status, 400)
  assert.is((await alpha.get('/audit/export.csv?from=2024-13-01')).status, 400)
})

// ---- paging ----------------------------------------------------------------------------------

test('JSON pages are disjoint, in order, and together are everything', async () => {
  const alpha = await as(ADMIN.alpha)
  const everything = (await list(alpha, 'limit=200')).entries.map((e) => e.id)
  const seen: string[] = []
  let next: string | null = null
  let pages = 0
  do {
    const page: AuditList = await list(alpha, `limit=7${next ? `&before=${next}` : ''}`)
    assert.ok(page.entries.length <= 7)
    seen.push(...page.entries.map((e) => e.id))
    next = page.next
    pages++
  } while (next)
  assert.is(pages, Math.ceil(everything.length / 7))
  assert.equal(seen, everything)
  assert.is(new Set(seen).size, seen.length)
  assert.is((await list(alpha)).entries.length, 50)
})

test('the page shows 50 rows and an "Older" link; the next page is a disjoint continuation', async () => {
  const alpha = await as(ADMIN.alpha)
  const res = await alpha.get('/audit?subject=Organisation')
  assert.is(res.status, 200)
  const html = await res.text()
  assert.match(html, /<form class="toolbar audit-filters" method="get" action="\/audit"[^>]*hx-push-url="true"/)
  const first = rowIds(html)
  assert.is(first.length, 50)
  const older = olderLink(html)!
  assert.match(older, /subject=Organisation/)
  assert.match(older, `before=${first[49]}`)
  // The swap gets only the results, with the same rows the full page would show.
  const fragment = await alpha.get(older, { 'HX-Request': 'true', 'HX-Target': 'div#audit-results' })
  assert.is(fragment.status, 200)
  const part = await fragment.text()
  assert.not.match(part, '<html')
  assert.not.match(part, 'audit-filters')
  assert.match(part, /^<title>Audit log · Ledgerlite<\/title>(?:<[^>]+>)*?<div id="audit-results">/)
  const second = rowIds(part)
  assert.ok(second.length > 0)
  assert.equal(second, rowIds(await (await alpha.get(older)).text()))
  for (const id of second) assert.not.ok(first.includes(id), `row ${id} on both pages`)
  const expected = (await all(alpha, 'subject=Organisation')).map((e) => e.id)
  assert.equal([...first, ...second], expected)
  assert.is(olderLink(part), undefined, 'no "Older" link on the last page')
  assert.match(part, /<a href="\/audit\?subject=Organisation"[^>]*>Newest<\/a>/)
})

// ---- permissions and export ------------------------------------------------------------------

test('reading needs read AuditLog; a user without it gets 403 and no menu entry', async () => {
  const none = await as(NO_AUDIT)
  assert.is((await none.get('/audit')).status, 403)
  assert.is((await none.get('/api/v1/audit-log')).status, 403)
  assert.is((await none.get('/audit/export.csv')).status, 403)
  assert.not.match(await (await none.get('/')).text(), 'href="/audit"')
})

test('export needs export AuditLog: a reader without it sees the log but gets 403 on the CSV', async () => {
  const reader = await as(READER)
  const page = await reader.get('/audit')
  assert.is(page.status, 200)
  const html = await page.text()
  assert.is(rowIds(html).length, 50)
  assert.not.match(html, 'export.csv')
  const res = await reader.get('/audit/export.csv')
  assert.is(res.status, 403)
  assert.not.match(res.headers.get('content-type') ?? '', 'text/csv')
  assert.match(await (await as(ADMIN.alpha)).get('/audit').then((r) => r.text()), 'href="/audit/export.csv"')
})

test('the CSV export: only rows in scope, every row of the filter, formulas neutralised', async () => {
  const alpha = await as(ADMIN.alpha)
  const res = await alpha.get('/audit/export.csv')
  assert.is(res.status, 200)
  assert.is(res.headers.get('content-type'), 'text/csv; charset=utf-8')
  assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="audit-log-\d{4}-\d{2}-\d{2}\.csv"$/)
  const text = await res.text()
  const rows = parseCsv(text)
  assert.equal(rows[0], ['id', 'at', 'organisation_id', 'organisation', 'actor', 'action', 'subject', 'subject_id', 'summary', 'before', 'after'])
  const expected = await all(alpha)
  assert.equal(rows.slice(1).map((r) => r[0]), expected.map((e) => e.id))
  // The organisation cell of the formula-named customer starts with a quote, and is quoted itself.
  assert.ok(text.includes(`,"'${FORMULA.replaceAll('"', '""')}",`), 'the formula is neutralised')
  const formulaRow = rows.find((r) => r[2] === String(formulaOrgId))!
  assert.is(formulaRow[3], `'${FORMULA}`)
  for (const row of rows.slice(1)) for (const cell of row) assert.not.ok(/^[=+\-@\t\r]/.test(cell), `cell ${JSON.stringify(cell)} starts like a formula`)
  const opRow = rows.find((r) => r[0] === opEditId)!
  assert.is(opRow[4], 'An administrator of your provider')
  assert.is(JSON.parse(opRow[10]!).billingEmail, 'accounts@alpha-customer.example')

  const filtered = parseCsv(await (await alpha.get(`/audit/export.csv?org=${tree.alphaSub.id}&subtree=1&action=update`)).text())
  assert.is(filtered.length, 1 + 1 + BULK_EDITS)
  for (const row of filtered.slice(1)) assert.ok([String(tree.alphaSub.id), String(tree.alphaSubCustomer.id)].includes(row[2]!))

  const customer = parseCsv(await (await (await as(ADMIN.alphaCustomer)).get('/audit/export.csv')).text())
  assert.equal(customer.slice(1).map((r) => r[2]), [String(tree.alphaCustomer.id), String(tree.alphaCustomer.id)])
})

test('an API token reads the log with its user\'s scope', async () => {
  const { insertApiToken } = await import('../../core/auth/tokens.ts')
  const user = await rt.database.db.selectFrom('users').select('id').where('email', '=', ADMIN.beta).executeTakeFirstOrThrow()
  const { token } = await insertApiToken(rt.database.db, { orgId: tree.beta.id, userId: user.id, name: 'audit test', expiresAt: null })
  const res = await rt.app.request('/api/v1/audit-log?action=create', { headers: { authorization: `Bearer ${token}` } })
  assert.is(res.status, 200)
  const body = (await res.json()) as AuditList
  assert.equal(body.entries.map((e) => e.summary), ['Customer "Beta New Customer" created under "Beta Reseller"'])
})

test.run()
