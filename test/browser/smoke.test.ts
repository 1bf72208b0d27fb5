/**
 * Real-browser smoke test: Debian's Chromium driven by playwright-core against a served Ledgerlite
 * with the demo data. Sign-in, the organisations tree with its htmx search, creating a customer,
 * tenant isolation for a reseller, and no console errors or CSP violations along the way (which
 * proves htmx and app.js load under `script-src 'self'`).
 *
 * The scenarios run in order on one page and build on each other (signed in, then signed out...).
 */
import type { Page } from 'playwright-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { listen } from '../../core/server.ts'
import { DEMO_PASSWORD, seedDemo } from '../../core/seed/demo.ts'
import { ARTIFACTS, closeBrowserAndServer, openBrowser, type BrowserTestContext } from '../support/browser.ts'
import { testRuntime, type TestRuntime } from '../support/fixture.ts'

const NEW_CUSTOMER = 'Smoke Test Customer'

interface Context extends BrowserTestContext {
  /** Script assets and their status, in the order the browser loaded them. */
  scripts: string[]
  /** Full URLs we open on purpose expecting a 404 (Chromium logs those as console errors). */
  expected404: Set<string>
}

const Smoke = suite<Context>('browser smoke', { scripts: [], expected404: new Set() } as unknown as Context)

Smoke.before(async (ctx) => {
  ctx.rt = await testRuntime()
  await seedDemo(ctx.rt.database.db)
  ctx.serving = await listen(ctx.rt, 0, '127.0.0.1')
  Object.assign(ctx, await openBrowser(ctx.serving.url, {
    // Expected 404s: the pages we open on purpose (the shell names an empty data: favicon).
    expectedConsoleError: (text, url) => text.includes('status of 404') && ctx.expected404.has(url),
    onResponse: (response) => {
      const path = new URL(response.url()).pathname
      if (path.endsWith('.js')) ctx.scripts.push(`${path} ${response.status()}`)
    },
  }))
})

Smoke.after((ctx) => closeBrowserAndServer(ctx))

/** Names in the organisations table, as shown. */
async function tableNames(page: Page): Promise<string[]> {
  return (await page.locator('#org-table tbody tr[data-org-id] td:first-child a').allTextContents()).map((s) => s.trim())
}

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto('/login')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(DEMO_PASSWORD)
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/'),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ])
}

async function orgId(rt: TestRuntime, name: string): Promise<number> {
  const row = await rt.database.db.selectFrom('organisations').select('id').where('name', '=', name).executeTakeFirstOrThrow()
  return row.id
}

Smoke('operator signs in through the form and lands on the dashboard', async ({ page }) => {
  await page.goto('/')
  assert.is(new URL(page.url()).pathname, '/login', 'signed out, / sends to the login page')
  await signIn(page, 'operator@demo.test')
  assert.is(await page.locator('h1').textContent(), 'Dashboard')
  assert.match(await page.locator('main').innerText(), 'Signed in as Olivia Operator of Northwind Cloud')
  const nav = page.getByRole('navigation', { name: 'Main' })
  assert.ok(await nav.getByRole('link', { name: 'Organisations', exact: true }).isVisible(), 'nav link "Organisations" visible')
  assert.is((await page.locator('.topbar .who').textContent())?.trim(), 'Olivia Operator')
  // Standards mode (the page starts with a doctype); quirks mode subtly breaks the layout.
  assert.is(await page.evaluate(() => document.compatMode), 'CSS1Compat')
  // The stylesheet applied (CSP style-src 'self'): the two-column layout is a grid.
  assert.is(await page.locator('.layout').evaluate((el) => getComputedStyle(el).display), 'grid')
  await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true })
})

Smoke('organisations: htmx search swaps the table in place and pushes the URL', async ({ page }) => {
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/organisations'),
    page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Organisations', exact: true }).click(),
  ])
  const before = await tableNames(page)
  for (const name of ['Northwind Cloud', 'Bluewave Partners', 'Corvid Telecom Resale', 'Acme Web Studio']) {
    assert.ok(before.includes(name), `${name} listed (got ${before.join(', ')})`)
    assert.ok(await page.locator('#org-table').getByRole('link', { name, exact: true }).isVisible(), `${name} visible`)
  }

  // htmx is there (served from our origin and allowed by the CSP) and has processed the form.
  assert.is(await page.evaluate(() => typeof (window as unknown as { htmx?: unknown }).htmx), 'object')
  await page.evaluate(() => { (window as unknown as { __llMarker?: string }).__llMarker = 'still here' })
  const csrf = await page.locator('meta[name="csrf-token"]').getAttribute('content')

  const request = page.waitForRequest((r) => new URL(r.url()).searchParams.get('q') === 'Corvid')
  await page.getByRole('searchbox', { name: 'Search by name' }).fill('Corvid')
  const headers = await (await request).allHeaders()
  assert.is(headers['hx-request'], 'true', 'the search went through htmx')
  assert.is(headers['x-csrf-token'], csrf ?? undefined, 'app.js added the CSRF header to the htmx request')

  await page.waitForFunction(() => {
    const names = [...document.querySelectorAll('#org-table tbody tr[data-org-id] td:first-child a')].map((a) => a.textContent?.trim())
    return names.length > 0 && !names.includes('Bluewave Partners')
  })
  assert.equal(await tableNames(page), ['Corvid Telecom Resale'])
  assert.is(await page.evaluate(() => (window as unknown as { __llMarker?: string }).__llMarker), 'still here', 'no full page load')
  await page.waitForURL((url) => url.searchParams.get('q') === 'Corvid')
  assert.match(page.url(), 'q=Corvid')
  // Exactly one table: hx-select + outerHTML replaced it rather than nesting a page inside.
  assert.is(await page.locator('#org-table').count(), 1)
  assert.is(await page.locator('header.topbar').count(), 1)
  assert.is(await page.getByRole('searchbox', { name: 'Search by name' }).inputValue(), 'Corvid')
  await page.screenshot({ path: `${ARTIFACTS}organisations.png`, fullPage: true })

  // The pushed URL is a real page too: reloading it shows the same filtered table.
  await page.reload()
  assert.equal(await tableNames(page), ['Corvid Telecom Resale'])
})

