/**
 * Real-browser test of every report, on the demo data (a year of usage up to today): the operator
 * opens Reports, then each report the catalogue lists (so a report plugin added later is covered
 * without touching this file): changes a filter (the URL follows and the results are swapped in
 * place), sorts by a column header, downloads a CSV through the export panel, checks a chart is
 * drawn and visible, and saves a full-page screenshot to test/artifacts/report-<id>.png. Then the
 * tenants-list flow from the organisations list. No console errors, CSP violations or 5xx.
 */
import { readFileSync } from 'node:fs'
import type { Page } from 'playwright-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { listen } from '../../core/server.ts'
import { DEMO_PASSWORD, seedDemo } from '../../core/seed/demo.ts'
import { ARTIFACTS, closeBrowserAndServer, openBrowser, type BrowserTestContext } from '../support/browser.ts'
import { testRuntime } from '../support/fixture.ts'

interface Context extends BrowserTestContext {
  reportIds: string[]
}

const Reports = suite<Context>('browser reports', { reportIds: [] } as unknown as Context)

Reports.before(async (ctx) => {
  ctx.rt = await testRuntime()
  await seedDemo(ctx.rt.database.db)
  ctx.serving = await listen(ctx.rt, 0, '127.0.0.1')
  Object.assign(ctx, await openBrowser(ctx.serving.url, { acceptDownloads: true, timeout: 15_000 }))
})

Reports.after((ctx) => closeBrowserAndServer(ctx))

Reports('the operator signs in and opens the catalogue of reports', async (ctx) => {
  const { page } = ctx
  await page.goto('/login')
  await page.getByLabel('Email').fill('operator@demo.test')
  await page.getByLabel('Password').fill(DEMO_PASSWORD)
  await Promise.all([page.waitForURL((url) => url.pathname === '/'), page.getByRole('button', { name: 'Sign in' }).click()])
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/reports'),
    page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'All reports', exact: true }).click(),
  ])
  ctx.reportIds = await page.locator('a[data-report-id]').evaluateAll((links) => links.map((a) => a.getAttribute('data-report-id') ?? ''))
  assert.ok(ctx.reportIds.includes('organisations.accounts'), `the accounts report is listed (got ${ctx.reportIds.join(', ')})`)
  assert.is(new Set(ctx.reportIds).size, ctx.reportIds.length, 'each report listed once')
  await page.screenshot({ path: `${ARTIFACTS}reports-catalogue.png`, fullPage: true })
})

