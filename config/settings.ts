/**
 * The settings of a Ledgerlite instance: environment variables, optionally backed by a JSON file
 * (`config/ledgerlite.json`, or the file named by `CONFIG_FILE`). The environment wins over the
 * file. This module imports nothing of the app, so the composition root can read settings first.
 *
 * @example
 * const settings = loadSettings(process.env) // throws SettingsError naming the bad setting
 */
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { z } from 'zod'

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface Settings {
  readonly port: number
  readonly host: string
  readonly dataDir: string
  /** PostgreSQL connection string; absent means the embedded PGlite database under `dataDir`. */
  readonly databaseUrl: string | undefined
  /** `smtp://` or `smtps://` URL, checked now; mail delivery arrives with scheduled reports. */
  readonly smtpUrl: string | undefined
  /** Secret for CSRF tokens and signed cookies; absent outside production means "generate one". */
  readonly sessionSecret: string | undefined
  readonly logLevel: LogLevel
  /** Plugin ids (built-in) or module specifiers (third-party); undefined means every built-in one. */
  readonly plugins: readonly string[] | undefined
  /** The address users reach the portal at; an `https:` URL turns on Secure `__Host-` cookies. */
  readonly publicUrl: string | undefined
  /** Seed the demo organisations and logins into an empty database on start. */
  readonly demoData: boolean
  readonly production: boolean
  /** Usage events older than this many days are refused by the API (operators backfill them by CSV import). */
  readonly usageMaxAgeDays: number
  /** Usage events more than this many minutes in the future are refused (clock skew allowance). */
  readonly usageMaxFutureMinutes: number
  /** Time zone report periods are read in ("this month" in Europe/Paris), unless a request gives `tz`. */
  readonly reportTimeZone: string
  /** Generated reports (the archive) are deleted this many days after they finish. */
  readonly reportRetentionDays: number
}

/** A setting has a value the portal cannot run with. `message` is one line naming the setting. */
export class SettingsError extends Error {
  readonly code = 'LL_ERR_SETTINGS'
  readonly setting: string
  constructor(setting: string, problem: string) {
    super(`Invalid setting ${setting}: ${problem}`)
    this.name = 'SettingsError'
    this.setting = setting
  }
}

type Source = Record<string, string | undefined>

const boolText = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v))

const fields = {
  PORT: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be between 0 and 65535').max(65535, 'must be between 0 and 65535'),
  HOST: z.string().min(1, 'must not be empty').regex(/^[A-Za-z0-9.:\-[\]]+$/, 'must be a host name or an IP address'),
  DATA_DIR: z.string().min(1, 'must not be empty'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\/.+/, 'must be a postgres:// or postgresql:// URL').refine(canParseUrl, 'is not a valid URL'),
  SMTP_URL: z.string().regex(/^smtps?:\/\/.+/, 'must be an smtp:// or smtps:// URL').refine(canParseUrl, 'is not a valid URL'),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters long'),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }),
  PLUGINS: z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
  PUBLIC_URL: z.string().regex(/^https?:\/\/[^/]+/, 'must be an http:// or https:// URL').refine(canParseUrl, 'is not a valid URL'),
  DEMO_DATA: z.string().toLowerCase().pipe(boolText),
  NODE_ENV: z.string(),
  USAGE_MAX_AGE_DAYS: z.coerce.number({ error: 'must be a number' }).int('must be a whole number of days').min(1, 'must be between 1 and 3660').max(3660, 'must be between 1 and 3660'),
  USAGE_MAX_FUTURE_MINUTES: z.coerce.number({ error: 'must be a number' }).int('must be a whole number of minutes').min(0, 'must be between 0 and 1440').max(1440, 'must be between 0 and 1440'),
  REPORT_TIME_ZONE: z.string().refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Paris'),
  REPORT_RETENTION_DAYS: z.coerce.number({ error: 'must be a number' }).int('must be a whole number of days').min(1, 'must be between 1 and 3660').max(3660, 'must be between 1 and 3660'),
} as const

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

type FieldName = keyof typeof fields

function canParseUrl(value: string): boolean {
  return URL.canParse(value)
}

