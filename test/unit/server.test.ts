import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

/** Starts `main.ts` as `npm start` would, on a fresh data directory and a free port. */
function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'main.ts'], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', DATA_DIR: mkdtempSync(join(tmpdir(), 'll-main-')), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d })
  child.stderr.on('data', (d: Buffer) => { stderr += d })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const ready = new Promise<string>((resolve, reject) => {
    const check = () => {
      const url = /running at (http:\/\/\S+)/.exec(stdout)?.[1]
      if (url) resolve(url)
    }
    child.stdout.on('data', check)
    exited.then((code) => reject(new Error(`exited early (${code}): ${stderr}`)))
  })
  return { child, ready, exited, output: () => ({ stdout, stderr }) }
}

test('npm start migrates, seeds the demo on first start, prints the logins, and stops gracefully on SIGTERM', async () => {
  const app = start({})
  const url = await app.ready
  const { stdout } = app.output()
  for (const login of ['operator@demo.test', 'reseller@demo.test', 'customer@demo.test']) assert.match(stdout, login)
  assert.match(stdout, /ledgerlite-demo/)
  assert.match(stdout, /demo data seeded/)
  assert.is((await fetch(`${url}/healthz`)).status, 200)
  const ready = await fetch(`${url}/readyz`)
  assert.equal(await ready.json(), { status: 'ready' })

  const stoppedAt = Date.now()
  app.child.kill('SIGTERM')
  const code = await app.exited
  assert.is(code, 0)
  assert.ok(Date.now() - stoppedAt < 10_000, 'stopped within 10 s')
  assert.match(app.output().stdout, /"msg":"stopped"/)
  await fetch(`${url}/healthz`).then(
    () => assert.unreachable('the server still answers after shutdown'),
    (error: Error) => assert.instance(error, Error),
  )
})

test('SIGINT stops it too, and a server without demo data prints no logins', async () => {
  const app = start({ DEMO_DATA: 'false' })
  await app.ready
  assert.not.match(app.output().stdout, /demo\.test/)
  app.child.kill('SIGINT')
  assert.is(await app.exited, 0)
})

test.run()
