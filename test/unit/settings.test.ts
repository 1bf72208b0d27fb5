import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { loadSettings, SettingsError } from '../../config/settings.ts'

const empty = () => mkdtempSync(join(tmpdir(), 'll-settings-'))

function problem(env: Record<string, string>, cwd = empty()): SettingsError {
  try {
    loadSettings(env, cwd)
  } catch (error) {
    assert.instance(error, SettingsError)
    return error as SettingsError
  }
  throw new Error(`expected a SettingsError for ${JSON.stringify(env)}`)
}

test('defaults: embedded database under ./data, port 3000, demo data outside production', () => {
  const cwd = empty()
  const s = loadSettings({}, cwd)
  assert.is(s.port, 3000)
  assert.is(s.host, '127.0.0.1')
  assert.is(s.dataDir, join(cwd, 'data'))
  assert.is(s.databaseUrl, undefined)
  assert.is(s.logLevel, 'info')
  assert.is(s.demoData, true)
  assert.is(s.plugins, undefined)
  assert.ok(Object.isFrozen(s))
})

test('each bad value names its setting', () => {
  assert.is(problem({ PORT: 'abc' }).setting, 'PORT')
  assert.is(problem({ PORT: '70000' }).setting, 'PORT')
  assert.is(problem({ DATABASE_URL: 'mysql://x' }).setting, 'DATABASE_URL')
  assert.is(problem({ SMTP_URL: 'http://mail' }).setting, 'SMTP_URL')
  assert.is(problem({ SESSION_SECRET: 'short' }).setting, 'SESSION_SECRET')
  assert.is(problem({ LOG_LEVEL: 'loud' }).setting, 'LOG_LEVEL')
  assert.is(problem({ PUBLIC_URL: 'ftp://x' }).setting, 'PUBLIC_URL')
  assert.is(problem({ DEMO_DATA: 'maybe' }).setting, 'DEMO_DATA')
  assert.match(problem({ PORT: 'abc' }).message, /^Invalid setting PORT: .*"abc"/)
})

test('secrets and connection strings are never echoed in the message', () => {
  assert.not.match(problem({ SESSION_SECRET: 'hunter2-hunter2' }).message, /hunter2/)
  assert.not.match(problem({ DATABASE_URL: 'mysql://user:s3cret@db/x' }).message, /s3cret/)
})

test('production needs a session secret and refuses demo data', () => {
  assert.is(problem({ NODE_ENV: 'production' }).setting, 'SESSION_SECRET')
  const secret = 'x'.repeat(40)
  assert.is(problem({ NODE_ENV: 'production', SESSION_SECRET: secret, DEMO_DATA: 'true' }).setting, 'DEMO_DATA')
  const s = loadSettings({ NODE_ENV: 'production', SESSION_SECRET: secret }, empty())
  assert.is(s.demoData, false)
  assert.is(s.production, true)
})

test('the optional JSON file is read, and the environment wins over it', () => {
  const cwd = empty()
  const file = join(cwd, 'custom.json')
  writeFileSync(file, JSON.stringify({ port: 4100, logLevel: 'warn', plugins: ['organisations'] }))
  const s = loadSettings({ CONFIG_FILE: file, LOG_LEVEL: 'debug' }, cwd)
  assert.is(s.port, 4100)
  assert.is(s.logLevel, 'debug')
  assert.equal(s.plugins, ['organisations'])
})

test('a broken or unknown config file entry is a settings error', () => {
  const cwd = empty()
  writeFileSync(join(cwd, 'bad.json'), '{ not json')
  assert.is(problem({ CONFIG_FILE: join(cwd, 'bad.json') }, cwd).setting, 'CONFIG_FILE')
  writeFileSync(join(cwd, 'unknown.json'), '{"prot": 1}')
  assert.match(problem({ CONFIG_FILE: join(cwd, 'unknown.json') }, cwd).message, /prot/)
  assert.is(problem({ CONFIG_FILE: join(cwd, 'missing.json') }, cwd).setting, 'CONFIG_FILE')
})

test('npm start with a bad value exits 1 with one line naming the setting, no stack trace', () => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'main.ts'], {
    env: { ...process.env, PORT: 'not-a-port', DATA_DIR: empty() },
    encoding: 'utf8',
    timeout: 60_000,
  })
  assert.is(result.status, 1)
  const lines = result.stderr.trim().split('\n')
  assert.is(lines.length, 1, result.stderr)
  assert.match(lines[0]!, /PORT/)
  assert.not.match(result.stderr, /\n\s+at /)
})

test.run()