/** Keys of the optional JSON file, mapped to the environment names they stand for. */
const FILE_KEYS: Record<string, FieldName> = {
  port: 'PORT', host: 'HOST', dataDir: 'DATA_DIR', databaseUrl: 'DATABASE_URL', smtpUrl: 'SMTP_URL',
  sessionSecret: 'SESSION_SECRET', logLevel: 'LOG_LEVEL', plugins: 'PLUGINS', publicUrl: 'PUBLIC_URL',
  demoData: 'DEMO_DATA', usageMaxAgeDays: 'USAGE_MAX_AGE_DAYS', usageMaxFutureMinutes: 'USAGE_MAX_FUTURE_MINUTES',
  reportTimeZone: 'REPORT_TIME_ZONE', reportRetentionDays: 'REPORT_RETENTION_DAYS',
}

function readConfigFile(env: Source, cwd: string): Source {
  const named = env.CONFIG_FILE
  const path = resolve(cwd, named ?? 'config/ledgerlite.json')
  if (!existsSync(path)) {
    if (named) throw new SettingsError('CONFIG_FILE', `no file at ${path}`)
    return {}
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new SettingsError('CONFIG_FILE', `${path} is not valid JSON (${(error as Error).message})`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SettingsError('CONFIG_FILE', `${path} must hold a JSON object`)
  }
  const out: Source = {}
  for (const [key, value] of Object.entries(parsed)) {
    const name = FILE_KEYS[key]
    if (!name) throw new SettingsError(`${key} (in ${path})`, `unknown key; known keys are ${Object.keys(FILE_KEYS).join(', ')}`)
    out[name] = Array.isArray(value) ? value.join(',') : String(value)
  }
  return out
}

function read<N extends FieldName>(source: Source, name: N): z.output<(typeof fields)[N]> | undefined {
  const rawValue = source[name]
  if (rawValue === undefined || rawValue === '') return undefined
  const result = fields[name].safeParse(rawValue.trim())
  if (!result.success) {
    const problem = result.error.issues[0]?.message ?? 'is not valid'
    const shown = name === 'SESSION_SECRET' || name === 'DATABASE_URL' || name === 'SMTP_URL' ? '' : ` (got "${rawValue}")`
    throw new SettingsError(name, problem + shown)
  }
  return result.data as z.output<(typeof fields)[N]>
}

/**
 * Reads and checks every setting. Throws {@link SettingsError} on the first bad value; secrets and
 * connection strings are never echoed back in the message.
 */
export function loadSettings(env: Source = process.env, cwd: string = process.cwd()): Settings {
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''))
  const source: Source = { ...readConfigFile(env, cwd), ...given }
  const production = (read(source, 'NODE_ENV') ?? 'development') === 'production'
  const sessionSecret = read(source, 'SESSION_SECRET')
  if (production && !sessionSecret) {
    throw new SettingsError('SESSION_SECRET', 'is required when NODE_ENV=production (at least 32 random characters)')
  }
  const demoData = read(source, 'DEMO_DATA') ?? !production
  if (production && demoData) {
    throw new SettingsError('DEMO_DATA', 'cannot be on when NODE_ENV=production (demo logins have a published password)')
  }
  return Object.freeze({
    port: read(source, 'PORT') ?? 3000,
    host: read(source, 'HOST') ?? '127.0.0.1',
    dataDir: resolve(cwd, read(source, 'DATA_DIR') ?? 'data'),
    databaseUrl: read(source, 'DATABASE_URL'),
    smtpUrl: read(source, 'SMTP_URL'),
    sessionSecret,
    logLevel: read(source, 'LOG_LEVEL') ?? 'info',
    plugins: read(source, 'PLUGINS'),
    publicUrl: read(source, 'PUBLIC_URL')?.replace(/\/+$/, ''),
    demoData,
    production,
    usageMaxAgeDays: read(source, 'USAGE_MAX_AGE_DAYS') ?? 35,
    usageMaxFutureMinutes: read(source, 'USAGE_MAX_FUTURE_MINUTES') ?? 5,
    reportTimeZone: read(source, 'REPORT_TIME_ZONE') ?? 'UTC',
    reportRetentionDays: read(source, 'REPORT_RETENTION_DAYS') ?? 90,
  })
}
