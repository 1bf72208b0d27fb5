/**
 * Real-browser test of access control, on the demo data: the operator makes a custom role through
 * the permission matrix and gives it to a new user; that user sees only what the role allows;
 * disabling them ends a session still open in another browser; a second reseller sees none of it;
 * the auditor finds every change in the audit log and filters it with htmx. Along the way: no
 * console errors, CSP violations or 5xx answers (as in smoke.test.ts).
 *
 * The scenarios run in order and build on each other (the role, then the user, then...).
 */
import type { Page } from 'playwright-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { listen } from '../../core/server.ts'
import { DEMO_PASSWORD, seedDemo } from '../../core/seed/demo.ts'
import { ARTIFACTS, closeBrowserAndServer, openBrowser, type BrowserTestContext } from '../support/browser.ts'
import { testRuntime } from '../support/fixture.ts'

const ROLE = 'Support Desk'
const NEW_USER = { name: 'Sam Support', email: 'sam.support@acme.example' }

interface Context extends BrowserTestContext {
  /** A second browser (own cookies) where the new user stays signed in while they are disabled. */
  other: Page
  /** Full URLs we open on purpose expecting a 401, 403 or 404 (Chromium logs those as console errors). */
  expectedErrors: Set<string>
  /** Set once the new user exists. */
  password: string
  userId: number
}

const Access = suite<Context>('browser access control', { expectedErrors: new Set() } as unknown as Context)

Access.before(async (ctx) => {
  ctx.rt = await testRuntime()
  await seedDemo(ctx.rt.database.db)
  ctx.serving = await listen(ctx.rt, 0, '127.0.0.1')
  // The pages of both browser contexts (see `ctx.openPage()` below) report into the same lists.
  Object.assign(ctx, await openBrowser(ctx.serving.url, {
    expectedConsoleError: (text, url) => /status of 40[134]/.test(text) && ctx.expectedErrors.has(url),
  }))
})

Access.after((ctx) => closeBrowserAndServer(ctx))

async function signIn(page: Page, email: string, password = DEMO_PASSWORD): Promise<void> {
  await page.goto('/login')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/'),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ])
}

async function signOut(page: Page): Promise<void> {
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/login'),
    page.getByRole('button', { name: 'Sign out' }).click(),
  ])
}

const nav = (page: Page) => page.getByRole('navigation', { name: 'Main' })

/** The labels of the side navigation's links. */
async function navLabels(page: Page): Promise<string[]> {
  return (await nav(page).getByRole('link').allTextContents()).map((s) => s.trim())
}

/** Opens `path` expecting `status`, without Chromium's "failed to load" console line counting as an error. */
async function openExpecting(ctx: Context, page: Page, path: string, status: 403 | 404): Promise<void> {
  const url = `${ctx.serving!.url}${path}`
  ctx.expectedErrors.add(url)
  const response = await page.goto(url)
  assert.is(response?.status(), status, `${path} answers ${status}`)
}

Access('operator creates "Support Desk" with the permission matrix and delegation', async ({ page, rt }) => {
  await signIn(page, 'operator@demo.test')
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/roles'),
    nav(page).getByRole('link', { name: 'Roles', exact: true }).click(),
  ])
  assert.is(await page.locator('h1').textContent(), 'Roles')
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/roles/new'),
    page.getByRole('link', { name: 'New role', exact: true }).click(),
  ])
  await page.getByLabel('Name', { exact: true }).fill(ROLE)
  await page.getByLabel('Description').fill('First-line support: reads organisations, looks after users.')
  for (const name of ['Organisations: Read', 'Users: Read', 'Users: Update']) await page.getByRole('checkbox', { name }).check()

  // Ticking a row's "All" ticks the row's other boxes too (views/assets/app.js).
  const tokenBoxes = ['API tokens: Read', 'API tokens: Create', 'API tokens: Delete'].map((name) => page.getByRole('checkbox', { name }))
  for (const box of tokenBoxes) assert.not.ok(await box.isChecked())
  await page.getByRole('checkbox', { name: 'API tokens: All' }).check()
  for (const box of tokenBoxes) assert.ok(await box.isChecked(), 'the row\'s boxes follow its "All"')
  assert.not.ok(await page.getByRole('checkbox', { name: 'Users: Delete' }).isChecked(), 'other rows are left alone')

  await page.getByRole('radio', { name: 'Only these roles:' }).check()
  await page.getByRole('checkbox', { name: /^Auditor/ }).check()
  await page.screenshot({ path: `${ARTIFACTS}roles-new.png`, fullPage: true })
  await Promise.all([
    page.waitForURL(/\/roles\/\d+$/),
    page.getByRole('button', { name: 'Create role' }).click(),
  ])

  assert.is((await page.locator('.flash-success').textContent())?.trim(), `The role ${ROLE} was created.`)
  assert.match(await page.locator('h1').innerText(), ROLE)
  const stored = (await page.locator('td[data-permission]').evaluateAll((tds) => tds.map((td) => td.getAttribute('data-permission')))).sort()
  assert.equal(stored, ['ApiToken:create', 'ApiToken:delete', 'ApiToken:manage', 'ApiToken:read', 'Organisation:read', 'User:read', 'User:update'])
  assert.match(await page.locator('dl.props').innerText(), /May manage\s+Auditor/)
  await page.screenshot({ path: `${ARTIFACTS}role-detail.png`, fullPage: true })

  const role = await rt.database.db.selectFrom('roles').selectAll().where('name', '=', ROLE).executeTakeFirstOrThrow()
  const owner = await rt.database.db.selectFrom('organisations').select('name').where('id', '=', role.org_id).executeTakeFirstOrThrow()
  assert.is(owner.name, 'Northwind Cloud', 'owned by the operator')
})

