/**
 * Runs the uvu suites and ends with one line, `N passed, N failed` (uvu prints no such line).
 *
 *   pass 1, PGlite:      test/unit, test/db, test/http, test/browser (when Chromium is there)
 *   pass 2, PostgreSQL:  test/db, test/http   (only when TEST_DATABASE_URL is set)
 *
 * `tsx test/run.ts <name>` runs only the files whose name contains `<name>` (a regular expression),
 * on both databases: the quick loop while working on one area.
 *
 * Each folder runs in its own process; a process that dies before uvu's summary counts as one
 * failure. The exit code is 1 when anything failed.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildPgliteTemplate, buildPostgresTemplate, dropDatabase } from './support/template.ts'

const require = createRequire(import.meta.url)
const uvuBin = join(require.resolve('uvu'), '..', '..', 'bin.js')
const only = process.argv[2]
const PATTERN = only ? `${only}[^/]*\\.test\\.tsx?$` : '\\.test\\.tsx?$'

interface Counts { passed: number; failed: number }

function runFolder(label: string, dir: string, env: NodeJS.ProcessEnv): Promise<Counts> {
  return new Promise((resolve) => {
    const matching = readdirSync(dir, { recursive: true }).some((f) => new RegExp(PATTERN).test(String(f)))
    if (!matching) return resolve({ passed: 0, failed: 0 })
    process.stdout.write(`\n== ${label}: ${dir}\n`)
    const child = spawn(process.execPath, ['--import', 'tsx', uvuBin, dir, PATTERN], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk; process.stdout.write(chunk) })
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk))
    child.on('close', (code) => {
      const plain = output.replace(/\x1b\[[0-9;]*m/g, '')
      const total = /Total:\s+(\d+)/.exec(plain)
      const passed = /Passed:\s+(\d+)/.exec(plain)
      const skipped = /Skipped:\s+(\d+)/.exec(plain)
      if (!total || !passed) return resolve({ passed: 0, failed: 1 })
      const counts = { passed: Number(passed[1]), failed: Number(total[1]) - Number(passed[1]) - Number(skipped?.[1] ?? 0) }
      // uvu exits non-zero when a suite's hook throws even if no test counted as failed.
      if (code !== 0 && counts.failed === 0) counts.failed = 1
      resolve(counts)
    })
  })
}

function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean) as string[]
  return candidates.find((p) => existsSync(p))
}

async function main(): Promise<number> {
  const totals: Counts = { passed: 0, failed: 0 }
  const add = (c: Counts) => { totals.passed += c.passed; totals.failed += c.failed }
  const scratch = mkdtempSync(join(tmpdir(), 'll-test-'))
  const templateFile = join(scratch, 'pglite-template.tar')
  try {
    await buildPgliteTemplate(templateFile)
    const pglite = { TEST_DB: 'pglite', TEST_PGLITE_TEMPLATE: templateFile }
    for (const dir of ['test/unit', 'test/db', 'test/http']) add(await runFolder('PGlite', dir, pglite))

    const chromium = chromiumPath()
    if (chromium) add(await runFolder('browser', 'test/browser', { ...pglite, CHROMIUM_PATH: chromium }))
    else if (process.env.REQUIRE_BROWSER) { process.stdout.write('\nbrowser tests: Chromium not found but REQUIRE_BROWSER is set\n'); add({ passed: 0, failed: 1 }) }
    else process.stdout.write('\nbrowser tests: not run (no Chromium; install Debian\'s chromium package or set CHROMIUM_PATH)\n')

    const adminUrl = process.env.TEST_DATABASE_URL
    if (adminUrl) {
      const template = await buildPostgresTemplate(adminUrl)
      try {
        const pg = { TEST_DB: 'postgres', TEST_DATABASE_URL: adminUrl, TEST_PG_TEMPLATE: template }
        for (const dir of ['test/db', 'test/http']) add(await runFolder('PostgreSQL', dir, pg))
      } finally {
        await dropDatabase(adminUrl, template)
      }
    } else {
      process.stdout.write('\nPostgreSQL pass: not run (set TEST_DATABASE_URL to run the database tests on PostgreSQL too)\n')
    }
  } catch (error) {
    process.stderr.write(`test runner failed: ${(error as Error).stack ?? String(error)}\n`)
    totals.failed += 1
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
  process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed\n`)
  return totals.failed === 0 && totals.passed > 0 ? 0 : 1
}

main().then((code) => process.exit(code))
