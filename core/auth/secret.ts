/**
 * The secret behind CSRF tokens and signed cookies. Production must set SESSION_SECRET (settings
 * refuse to start without it); elsewhere one is generated once and kept in the data directory so
 * restarts keep sessions valid.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Settings } from '../../config/settings.ts'

export function resolveSessionSecret(settings: Pick<Settings, 'sessionSecret' | 'dataDir'>): string {
  if (settings.sessionSecret) return settings.sessionSecret
  const file = join(settings.dataDir, '.session-secret')
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  mkdirSync(settings.dataDir, { recursive: true })
  const secret = randomBytes(32).toString('base64url')
  writeFileSync(file, secret + '\n', { mode: 0o600 })
  return secret
}
