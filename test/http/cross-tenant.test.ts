/**
 * The cross-tenant matrix: every route the app serves x six actors x four targets (own, sibling,
 * parent, child organisation) -> the expected status, and no foreign organisation's name, user,
 * role or id in any body. The route list comes from the app itself: a new route fails this file
 * until it is classified in ROUTES below.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { insertApiToken } from '../../core/auth/tokens.ts'
import { Agent, signedIn } from '../support/agent.ts'
import { addRole, addUser, ADMIN, dbLabel, seedTree, systemRoleIds, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'
import { AREAS } from '../support/matrix/index.ts'
import type { ActorKey, Case, OrgKey, RouteSpec, TargetKind } from '../support/matrix/types.ts'

/** What each actor's roles grant, written out independently of the app's ability code. */
const PERMITTED: Record<ActorKey, (action: string, subject: string) => boolean> = {
  operator: () => true,
  resellerA: () => true,
  resellerB: () => true,
  // Customer Admin: read and export everything, manage users and API tokens.
  customerA: (action, subject) => action === 'read' || action === 'export' || subject === 'User' || subject === 'ApiToken',
  // Auditor: read and export everything.
  auditor: (action) => action === 'read' || action === 'export',
  // A custom role owned by alpha: sees organisations, users and the audit log.
  custom: (action, subject) => action === 'read' && ['Organisation', 'User', 'AuditLog'].includes(subject),
}

const EMAIL: Record<ActorKey, string> = {
  operator: ADMIN.operator, resellerA: ADMIN.alpha, resellerB: ADMIN.beta, customerA: ADMIN.alphaCustomer, auditor: 'auditor@test.example', custom: 'viewer@test.example',
}

const ACTOR_ORG: Record<ActorKey, OrgKey> = {
  operator: 'operator', resellerA: 'alpha', resellerB: 'beta', customerA: 'alphaCustomer', auditor: 'operator', custom: 'alpha',
}

/** The organisation each target means for each actor (absent: the actor has none such). */
const TARGETS: Record<ActorKey, Partial<Record<TargetKind, OrgKey>>> = {
  operator: { own: 'operator', child: 'alpha' },
  resellerA: { own: 'alpha', child: 'alphaSub', sibling: 'beta', parent: 'operator' },
  resellerB: { own: 'beta', child: 'betaCustomer', sibling: 'alpha', parent: 'operator' },
  customerA: { own: 'alphaCustomer', sibling: 'alphaSub', parent: 'alpha' },
  auditor: { own: 'operator', child: 'alphaSub' },
  custom: { own: 'alpha', child: 'alphaCustomer', sibling: 'beta', parent: 'operator' },
}

