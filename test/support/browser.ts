/**
 * A real browser for the tests in test/browser: Debian's Chromium driven by playwright-core, on a
 * served Ledgerlite. Its pages collect console errors, uncaught page errors, CSP violations and 5xx
 * responses, so that a suite can end by asserting that none happened.
 *
 * @example
 *   ctx.serving = await listen(ctx.rt, 0, '127.0.0.1')
 *   Object.assign(ctx, await openBrowser(ctx.serving.url, { acceptDownloads: true }))
 *   // ... and in `after`: await closeBrowserAndServer(ctx)
 */
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core'
import type { Serving } from '../../core/server.ts'
import { onPostgres, type TestRuntime } from './fixture.ts'

/** Where browser tests save their screenshots (created by `openBrowser`). */
export const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url))

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']

export interface BrowserOptions {
  /** Let pages download files (`page.waitForEvent('download')`). */
  acceptDownloads?: boolean
  /** The pages' default timeout for actions and waits, in milliseconds; 10 s unless given. */
  timeout?: number
  /**
   * True for a console error the test caused on purpose (Chromium logs a page answered with a 4xx
   * as one), so that it is not collected. Gets the message and the URL it was logged on.
   */
  expectedConsoleError?: (text: string, url: string) => boolean
  /** Sees every response (after the 5xx check): for a suite's own bookkeeping. */
  onResponse?: (response: Response) => void
}

export interface BrowserSession {
  browser: Browser
  /** The first page's context. */
  context: BrowserContext
  page: Page
  /** `console.error` messages and uncaught page errors, with the page they happened on. */
  errors: string[]
  /** `securitypolicyviolation` events reported from inside the pages. */
  cspViolations: string[]
  /** Responses with a 5xx status. */
  serverErrors: string[]
  /** Another page in a fresh context (its own cookie jar), reporting into the same lists. */
  openPage(): Promise<Page>
}

/** What a browser suite's context holds: the runtime, the server on it and the browser session. */
export interface BrowserTestContext extends BrowserSession {
  rt: TestRuntime
  serving: Serving | undefined
}

/** Launches Chromium and opens a first page on `baseURL`; closes the browser again if that fails. */
export async function openBrowser(baseURL: string, options: BrowserOptions = {}): Promise<BrowserSession> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    timeout: 60_000,
    args: CHROMIUM_ARGS,
  })
  const errors: string[] = []
  const cspViolations: string[] = []
  const serverErrors: string[] = []

  async function openPage(): Promise<Page> {
    const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 }, acceptDownloads: options.acceptDownloads })
    await context.exposeBinding('__llReportCsp', (_source, text: string) => { cspViolations.push(text) })
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        const report = (window as unknown as { __llReportCsp(text: string): void }).__llReportCsp
        report(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} on ${e.documentURI}`)
      })
    })
    const page = await context.newPage()
    page.setDefaultTimeout(options.timeout ?? 10_000)
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return
      const where = msg.location().url
      if (options.expectedConsoleError?.(msg.text(), where)) return
      errors.push(`console.error on ${where}: ${msg.text()}`)
    })
    page.on('pageerror', (error) => { errors.push(`uncaught on ${page.url()}: ${error.message}`) })
    page.on('response', (response) => {
      if (response.status() >= 500) serverErrors.push(`${response.status()} ${response.request().method()} ${response.url()}`)
      options.onResponse?.(response)
    })
    return page
  }

  try {
    const page = await openPage()
    return { browser, context: page.context(), page, errors, cspViolations, serverErrors, openPage }
  } catch (error) {
    await browser.close()
    throw error
  }
}

/**
 * Closes the browser, then the served Ledgerlite and its database. Any part may be missing, when
 * the suite's `before` failed part way.
 */
export async function closeBrowserAndServer(parts: { browser?: Browser; serving?: Serving; rt?: TestRuntime }): Promise<void> {
  await parts.browser?.close()
  if (parts.serving) {
    // shutdown() stops the server and calls runtime.close() (pg-boss, then the database). On PGlite
    // that is all there is; TestRuntime.dispose() would close the PGlite instance a second time and
    // throw "PGlite is closed". On PostgreSQL dispose() still has to drop the cloned database (its
    // second close is caught there).
    await parts.serving.shutdown('test')
    if (onPostgres) await parts.rt?.dispose()
  } else {
    await parts.rt?.dispose()
  }
}