/** A different value for the first filter select (the period when there is one). */
async function changeFilter(page: Page): Promise<{ key: string; value: string }> {
  const select = page.locator('#report-filters select[name="period"]').or(page.locator('#report-filters select').first()).first()
  const key = (await select.getAttribute('name'))!
  const current = await select.inputValue()
  const values = await select.locator('option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value))
  const preferred = ['last_12_months', 'year_to_date', 'last_3_months', 'last_month']
  const value = preferred.find((v) => values.includes(v) && v !== current) ?? values.find((v) => v !== current && v !== 'custom')!
  await select.selectOption(value)
  return { key, value }
}

/** One report, start to end; throws at the first thing that is wrong. */
async function exercise(page: Page, id: string): Promise<void> {
  {
    const response = await page.goto(`/reports/${id}`)
    assert.is(response?.status(), 200, `${id} opens`)
    assert.is(await page.locator('#report-results').count(), 1, id)

    // A filter change swaps the results in place (no page load) and the URL follows.
    await page.evaluate(() => { (window as unknown as { __llMarker?: string }).__llMarker = 'same page'; document.getElementById('report-results')!.dataset.stale = '1' })
    const { key, value } = await changeFilter(page)
    await page.waitForURL((url) => url.searchParams.get(key) === value, { timeout: 15_000 })
    await page.waitForFunction(() => document.getElementById('report-results')?.dataset.stale !== '1')
    assert.is(await page.evaluate(() => (window as unknown as { __llMarker?: string }).__llMarker), 'same page', `${id}: no full page load`)
    assert.is(await page.locator('#report-results .flash-error').count(), 0, `${id}: the new filter is valid`)
    const filtered = page.url()

    // Sorting by the first sortable header: the URL gets sort=, the header says how it is sorted.
    const header = page.locator('#report-results table.report-table thead th a.sort').first()
    if (await header.count()) {
      const before = await header.getAttribute('href')
      await header.click()
      await page.waitForURL((url) => url.href !== filtered && url.searchParams.has(key), { timeout: 15_000 })
      const sorted = page.locator('#report-results table.report-table thead th[aria-sort]')
      assert.is(await sorted.count(), 1, `${id}: one sorted column`)
      assert.ok(new URL(page.url()).search.length > 0, `${id}: sorted URL ${page.url()} (link ${before})`)
    }

    // Charts are drawn and visible (the SVG has a height on screen).
    for (const svg of await page.locator('#report-results .report-chart svg').all()) {
      const box = await svg.boundingBox()
      assert.ok(box && box.height > 50 && box.width > 100, `${id}: chart visible (${JSON.stringify(box)})`)
    }

    // Download now, as CSV.
    await page.locator('#export-panel summary').click()
    await page.locator('#x-format').selectOption('csv')
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download now' }).click()])
    const file = await download.path()
    const bytes = readFileSync(file).length
    assert.ok(bytes > 0, `${id}: the CSV is not empty`)
    assert.match(download.suggestedFilename(), /\.csv$/)

    await page.screenshot({ path: `${ARTIFACTS}report-${id}.png`, fullPage: true })
  }
}

Reports('each report: filter, sort, chart, CSV download and a screenshot', async (ctx) => {
  assert.ok(ctx.reportIds.length > 0)
  // Every report is tried, so one broken report does not hide the state of the others.
  const failures: string[] = []
  for (const id of ctx.reportIds) {
    try {
      await exercise(ctx.page, id)
    } catch (error) {
      failures.push(`${id}: ${(error as Error).message.split('\n')[0]}`)
      await ctx.page.screenshot({ path: `${ARTIFACTS}report-${id}-failed.png`, fullPage: true }).catch(() => {})
    }
  }
  assert.equal(failures, [], `reports that failed:\n${failures.join('\n')}`)
})

Reports('the URL of a view reproduces it after a reload', async ({ page }) => {
  await page.goto('/reports/organisations.accounts?period=last_12_months&sort=-events')
  const first = await page.locator('#report-results tbody tr').allTextContents()
  await page.reload()
  assert.equal(await page.locator('#report-results tbody tr').allTextContents(), first)
  assert.is(await page.locator('th[aria-sort="descending"]').count(), 1)
})

Reports('tenants-list flow: filter the organisations, then open a report on them', async ({ page }) => {
  await page.goto('/organisations')
  await page.getByRole('searchbox', { name: 'Search by name' }).fill('Blue')
  await page.waitForURL((url) => url.searchParams.get('q') === 'Blue')
  await page.locator('#report-on-orgs').waitFor()
  const ticked = await page.locator('input.report-pick:checked').count()
  assert.ok(ticked > 0, 'the listed organisations are ticked')
  await page.locator('#report-on-report').selectOption('organisations.accounts')
  await Promise.all([page.waitForURL((url) => url.pathname === '/reports/organisations.accounts'), page.getByRole('button', { name: 'Open report' }).click()])
  assert.is(new URL(page.url()).searchParams.getAll('org').length, ticked)
  const names = await page.locator('#report-results tbody td:first-child a').allTextContents()
  assert.is(names.length, ticked)
  for (const name of names) assert.match(name, 'Blue')
  await page.screenshot({ path: `${ARTIFACTS}report-tenants-list.png`, fullPage: true })
})

Reports('row actions: tick every overdue invoice on the page, mark them paid, come back to the view', async ({ page }) => {
  const view = '/reports/invoice.invoices?period=last_12_months&status=overdue&pageSize=10'
  await page.goto(view)
  const boxes = page.locator('#report-results tbody input[type="checkbox"][form="report-row-actions"]')
  const count = await boxes.count()
  assert.ok(count > 0, 'the demo has overdue invoices to select')
  const numbers = await page.locator('#report-results tbody tr td:nth-child(2) a').allTextContents()
  await page.locator('#report-results thead input[data-select-all]').check()
  assert.is(await page.locator('#report-results tbody input[form="report-row-actions"]:checked').count(), count, 'select all ticks every row on the page')
  await page.locator('#report-row-actions select[name="action"]').selectOption('paid')
  await Promise.all([page.waitForURL((url) => url.pathname === '/reports/invoice.invoices' && url.searchParams.get('status') === 'overdue'), page.getByRole('button', { name: 'Apply' }).click()])
  await page.getByText(`${count} invoice${count === 1 ? '' : 's'} marked paid`).waitFor()
  const left = await page.locator('#report-results tbody tr td:nth-child(2) a').allTextContents()
  for (const number of numbers) assert.not.ok(left.includes(number), `${number} is no longer overdue`)
  await page.screenshot({ path: `${ARTIFACTS}report-invoice-actions.png`, fullPage: true })
})

Reports('no console errors, CSP violations or 5xx responses along the way', (ctx) => {
  assert.equal(ctx.cspViolations, [], 'CSP violations')
  assert.equal(ctx.errors, [], 'console errors and uncaught page errors')
  assert.equal(ctx.serverErrors, [], '5xx responses')
})

Reports.run()