const CORE_ROUTES: Record<string, RouteSpec> = {
  'GET /assets/:name': { public: true, ok: 200 },
  'GET /healthz': { public: true, ok: 200 },
  'GET /readyz': { public: true, ok: 200 },
  'GET /login': { public: true, ok: [200, 303] },
  'POST /login': { public: true, body: { email: '', password: '' }, ok: 422 },
  'POST /logout': { ok: 303 },
  'GET /': { ok: 200 },
  'GET /api/v1/organisations': { needs: ['read', 'Organisation'], ok: 200 },
  'GET /api/v1/organisations/:id': { param: 'org', needs: ['read', 'Organisation'], ok: 200 },
  'POST /api/v1/organisations': { needs: ['create', 'Organisation'], body: {}, ok: 422 },
  'PATCH /api/v1/organisations/:id': { param: 'org', needs: ['update', 'Organisation'], body: { name: '' }, ok: 422 },
  'GET /organisations': { needs: ['read', 'Organisation'], ok: 200 },
  'GET /organisations/new': { needs: ['create', 'Organisation'], ok: ({ actor }) => (actor === 'customerA' ? 403 : 200) },
  'POST /organisations': { needs: ['create', 'Organisation'], body: { name: '' }, ok: 422 },
  'GET /organisations/:id': { param: 'org', needs: ['read', 'Organisation'], ok: 200 },
  'GET /organisations/:id/edit': { param: 'org', needs: ['update', 'Organisation'], ok: 200 },
  'POST /organisations/:id': { param: 'org', needs: ['update', 'Organisation'], body: { name: '' }, ok: 422 },
  'GET /audit': { needs: ['read', 'AuditLog'], ok: 200 },
  'GET /audit/export.csv': { needs: ['export', 'AuditLog'], ok: 200 },
  'GET /api/v1/audit-log': { needs: ['read', 'AuditLog'], ok: 200 },
  'GET /roles': { needs: ['read', 'Role'], ok: 200 },
  'GET /roles/new': { needs: ['create', 'Role'], ok: 200 },
  'POST /roles': { needs: ['create', 'Role'], body: { name: '' }, ok: 422 },
  'GET /roles/:id': { param: 'role', needs: ['read', 'Role'], ok: 200 },
  'GET /roles/:id/edit': { param: 'role', needs: ['update', 'Role'], ok: 200 },
  'POST /roles/:id': { param: 'role', needs: ['update', 'Role'], body: { name: '' }, ok: 422 },
  'POST /roles/:id/delete': { param: 'role', fresh: true, needs: ['delete', 'Role'], ok: 303 },
  'GET /api/v1/permissions': { needs: ['read', 'Role'], ok: 200 },
  'GET /api/v1/roles': { needs: ['read', 'Role'], ok: 200 },
  'POST /api/v1/roles': { needs: ['create', 'Role'], body: { name: '' }, ok: 422 },
  'GET /api/v1/roles/:id': { param: 'role', needs: ['read', 'Role'], ok: 200 },
  'PUT /api/v1/roles/:id': { param: 'role', needs: ['update', 'Role'], body: { name: '' }, ok: 422 },
  'DELETE /api/v1/roles/:id': { param: 'role', fresh: true, needs: ['delete', 'Role'], ok: 200 },
  'GET /users': { needs: ['read', 'User'], ok: 200 },
  'GET /users/new': { needs: ['create', 'User'], ok: 200 },
  'POST /users': { needs: ['create', 'User'], body: { name: '' }, ok: 422 },
  'GET /users/:id': { param: 'user', needs: ['read', 'User'], ok: 200 },
  'GET /users/:id/edit': { param: 'user', needs: ['update', 'User'], ok: 200 },
  'POST /users/:id': { param: 'user', needs: ['update', 'User'], body: { name: '' }, ok: 422 },
  'POST /users/:id/disable': { param: 'user', fresh: true, needs: ['update', 'User'], ok: 303 },
  'POST /users/:id/enable': { param: 'user', fresh: true, needs: ['update', 'User'], ok: 303 },
  'POST /users/:id/password': { param: 'user', fresh: true, needs: ['update', 'User'], body: { password: 'short' }, ok: 422 },
  'GET /users/tokens': { needs: ['read', 'ApiToken'], ok: 200 },
  'POST /users/tokens': { needs: ['create', 'ApiToken'], body: { name: '' }, ok: 422 },
  'POST /users/tokens/:id/revoke': { param: 'token', fresh: true, needs: ['delete', 'ApiToken'], ok: 303 },
  'GET /api/v1/users': { needs: ['read', 'User'], ok: 200 },
  'POST /api/v1/users': { needs: ['create', 'User'], body: {}, ok: 422 },
  'GET /api/v1/users/:id': { param: 'user', needs: ['read', 'User'], ok: 200 },
  'PATCH /api/v1/users/:id': { param: 'user', fresh: true, needs: ['update', 'User'], body: { name: 'Renamed' }, ok: 200 },
  'POST /api/v1/users/:id/disable': { param: 'user', fresh: true, needs: ['update', 'User'], ok: 200 },
  'POST /api/v1/users/:id/enable': { param: 'user', fresh: true, needs: ['update', 'User'], ok: 200 },
  'POST /api/v1/users/:id/password': { param: 'user', fresh: true, needs: ['update', 'User'], body: {}, ok: 200 },
  'GET /api/v1/api-tokens': { needs: ['read', 'ApiToken'], ok: 200 },
  'POST /api/v1/api-tokens': { needs: ['create', 'ApiToken'], body: {}, ok: 422 },
  'DELETE /api/v1/api-tokens/:id': { param: 'token', fresh: true, needs: ['delete', 'ApiToken'], ok: 200 },
}

const ROUTES: Record<string, RouteSpec> = Object.assign({}, CORE_ROUTES, ...AREAS.map((area) => area.routes))

