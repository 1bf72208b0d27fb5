import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { hashToken } from '../../core/auth/sessions.ts'
import { BAD_LOGIN } from '../../core/auth/routes.tsx'
import { Agent, signedIn } from '../support/agent.ts'
import { ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const POLICY = { account: { maxFailures: 3, windowSeconds: 900, lockSeconds: 900 }, address: { maxFailures: 7, windowSeconds: 900, lockSeconds: 900 } }

const auth = suite<{ rt: TestRuntime; tree: Tree }>(`auth (${dbLabel})`)
auth.before(async (ctx) => {
  ctx.rt = await testRuntime({ throttle: POLICY })
  ctx.tree = await seedTree(ctx.rt.database.db)
})
auth.after(async (ctx) => { await ctx.rt.dispose() })
auth.before.each(async ({ rt }) => { await rt.database.db.deleteFrom('login_throttle').execute() })

const cookieLine = (agent: Agent, name: string) => agent.setCookies.filter((l) => l.startsWith(`${name}=`)).at(-1) ?? ''

auth('the login page carries a CSRF token and security headers', async ({ rt }) => {
  const res = await rt.app.request('/login')
  assert.is(res.status, 200)
  const html = await res.text()
  assert.match(html, /<meta name="csrf-token" content="[A-Za-z0-9_-]{43}"/)
  const csp = res.headers.get('content-security-policy') ?? ''
  assert.match(csp, /script-src 'self'(;|$)/)
  assert.match(csp, /frame-ancestors 'none'/)
  assert.is(res.headers.get('x-content-type-options'), 'nosniff')
  assert.ok(res.headers.get('x-request-id'))
})

auth('a good login sets an HttpOnly, SameSite=Lax session cookie and stores only its hash', async ({ rt, tree }) => {
  const agent = new Agent(rt.app)
  const res = await agent.login(ADMIN.alpha)
  assert.is(res.status, 303)
  assert.is(res.headers.get('location'), '/')
  const line = cookieLine(agent, 'll_session')
  assert.match(line, /HttpOnly/i)
  assert.match(line, /SameSite=Lax/i)
  assert.match(line, /Path=\//)
  assert.not.match(line, /Secure/i)
  const token = agent.cookies.get('ll_session')!
  const rows = await rt.database.db.selectFrom('sessions').select(['id', 'user_id']).execute()
  assert.ok(rows.some((r) => r.id === hashToken(token)))
  assert.not.ok(rows.some((r) => r.id === token))
  const home = await agent.get('/')
  assert.is(home.status, 200)
  assert.match(await home.text(), new RegExp(tree.alpha.name))
})

auth('wrong password, unknown account and disabled user get the same answer', async ({ rt }) => {
  const answers = []
  await rt.database.db.updateTable('users').set({ status: 'disabled' }).where('email', '=', ADMIN.betaCustomer).execute()
  for (const [email, password] of [[ADMIN.beta, 'wrong password here'], ['nobody@test.example', 'whatever it is'], [ADMIN.betaCustomer, undefined]] as const) {
    const res = await new Agent(rt.app).login(email, password)
    const text = await res.text()
    answers.push({ status: res.status, message: /role="alert">([^<]*)</.exec(text)?.[1] })
  }
  await rt.database.db.updateTable('users').set({ status: 'active' }).where('email', '=', ADMIN.betaCustomer).execute()
  assert.equal(answers, Array(3).fill({ status: 401, message: BAD_LOGIN }))
})

auth('an account is locked after repeated failures, even for the right password, and unknown accounts alike', async ({ rt }) => {
  for (let i = 0; i < POLICY.account.maxFailures; i++) assert.is((await new Agent(rt.app).login(ADMIN.alphaSub, 'not the password')).status, 401)
  const locked = await new Agent(rt.app).login(ADMIN.alphaSub)
  assert.is(locked.status, 429)
  assert.match(await locked.text(), /Too many sign-in attempts/)
  assert.ok(Number(locked.headers.get('retry-after')) > 0)
  for (let i = 0; i < POLICY.account.maxFailures; i++) await new Agent(rt.app).login('ghost@test.example', 'not the password')
  assert.is((await new Agent(rt.app).login('ghost@test.example', 'not the password')).status, 429)
  // Another account from the same address is not locked yet.
  assert.is((await new Agent(rt.app).login(ADMIN.alpha)).status, 303)
})

auth('an address is locked after repeated failures across accounts', async ({ rt }) => {
  const emails = ['a1@x.example', 'a2@x.example', 'a3@x.example', 'a4@x.example', 'a5@x.example', 'a6@x.example', 'a7@x.example']
  for (const email of emails) assert.is((await new Agent(rt.app).login(email, 'nope nope nope')).status, 401)
  assert.is((await new Agent(rt.app).login(ADMIN.operator)).status, 429)
})

auth('next= only redirects inside the portal', async ({ rt }) => {
  for (const [next, expected] of [['/organisations?q=a', '/organisations?q=a'], ['//evil.example/x', '/'], ['https://evil.example', '/'], ['/\\evil.example', '/']]) {
    const agent = new Agent(rt.app)
    const token = await agent.csrf('/login')
    const res = await agent.postForm('/login', { email: ADMIN.alpha, password: 'correct horse battery staple', next: next! }, { csrf: token })
    assert.is(res.status, 303)
    assert.is(res.headers.get('location'), expected)
  }
})

auth('logging in again rotates the session id and ends the old one', async ({ rt }) => {
  const agent = await signedIn(rt.app, ADMIN.alpha)
  const first = agent.cookies.get('ll_session')!
  const again = await agent.postForm('/login', { email: ADMIN.alpha, password: 'correct horse battery staple' }, { csrf: await agent.csrf('/') })
  assert.is(again.status, 303)
  const second = agent.cookies.get('ll_session')!
  assert.is.not(first, second)
  const stale = await rt.app.request('/', { headers: { cookie: `ll_session=${first}` } })
  assert.is(stale.status, 303)
  assert.match(stale.headers.get('location') ?? '', /^\/login/)
})

auth('logout ends the session; without a CSRF token it is refused', async ({ rt }) => {
  const agent = await signedIn(rt.app, ADMIN.beta)
  const token = agent.cookies.get('ll_session')!
  const refused = await agent.postForm('/logout', {}, { csrf: null })
  assert.is(refused.status, 403)
  assert.is((await agent.get('/')).status, 200)
  const out = await agent.postForm('/logout', {})
  assert.is(out.status, 303)
  assert.is(out.headers.get('location'), '/login')
  assert.not.ok(await rt.database.db.selectFrom('sessions').select('id').where('id', '=', hashToken(token)).executeTakeFirst())
  assert.is((await rt.app.request('/', { headers: { cookie: `ll_session=${token}` } })).status, 303)
})

auth('unsafe requests need a valid, same-origin CSRF token (forms and JSON)', async ({ rt, tree }) => {
  const alpha = await signedIn(rt.app, ADMIN.alpha)
  const other = await signedIn(rt.app, ADMIN.beta)
  const fields = { kind: 'customer', parentId: String(tree.alpha.id), name: 'Forged Customer' }
  assert.is((await alpha.postForm('/organisations', fields, { csrf: null })).status, 403)
  assert.is((await alpha.postForm('/organisations', fields, { csrf: 'x'.repeat(43) })).status, 403)
  assert.is((await alpha.postForm('/organisations', fields, { csrf: await other.csrf('/') })).status, 403)
  const good = await alpha.csrf('/')
  assert.is((await alpha.postForm('/organisations', fields, { csrf: good, headers: { 'sec-fetch-site': 'cross-site' } })).status, 403)
  const json = await alpha.request('/organisations', { method: 'POST', body: JSON.stringify(fields), headers: { 'content-type': 'application/json', accept: 'application/json', origin: 'https://evil.example', 'x-csrf-token': good } })
  assert.is(json.status, 403)
  assert.is(((await json.json()) as { error: { status: number } }).error.status, 403)
  const created = await rt.database.db.selectFrom('organisations').select('id').where('name', '=', 'Forged Customer').execute()
  assert.is(created.length, 0)
  // The same form with the right token goes through.
  assert.is((await alpha.postForm('/organisations', fields, { csrf: good })).status, 303)
  // A login form posted without its token is refused too (login CSRF).
  assert.is((await new Agent(rt.app).postForm('/login', { email: ADMIN.alpha, password: 'correct horse battery staple' }, { csrf: null })).status, 403)
})

auth('disabling a user ends their sessions at once', async ({ rt }) => {
  const agent = await signedIn(rt.app, ADMIN.alphaCustomer)
  assert.is((await agent.get('/')).status, 200)
  await rt.database.db.updateTable('users').set({ status: 'disabled' }).where('email', '=', ADMIN.alphaCustomer).execute()
  assert.is((await agent.get('/')).status, 303)
  await rt.database.db.updateTable('users').set({ status: 'active' }).where('email', '=', ADMIN.alphaCustomer).execute()
})

auth.run()

const https = suite<{ rt: TestRuntime }>(`auth over https (${dbLabel})`)
https.before(async (ctx) => {
  ctx.rt = await testRuntime({ settings: { PUBLIC_URL: 'https://billing.example.test' } })
  await seedTree(ctx.rt.database.db)
})
https.after(async (ctx) => { await ctx.rt.dispose() })

https('under https the session cookie is __Host- prefixed and Secure, with HSTS', async ({ rt }) => {
  const agent = new Agent(rt.app, 'https://billing.example.test')
  const res = await agent.login(ADMIN.operator)
  assert.is(res.status, 303)
  const line = cookieLine(agent, '__Host-ll_session')
  assert.match(line, /Secure/)
  assert.match(line, /HttpOnly/i)
  assert.match(line, /Path=\//)
  assert.not.match(line, /Domain=/i)
  assert.not.ok(agent.cookies.has('ll_session'))
  assert.is((await agent.get('/')).status, 200)
  assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=\d+/)
})

https.run()

const proxied = suite<{ rt: TestRuntime }>(`auth behind a TLS proxy (${dbLabel})`)
proxied.before(async (ctx) => {
  ctx.rt = await testRuntime({ settings: { PUBLIC_URL: 'https://billing.example.test' } })
  await seedTree(ctx.rt.database.db)
})
proxied.after(async (ctx) => { await ctx.rt.dispose() })

proxied('an Origin equal to PUBLIC_URL is same-origin even when the proxy forwards plain http', async ({ rt }) => {
  const agent = new Agent(rt.app, 'http://10.0.0.5:3000')
  const token = await agent.csrf('/login')
  const login = (origin: string) => agent.postForm('/login', { email: ADMIN.operator, password: 'correct horse battery staple' }, { csrf: token, headers: { 'sec-fetch-site': '', origin } })
  assert.is((await login('https://evil.example')).status, 403)
  assert.is((await login('https://billing.example.test')).status, 303)
})

proxied.run()
