/**
 * Real-browser test of the notice of a finished report run: a reseller admin starts a background
 * export from a report's page, leaves its progress page while it is still running, and on another
 * page sees "Your report is ready" appear under the header, downloads the file from it and follows
 * the link to the run; the polling stops once the notice is shown, and the notice is not shown
 * again. A second run's notice is dismissed with ×. No console errors, CSP violations or 5xx.
 */
import { readFileSync } from 'node:fs'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { listen } from '../../core/server.ts'
import { builtInPlugins } from '../../plugins/index.ts'
import { ARTIFACTS, closeBrowserAndServer, openBrowser, type BrowserTestContext } from '../support/browser.ts'
import { ADMIN, seedTree, TEST_PASSWORD, testRuntime } from '../support/fixture.ts'
import { runTestPlugin } from '../support/report-runs.ts'

/** Rows per organisation of the test report: enough for the export to take a few seconds. */
const ROWS = 60_000

interface Context extends BrowserTestContext {
  /** Status of each poll of the notice endpoint, in order. */
  polls: number[]
}

const Notice = suite<Context>('browser report run notice', { polls: [] } as unknown as Context)

Notice.before(async (ctx) => {
  ctx.rt = await testRuntime({ installed: [...builtInPlugins, runTestPlugin] })
  await seedTree(ctx.rt.database.db)
  ctx.serving = await listen(ctx.rt, 0, '127.0.0.1')
  Object.assign(ctx, await openBrowser(ctx.serving.url, {
    acceptDownloads: true,
    timeout: 15_000,
    onResponse: (response) => { if (new URL(response.url()).pathname === '/reports/runs/notice') ctx.polls.push(response.status()) },
  }))
})

Notice.after((ctx) => closeBrowserAndServer(ctx))

Notice('signed in, no run started: pages carry no notice region and never poll', async (ctx) => {
  const { page } = ctx
  await page.goto('/login')
  await page.getByLabel('Email').fill(ADMIN.alpha)
  await page.getByLabel('Password').fill(TEST_PASSWORD)
  await Promise.all([page.waitForURL((url) => url.pathname === '/'), page.getByRole('button', { name: 'Sign in' }).click()])
  assert.is(await page.locator('#run-notices').count(), 0)
  await page.waitForTimeout(3500)
  assert.equal(ctx.polls, [])
})

Notice('start a run, leave while it runs, see the notice on another page, download and open the run', async (ctx) => {
  const { page } = ctx
  await page.goto(`/reports/runtest.big?rows=${ROWS}`)
  await page.locator('#export-panel summary').click()
  await page.locator('#x-name').fill('Big export for the notice')
  await page.locator('#x-format').selectOption('csv')
  await Promise.all([page.waitForURL(/\/reports\/runs\/\d+$/), page.getByRole('button', { name: 'Generate in background' }).click()])
  const runPath = new URL(page.url()).pathname
  await page.getByText('is being generated').waitFor()

  // Away to another page while the export is still going.
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/organisations'),
    page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Organisations', exact: true }).click(),
  ])
  assert.is(await page.locator('#run-notices .run-notice-poll').count(), 1, 'the page polls for the notice')
  const status = await page.evaluate(async (path) => (await (await fetch(`/api/v1/report-runs/${path.split('/').pop()}`)).json()).run.status, runPath)
  assert.ok(['queued', 'running'].includes(status), `the run was still going when the user left (${status})`)

  const notice = page.locator('#run-notices .run-notice', { hasText: 'Big export for the notice' })
  await notice.waitFor({ timeout: 120_000 })
  assert.match((await notice.textContent()) ?? '', /Your report is ready/)
  const box = await notice.boundingBox()
  assert.ok(box && box.y > 30 && box.y < 200 && box.x > 600, `the notice sits under the header, on the right (${JSON.stringify(box)})`)
  await page.screenshot({ path: `${ARTIFACTS}report-run-notice.png` })

  // The poller is gone with the notice's arrival: no more requests.
  assert.is(await page.locator('#run-notices .run-notice-poll').count(), 0)
  const polled = ctx.polls.length
  await page.waitForTimeout(4000)
  assert.is(ctx.polls.length, polled, 'polling stopped')

  const [download] = await Promise.all([page.waitForEvent('download'), notice.getByRole('link', { name: 'Download' }).click()])
  const file = readFileSync(await download.path()).toString('utf8')
  assert.match(file, /^Organisation,Row,Note\r\n/)
  assert.match(download.suggestedFilename(), /^Big export for the notice .*\.csv$/)

  await Promise.all([page.waitForURL((url) => url.pathname === runPath), notice.getByRole('link', { name: 'Big export for the notice' }).click()])
  await page.getByText('Ready:').waitFor()

  // Shown once: the next page has no notice and no poller.
  await page.goto('/')
  assert.is(await page.locator('#run-notices').count(), 0)
})

Notice('a second run: its notice is dismissed with ×', async (ctx) => {
  const { page } = ctx
  await page.goto('/reports/organisations.accounts')
  // Started the way the form does, without staying on the progress page at all.
  const status = await page.evaluate(async () => {
    const form = document.querySelector<HTMLFormElement>('form.export-form')!
    const body = new FormData(form)
    body.set('name', 'Quick accounts export')
    return (await fetch(form.action, { method: 'POST', body, redirect: 'manual' })).type
  })
  assert.is(status, 'opaqueredirect')
  await page.goto('/')
  const notice = page.locator('#run-notices .run-notice', { hasText: 'Quick accounts export' })
  await notice.waitFor({ timeout: 60_000 })
  await notice.getByRole('button', { name: 'Dismiss' }).click()
  assert.is(await notice.count(), 0)
})

Notice('no console errors, CSP violations or 5xx responses along the way', (ctx) => {
  assert.equal(ctx.cspViolations, [], 'CSP violations')
  assert.equal(ctx.errors, [], 'console errors and uncaught page errors')
  assert.equal(ctx.serverErrors, [], '5xx responses')
})

Notice.run()