Smoke('operator creates a customer under Bluewave Partners through the form', async ({ page, rt }) => {
  await page.goto('/organisations')
  await Promise.all([
    page.waitForURL(/\/organisations\/\d+$/),
    page.locator('#org-table').getByRole('link', { name: 'Bluewave Partners', exact: true }).click(),
  ])
  assert.match(await page.locator('h1').innerText(), 'Bluewave Partners')
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/organisations/new'),
    page.getByRole('link', { name: 'Add customer', exact: true }).click(),
  ])
  const bluewave = await orgId(rt, 'Bluewave Partners')
  assert.is(await page.locator('h1').textContent(), 'New customer')
  assert.is(await page.getByLabel('Kind').inputValue(), 'customer')
  assert.is(await page.getByLabel('Parent').inputValue(), String(bluewave))
  await page.getByLabel('Name').fill(NEW_CUSTOMER)
  await page.getByLabel('Billing email').fill('billing@smoke-test.example')
  await Promise.all([
    page.waitForURL(/\/organisations\/\d+$/),
    page.getByRole('button', { name: 'Create' }).click(),
  ])

  const flash = page.locator('.flash-success')
  assert.is((await flash.textContent())?.trim(), `${NEW_CUSTOMER} was created.`)
  assert.match(await page.locator('h1').innerText(), NEW_CUSTOMER)
  assert.match(await page.locator('.breadcrumbs').innerText(), 'Bluewave Partners')
  const created = await rt.database.db.selectFrom('organisations').selectAll().where('name', '=', NEW_CUSTOMER).executeTakeFirstOrThrow()
  assert.is(created.parent_id, bluewave)
  assert.is(created.kind, 'customer')
  assert.is(new URL(page.url()).pathname, `/organisations/${created.id}`)
  await page.screenshot({ path: `${ARTIFACTS}organisation-created.png`, fullPage: true })

  // The flash is shown once.
  await page.reload()
  assert.is(await page.locator('.flash').count(), 0)
})

Smoke('a reseller sees only its own subtree; another reseller\'s page is a 404', async (ctx) => {
  const { page, rt } = ctx
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/login'),
    page.getByRole('button', { name: 'Sign out' }).click(),
  ])
  assert.match(await page.locator('.flash').innerText(), 'You have signed out.')
  await page.goto('/organisations')
  assert.is(new URL(page.url()).pathname, '/login', 'the old session is gone')

  await signIn(page, 'reseller@demo.test')
  assert.match(await page.locator('main').innerText(), 'Signed in as Ravi Reseller of Bluewave Partners')
  await page.goto('/organisations')
  const names = await tableNames(page)
  for (const name of ['Bluewave Partners', 'Acme Web Studio', 'Bluewave Nordics', NEW_CUSTOMER]) assert.ok(names.includes(name), `${name} listed (got ${names.join(', ')})`)
  for (const name of ['Corvid Telecom Resale', 'Harbor Dental', 'Northwind Cloud', 'Orbit Media']) assert.not.ok(names.includes(name), `${name} must not be listed`)
  assert.not.match(await page.locator('body').innerText(), 'Corvid')

  const corvid = await orgId(rt, 'Corvid Telecom Resale')
  const url = `${ctx.serving!.url}/organisations/${corvid}`
  ctx.expected404.add(url)
  const response = await page.goto(url)
  assert.is(response?.status(), 404)
  assert.is(await page.locator('h1').textContent(), 'Not found')
  const body = await page.locator('body').innerText()
  assert.not.match(body, 'Corvid')
  assert.not.match(await page.title(), 'Corvid')
  assert.match(body, 'does not exist, or you cannot see it')
  await page.screenshot({ path: `${ARTIFACTS}reseller-404.png`, fullPage: true })
})

Smoke('no console errors, page errors, CSP violations or 5xx responses along the way', (ctx) => {
  assert.ok(ctx.scripts.includes('/assets/htmx.js 200'), `htmx.js loaded (${ctx.scripts.join(', ')})`)
  assert.ok(ctx.scripts.includes('/assets/app.js 200'), `app.js loaded (${ctx.scripts.join(', ')})`)
  assert.equal(ctx.cspViolations, [], 'CSP violations')
  assert.equal(ctx.errors, [], 'console errors and uncaught page errors')
  assert.equal(ctx.serverErrors, [], '5xx responses')
})

Smoke.run()