Access('operator creates a user in Acme Web Studio with that role; the generated password is shown once', async (ctx) => {
  const { page, rt } = ctx
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/users'),
    nav(page).getByRole('link', { name: 'Users', exact: true }).click(),
  ])
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/users/new'),
    page.getByRole('link', { name: 'New user', exact: true }).click(),
  ])
  const organisation = page.getByLabel('Organisation', { exact: true })
  // Options are indented by depth with em spaces; a person picks the one that reads "Acme Web Studio".
  const acme = await organisation.locator('option', { hasText: 'Acme Web Studio' }).getAttribute('value')
  await organisation.selectOption(acme!)
  await page.getByLabel('Name', { exact: true }).fill(NEW_USER.name)
  await page.getByLabel('Email', { exact: true }).fill(NEW_USER.email)
  await page.getByRole('checkbox', { name: new RegExp(`^${ROLE}`) }).check()
  assert.is(await page.getByLabel('Initial password').inputValue(), '', 'left empty: the server makes one')
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/users'),
    page.getByRole('button', { name: 'Create user' }).click(),
  ])

  assert.is(await page.locator('h1').textContent(), 'User created')
  const password = (await page.locator('[data-secret="password"]').textContent())?.trim() ?? ''
  assert.match(password, /^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$/, 'a generated password: 20 characters in groups of 5')
  assert.match(await page.locator('main').innerText(), 'It is shown only this once')
  await page.screenshot({ path: `${ARTIFACTS}user-created.png`, fullPage: true })

  const user = await rt.database.db.selectFrom('users')
    .innerJoin('organisations', 'organisations.id', 'users.org_id')
    .select(['users.id', 'organisations.name as org']).where('email', '=', NEW_USER.email).executeTakeFirstOrThrow()
  assert.is(user.org, 'Acme Web Studio')
  const roles = await rt.database.db.selectFrom('user_roles').innerJoin('roles', 'roles.id', 'user_roles.role_id')
    .select('roles.name').where('user_roles.user_id', '=', user.id).execute()
  assert.equal(roles.map((r) => r.name), [ROLE])
  ctx.password = password
  ctx.userId = user.id

  await Promise.all([
    page.waitForURL((url) => url.pathname === `/users/${user.id}`),
    page.getByRole('link', { name: `Go to ${NEW_USER.name}` }).click(),
  ])
  assert.not.match(await page.locator('body').innerText(), password, 'the password is not shown again')
})

Access('the new user sees what the role allows and gets a 403 page for Roles', async (ctx) => {
  const { page } = ctx
  await signOut(page)
  await signIn(page, NEW_USER.email, ctx.password)
  assert.is((await page.locator('.topbar .who').textContent())?.trim(), NEW_USER.name)
  const labels = await navLabels(page)
  for (const label of ['Organisations', 'Users', 'API tokens']) assert.ok(labels.includes(label), `nav has ${label} (got ${labels.join(', ')})`)
  for (const label of ['Roles', 'Audit log']) assert.not.ok(labels.includes(label), `nav has no ${label} (got ${labels.join(', ')})`)

  await openExpecting(ctx, page, '/roles', 403)
  assert.is(await page.locator('h1').textContent(), 'Not allowed')
  assert.match(await page.locator('main').innerText(), 'You do not have permission to do this.')
  assert.ok(await page.getByRole('link', { name: 'Back to the dashboard' }).isVisible())
  await page.screenshot({ path: `${ARTIFACTS}roles-403.png`, fullPage: true })

  // The same user, signed in in a second browser: that session stays open for the next scenario.
  ctx.other = await ctx.openPage()
  await signIn(ctx.other, NEW_USER.email, ctx.password)
  await ctx.other.goto('/users')
  assert.is(new URL(ctx.other.url()).pathname, '/users')
})