// ---- fixture ------------------------------------------------------------------------------------

const test = suite<{ rt: TestRuntime; tree: Tree }>(`cross-tenant matrix (${dbLabel})`)
let rt: TestRuntime
let tree: Tree
const agents = new Map<ActorKey, Agent>()
const members = new Map<OrgKey, { id: number; email: string }>()
const roles = new Map<OrgKey, { id: number; name: string }>()
const tokens = new Map<OrgKey, number>()
let sequence = 0

test.before(async () => {
  rt = await testRuntime()
  tree = await seedTree(rt.database.db)
  const db = rt.database.db
  for (const key of Object.keys(tree) as OrgKey[]) {
    const org = tree[key]
    const email = `member-${key.toLowerCase()}@test.example`
    members.set(key, { id: await addUser(db, org.id, email, { name: `Member of ${org.name}` }), email })
    const name = `Role of ${org.name}`
    roles.set(key, { id: await addRole(db, org.id, name), name })
    tokens.set(key, (await insertApiToken(db, { orgId: org.id, userId: members.get(key)!.id, name: `Token of ${org.name}`, expiresAt: null })).id)
  }
  await addUser(db, tree.operator.id, 'auditor@test.example', { roleIds: [(await systemRoleIds(db)).auditor!] })
  const viewer = await addRole(db, tree.alpha.id, 'Alpha viewer', [['Organisation', 'read'], ['User', 'read'], ['AuditLog', 'read']])
  await addUser(db, tree.alpha.id, 'viewer@test.example', { roleIds: [viewer] })
  for (const area of AREAS) await area.setup?.(db, tree)
  for (const [actor, email] of Object.entries(EMAIL) as [ActorKey, string][]) agents.set(actor, await signedIn(rt.app, email))
})
test.after(async () => { await rt.dispose() })

/** Organisations inside an actor's subtree. */
function inScope(actor: ActorKey): Set<OrgKey> {
  const root = tree[ACTOR_ORG[actor]]
  return new Set((Object.keys(tree) as OrgKey[]).filter((k) => tree[k].path.startsWith(root.path)))
}

/** Strings that must never appear in a body served to `actor`: names, emails and id references of organisations outside its subtree. */
function forbidden(actor: ActorKey): { texts: string[]; patterns: RegExp[] } {
  const visible = inScope(actor)
  const texts: string[] = []
  const patterns: RegExp[] = []
  for (const key of Object.keys(tree) as OrgKey[]) {
    if (visible.has(key)) continue
    const id = tree[key].id
    texts.push(tree[key].name, members.get(key)!.email, roles.get(key)!.name, ADMIN[key], `Token of ${tree[key].name}`, ...AREAS.flatMap((a) => a.secrets?.(key, tree) ?? []))
    patterns.push(new RegExp(`/organisations/${id}(?!\\d)`), new RegExp(`"(orgId|parentId|ownerOrgId|org_id|parent_id)":${id}(?!\\d)`), new RegExp(`[?&]org=${id}(?!\\d)`))
  }
  return { texts, patterns }
}

async function idFor(param: string, org: OrgKey, fresh: boolean): Promise<number> {
  const db = rt.database.db
  const maker = AREAS.find((a) => a.params?.[param])?.params?.[param]
  if (maker) return maker({ db, tree, org, fresh, sequence: ++sequence })
  if (!['org', 'user', 'role', 'token'].includes(param)) throw new Error(`no maker for matrix param "${param}"`)
  if (!fresh) return param === 'org' ? tree[org].id : param === 'user' ? members.get(org)!.id : param === 'role' ? roles.get(org)!.id : tokens.get(org)!
  sequence++
  if (param === 'user') return addUser(db, tree[org].id, `fresh-${sequence}-${org.toLowerCase()}@test.example`)
  if (param === 'role') return addRole(db, tree[org].id, `Fresh role ${sequence}`)
  if (param === 'token') return (await insertApiToken(db, { orgId: tree[org].id, userId: members.get(org)!.id, name: `Fresh token ${sequence}`, expiresAt: null })).id
  return tree[org].id
}

