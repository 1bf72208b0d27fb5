/**
 * Structured logging: one JSON object per line on stdout (errors on stderr), filtered by level.
 * Never pass secrets, passwords, tokens or connection strings to it.
 */
import type { LogLevel } from '../config/settings.ts'

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

export type LogFields = Record<string, unknown>

export interface Logger {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  /** A logger that adds `fields` to every line (e.g. the request id). */
  child(fields: LogFields): Logger
}

export type LogSink = (line: string, level: LogLevel) => void

const defaultSink: LogSink = (line, level) => {
  if (level === 'error' || level === 'warn') process.stderr.write(line + '\n')
  else process.stdout.write(line + '\n')
}

export function createLogger(level: LogLevel, sink: LogSink = defaultSink, base: LogFields = {}): Logger {
  const threshold = RANK[level]
  const write = (at: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields) => {
    if (RANK[at] < threshold) return
    sink(JSON.stringify({ time: new Date().toISOString(), level: at, msg: message, ...base, ...serialise(fields) }), at)
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger(level, sink, { ...base, ...fields }),
  }
}

function serialise(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return fields
  const out: LogFields = {}
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value
  }
  return out
}
