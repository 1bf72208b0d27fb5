import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { can } from '../../core/access/ability.ts'
import { HttpProblem } from '../../core/http/problem.ts'
import { page } from '../../core/http/render.tsx'
import { definePlugin } from '../../core/plugins/define.ts'
import { builtInPlugins } from '../../plugins/index.ts'
import { signedIn } from '../support/agent.ts'
import { ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime } from '../support/fixture.ts'

const gadgets = definePlugin({
  id: 'gadgets',
  title: 'Gadgets',
  permissions: { subjects: ['Gadget'], actions: ['read'] },
  nav: [{ section: 'Workshop', label: 'Gadget list', href: '/gadgets', requires: ['read', 'Gadget'] }],
  routes: (app) => {
    app.get('/', can('read', 'Gadget'), (c) => page(c, { title: 'Gadgets', body: <p id="gadgets">Gadgets of {c.var.org.name}</p> }))
    app.get('/boom', () => { throw new Error('secret internal detail at /srv/app') })
    app.get('/teapot', () => { throw new HttpProblem(409, 'That gadget is busy.') })
  },
})

const plugins = suite<{ rt: TestRuntime }>(`plugin mounting and errors (${dbLabel})`)
plugins.before(async (ctx) => {
  ctx.rt = await testRuntime({ installed: [...builtInPlugins, gadgets] })
  await seedTree(ctx.rt.database.db)
})
plugins.after(async (ctx) => { await ctx.rt.dispose() })

plugins('a plugin is mounted under its id, and its nav entry is in the shell', async ({ rt }) => {
  const agent = await signedIn(rt.app, ADMIN.alpha)
  const res = await agent.get('/gadgets')
  assert.is(res.status, 200)
  const html = await res.text()
  assert.match(html, '<p id="gadgets">Gadgets of Alpha Reseller</p>')
  assert.match(html, /<h2>Workshop<\/h2>/)
  assert.match(html, /<a href="\/gadgets" aria-current="page">Gadget list<\/a>/)
  assert.match(html, /<a href="\/organisations">Organisations<\/a>/)
})

plugins('an unexpected error is a friendly 500 with a reference, logged once with the request id', async ({ rt }) => {
  const agent = await signedIn(rt.app, ADMIN.alpha)
  const res = await agent.get('/gadgets/boom')
  assert.is(res.status, 500)
  const html = await res.text()
  const requestId = res.headers.get('x-request-id')!
  assert.ok(requestId)
  assert.match(html, requestId)
  assert.not.match(html, /secret internal detail/)
  assert.not.match(html, /\bat \S+\.tsx?:\d+/)
  const errors = rt.logs.filter((l) => l.level === 'error')
  assert.is(errors.length, 1)
  assert.is(errors[0]!.requestId, requestId)
  assert.match(JSON.stringify(errors[0]), /secret internal detail/)
})

plugins('a thrown HttpProblem keeps its status and message; JSON callers get JSON', async ({ rt }) => {
  const agent = await signedIn(rt.app, ADMIN.alpha)
  const res = await agent.get('/gadgets/teapot')
  assert.is(res.status, 409)
  assert.match(await res.text(), 'That gadget is busy.')
  const json = await agent.get('/gadgets/teapot', { accept: 'application/json' })
  assert.is(json.status, 409)
  const body = (await json.json()) as { error: { status: number; message: string; requestId: string } }
  assert.is(body.error.status, 409)
  assert.is(body.error.message, 'That gadget is busy.')
  assert.is(body.error.requestId, json.headers.get('x-request-id'))
})

plugins('an anonymous JSON call gets a 401 JSON error, not a redirect', async ({ rt }) => {
  const res = await rt.app.request('/gadgets', { headers: { accept: 'application/json' } })
  assert.is(res.status, 401)
  assert.is(((await res.json()) as { error: { status: number } }).error.status, 401)
})

plugins('the static assets come from our own origin', async ({ rt }) => {
  const htmx = await rt.app.request('/assets/htmx.js')
  assert.is(htmx.status, 200)
  assert.match(htmx.headers.get('content-type') ?? '', /javascript/)
  assert.match(await htmx.text(), /htmx/)
  assert.is((await rt.app.request('/assets/package.json')).status, 404)
})

plugins.run()