Access('disabling the user from its page signs out their still-open session', async (ctx) => {
  const { page, other, rt } = ctx
  await signOut(page)
  await signIn(page, 'operator@demo.test')
  await page.goto('/users')
  await page.getByRole('searchbox', { name: 'Search name or email' }).fill('sam.support')
  const link = page.locator('#user-table').getByRole('link', { name: NEW_USER.name, exact: true })
  await link.waitFor()
  await Promise.all([
    page.waitForURL((url) => url.pathname === `/users/${ctx.userId}`),
    link.click(),
  ])
  await Promise.all([
    page.waitForURL((url) => url.pathname === `/users/${ctx.userId}`),
    page.getByRole('button', { name: 'Disable' }).click(),
  ])
  assert.is((await page.locator('.flash-success').textContent())?.trim(), `${NEW_USER.name} was disabled and signed out everywhere.`)
  assert.match(await page.locator('h1').innerText(), 'disabled')
  assert.ok(await page.getByRole('button', { name: 'Enable' }).isVisible())
  const row = await rt.database.db.selectFrom('users').select('status').where('id', '=', ctx.userId).executeTakeFirstOrThrow()
  assert.is(row.status, 'disabled')

  await other.goto('/organisations')
  assert.is(new URL(other.url()).pathname, '/login', 'the open session was ended')
  // And the password no longer signs in.
  await other.getByLabel('Email').fill(NEW_USER.email)
  await other.getByLabel('Password').fill(ctx.password)
  const refused = other.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login')
  ctx.expectedErrors.add(`${ctx.serving!.url}/login`)
  await other.getByRole('button', { name: 'Sign in' }).click()
  assert.is((await refused).status(), 401)
  await other.context().close()
})

Access('the second reseller sees none of it: no Bluewave users, no foreign owner, a 404 for the new user', async (ctx) => {
  const { page } = ctx
  await signOut(page)
  await signIn(page, 'reseller2@demo.test')
  await nav(page).getByRole('link', { name: 'Users', exact: true }).click()
  await page.waitForURL((url) => url.pathname === '/users')
  const users = await page.locator('#user-table').innerText()
  assert.match(users, 'reseller2@demo.test')
  for (const hidden of ['reseller@demo.test', 'customer@demo.test', NEW_USER.email, 'Acme Web Studio']) assert.not.match(users, hidden)

  await nav(page).getByRole('link', { name: 'Roles', exact: true }).click()
  await page.waitForURL((url) => url.pathname === '/roles')
  const roles = await page.locator('main').innerText()
  assert.match(roles, 'Reseller Admin')
  for (const hidden of ['Northwind Cloud', ROLE]) assert.not.match(roles, hidden)

  await openExpecting(ctx, page, `/users/${ctx.userId}`, 404)
  assert.is(await page.locator('h1').textContent(), 'Not found')
  const body = await page.locator('body').innerText()
  for (const hidden of [NEW_USER.name, NEW_USER.email, 'Acme']) assert.not.match(body, hidden)
  assert.not.match(await page.title(), NEW_USER.name)
})

Access('the auditor finds the changes in the audit log and filters them with htmx', async (ctx) => {
  const { page } = ctx
  await signOut(page)
  await signIn(page, 'auditor@demo.test')
  await nav(page).getByRole('link', { name: 'Audit log', exact: true }).click()
  await page.waitForURL((url) => url.pathname === '/audit')
  const summaries = async () => (await page.locator('#audit-results tbody tr[data-audit-id] td:nth-child(6)').allTextContents()).map((s) => s.trim())
  const all = await summaries()
  for (const expected of [`Role "${ROLE}" created`, `User ${NEW_USER.email} created in "Acme Web Studio"`, `User ${NEW_USER.email} disabled; 1 session(s) ended`]) {
    assert.ok(all.includes(expected), `"${expected}" listed (got ${all.join(' | ')})`)
  }
  assert.not.match(await page.locator('#audit-results').innerText(), ctx.password, 'no password in the log')

  await page.evaluate(() => { (window as unknown as { __llMarker?: string }).__llMarker = 'still here' })
  const request = page.waitForRequest((r) => new URL(r.url()).searchParams.get('subject') === 'User')
  await page.getByLabel('Subject').selectOption('User')
  assert.is((await request).headers()['hx-request'], 'true', 'the filter went through htmx')
  await page.waitForFunction(() => {
    const subjects = [...document.querySelectorAll('#audit-results tbody tr[data-audit-id] td:nth-child(4)')].map((td) => td.textContent ?? '')
    return subjects.length > 0 && subjects.every((s) => s.startsWith('User'))
  })
  await page.waitForURL((url) => url.searchParams.get('subject') === 'User')
  const filtered = await summaries()
  assert.not.ok(filtered.includes(`Role "${ROLE}" created`), 'the role row is filtered out')
  assert.ok(filtered.includes(`User ${NEW_USER.email} disabled; 1 session(s) ended`))
  assert.is(await page.evaluate(() => (window as unknown as { __llMarker?: string }).__llMarker), 'still here', 'no full page load')
  assert.is(await page.locator('#audit-results').count(), 1)
  assert.is(await page.locator('header.topbar').count(), 1)
  await page.screenshot({ path: `${ARTIFACTS}audit.png`, fullPage: true })

  await page.goto('/users')
  assert.is(await page.locator('h1').textContent(), 'Users')
  assert.is(await page.getByRole('link', { name: 'New user' }).count(), 0, 'the auditor cannot create users')
})

Access('no console errors, page errors, CSP violations or 5xx responses along the way', (ctx) => {
  assert.equal(ctx.cspViolations, [], 'CSP violations')
  assert.equal(ctx.errors, [], 'console errors and uncaught page errors')
  assert.equal(ctx.serverErrors, [], '5xx responses')
})

Access.run()