function expected(spec: RouteSpec, c: Case): readonly number[] {
  if (!spec.public && spec.needs && !PERMITTED[c.actor](spec.needs[0], spec.needs[1])) return [403]
  if (c.target === 'sibling' || c.target === 'parent') {
    const outside = spec.outside?.(c) ?? 404
    return typeof outside === 'number' ? [outside] : outside
  }
  const ok = typeof spec.ok === 'function' ? spec.ok(c) : spec.ok
  return typeof ok === 'number' ? [ok] : ok
}

async function send(agent: Agent, method: string, path: string, spec: RouteSpec, fragment: boolean): Promise<Response> {
  const headers: Record<string, string> = fragment ? { 'hx-request': 'true' } : {}
  if (method === 'GET') return agent.get(path, headers)
  const token = await agent.csrf('/')
  if (path.startsWith('/api/')) {
    return agent.request(path, { method, body: JSON.stringify(spec.body ?? {}), headers: { ...headers, 'content-type': 'application/json', 'x-csrf-token': token, 'sec-fetch-site': 'same-origin' } })
  }
  return agent.postForm(path, Object.fromEntries(Object.entries(spec.body ?? {}).map(([k, v]) => [k, String(v)])), { csrf: token, headers })
}

const auditCount = async () => Number((await rt.database.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n)

function served(): string[] {
  const seen = new Set<string>()
  for (const route of rt.app.routes) if (route.method !== 'ALL') seen.add(`${route.method} ${route.path}`)
  return [...seen].sort()
}

test('every route the app serves is classified in the matrix', () => {
  const unclassified = served().filter((key) => !ROUTES[key])
  assert.equal(unclassified, [], `classify these routes in test/http/cross-tenant.test.ts: ${unclassified.join(', ')}`)
  const stale = Object.keys(ROUTES).filter((key) => !served().includes(key))
  assert.equal(stale, [], `these classified routes no longer exist: ${stale.join(', ')}`)
})

const keys = Object.keys(ROUTES)
const actors = Object.keys(TARGETS) as ActorKey[]
const caseCount = keys.reduce((sum, key) => {
  const spec = ROUTES[key]!
  const perActor = spec.param ? actors.reduce((n, a) => n + Object.keys(TARGETS[a]).length, 0) : actors.length
  const shapes = key.startsWith('GET ') && !key.startsWith('GET /api/') && !spec.public ? 2 : 1
  return sum + perActor * shapes
}, 0)

test(`${caseCount} cases: each route x actor x target answers as expected and leaks nothing`, async () => {
  const failures: string[] = []
  for (const key of keys) {
    const spec = ROUTES[key]!
    const [method, pattern] = key.split(' ') as [string, string]
    for (const actor of actors) {
      const targets: (TargetKind | 'none')[] = spec.param ? (Object.keys(TARGETS[actor]) as TargetKind[]) : ['none']
      for (const target of targets) {
        const shapes = method === 'GET' && !pattern.startsWith('/api/') && !spec.public ? [false, true] : [false]
        for (const fragment of shapes) {
          let path = spec.path ?? pattern.replace(':name', 'app.css')
          if (spec.param) path = path.replace(':id', String(await idFor(spec.param, TARGETS[actor][target as TargetKind]!, !!spec.fresh)))
          if (spec.query) path += `?${spec.query}`
          // Signing out ends the session: use a fresh agent for that route.
          const agent = key === 'POST /logout' ? await signedIn(rt.app, EMAIL[actor]) : agents.get(actor)!
          const before = method === 'GET' ? 0 : await auditCount()
          const res = await send(agent, method, path, spec, fragment)
          const body = await res.text()
          const label = `${key}${fragment ? ' (fragment)' : ''} as ${actor} on ${target} -> ${res.status}`
          const want = expected(spec, { actor, target })
          if (!want.includes(res.status)) failures.push(`${label}, expected ${want.join('|')}`)
          const { texts, patterns } = forbidden(actor)
          for (const text of texts) if (body.includes(text)) failures.push(`${label}: body contains foreign "${text}"`)
          for (const p of patterns) if (p.test(body)) failures.push(`${label}: body matches foreign ${p}`)
          if (method !== 'GET' && res.status >= 400 && (await auditCount()) !== before) failures.push(`${label}: refused but the audit log changed`)
        }
      }
    }
  }
  assert.equal(failures, [], `${failures.length} failing case(s):\n${failures.slice(0, 60).join('\n')}`)
})

test.run()
