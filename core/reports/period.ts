/**
 * Report periods: the presets a user picks (this month, last quarter, ...) turned into a range of
 * calendar days, in a time zone. "Today" depends on where the reader is: at 23:30 UTC on the last
 * day of a month it is already next month in Sydney. Days are plain `YYYY-MM-DD` strings; the
 * arithmetic runs on UTC dates so no daylight-saving shift can move a day.
 *
 * @example
 * resolvePeriod('last_month', { now: new Date('2026-03-10T12:00:00Z'), timeZone: 'UTC' })
 * // { preset: 'last_month', from: '2026-02-01', to: '2026-02-28', timeZone: 'UTC' }
 */

export const PERIOD_PRESETS = [
  'this_month', 'last_month', 'last_3_months', 'this_quarter', 'last_quarter', 'year_to_date', 'last_12_months', 'custom',
] as const
export type PeriodPreset = (typeof PERIOD_PRESETS)[number]

export const PERIOD_LABELS: Readonly<Record<PeriodPreset, string>> = {
  this_month: 'This month',
  last_month: 'Last month',
  last_3_months: 'Last 3 months',
  this_quarter: 'This quarter',
  last_quarter: 'Last quarter',
  year_to_date: 'Year to date',
  last_12_months: 'Last 12 months',
  custom: 'Custom range',
}

/** A resolved period: both ends inclusive, as calendar days in `timeZone`. */
export interface Period {
  readonly preset: PeriodPreset
  readonly from: string
  readonly to: string
  readonly timeZone: string
}

const DAY = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/

/** Whether `text` is a real calendar day as `YYYY-MM-DD` (so `2026-02-30` is not). */
export function isIsoDay(text: string): boolean {
  const m = DAY.exec(text)
  if (!m) return false
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
  return date.getUTCDate() === Number(m[3])
}

/** Whether `zone` is an IANA time zone this runtime knows (`Europe/Paris`, `UTC`). */
export function isTimeZone(zone: string): boolean {
  if (!zone || zone.length > 64) return false
  try {
    dayFormatter(zone)
    return true
  } catch {
    return false
  }
}

/** Day formatters by time zone: building one costs more than a whole report query's parsing. */
const dayFormatters = new Map<string, Intl.DateTimeFormat>()
const DAY_FORMATTERS_KEPT = 64

/** A formatter of YYYY-MM-DD days in `timeZone` (en-CA writes dates so); throws for an unknown zone. */
function dayFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = dayFormatters.get(timeZone)
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
    if (dayFormatters.size >= DAY_FORMATTERS_KEPT) dayFormatters.delete(dayFormatters.keys().next().value!)
    dayFormatters.set(timeZone, formatter)
  }
  return formatter
}

/**
 * The calendar day `now` falls on in `timeZone`, `YYYY-MM-DD`. en-CA writes a year below 1000 short
 * (`999-03-04`); it is padded to four digits, as PostgreSQL's `to_char(..., 'YYYY-MM-DD')` writes it
 * (years before 1 AD are not supported).
 */
export function dayIn(now: Date, timeZone: string): string {
  const text = dayFormatter(timeZone).format(now)
  return text.length === 10 ? text : text.padStart(10, '0')
}

function parts(day: string): [number, number, number] {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number]
  return [y, m, d]
}

function fmt(date: Date): string {
  return date.toISOString().slice(0, 10)
}

/** First day of the month `offset` months from the one `day` is in. */
export function monthStart(day: string, offset = 0): string {
  const [y, m] = parts(day)
  return fmt(new Date(Date.UTC(y, m - 1 + offset, 1)))
}

/** Last day of the month `offset` months from the one `day` is in. */
export function monthEnd(day: string, offset = 0): string {
  const [y, m] = parts(day)
  return fmt(new Date(Date.UTC(y, m + offset, 0)))
}

export function addDays(day: string, days: number): string {
  const [y, m, d] = parts(day)
  return fmt(new Date(Date.UTC(y, m - 1, d + days)))
}

/** Days from `from` to `to`, both counted. */
export function daysBetween(from: string, to: string): number {
  const [y1, m1, d1] = parts(from)
  const [y2, m2, d2] = parts(to)
  return Math.round((Date.UTC(y2, m2 - 1, d2) - Date.UTC(y1, m1 - 1, d1)) / 86_400_000) + 1
}

function quarterStart(day: string, offset = 0): string {
  const [y, m] = parts(day)
  const first = Math.floor((m - 1) / 3) * 3
  return fmt(new Date(Date.UTC(y, first + offset * 3, 1)))
}

export interface ResolveOptions {
  readonly now: Date
  readonly timeZone: string
  /** For `custom`: both required, `from` not after `to`. */
  readonly from?: string | undefined
  readonly to?: string | undefined
}

/** The days a preset covers when read at `now` in `timeZone`. `custom` takes `from`/`to` as given. */
export function resolvePeriod(preset: PeriodPreset, options: ResolveOptions): Period {
  const today = dayIn(options.now, options.timeZone)
  const range = (from: string, to: string): Period => ({ preset, from, to, timeZone: options.timeZone })
  switch (preset) {
    case 'this_month': return range(monthStart(today), monthEnd(today))
    case 'last_month': return range(monthStart(today, -1), monthEnd(today, -1))
    case 'last_3_months': return range(monthStart(today, -2), monthEnd(today))
    case 'this_quarter': { const s = quarterStart(today); return range(s, monthEnd(s, 2)) }
    case 'last_quarter': { const s = quarterStart(today, -1); return range(s, monthEnd(s, 2)) }
    case 'year_to_date': return range(`${today.slice(0, 4)}-01-01`, today)
    case 'last_12_months': return range(monthStart(today, -11), monthEnd(today))
    case 'custom': return range(options.from ?? today, options.to ?? today)
  }
}

/**
 * The period of the same length just before `period`, for "change against the previous period".
 * Whole months map to the same number of whole months (March -> February, Q2 -> Q1); any other
 * range to the same number of days.
 */
export function previousPeriod(period: Period): Period {
  const { from, to } = period
  if (from === monthStart(from) && to === monthEnd(to)) {
    const [y1, m1] = parts(from)
    const [y2, m2] = parts(to)
    const months = (y2 - y1) * 12 + (m2 - m1) + 1
    return { ...period, preset: 'custom', from: monthStart(from, -months), to: monthEnd(from, -1) }
  }
  const days = daysBetween(from, to)
  return { ...period, preset: 'custom', from: addDays(from, -days), to: addDays(from, -1) }
}

/** First days of the months the period touches, in order: what a monthly rollup is keyed by. */
export function monthsOf(period: Pick<Period, 'from' | 'to'>): string[] {
  const out: string[] = []
  for (let m = monthStart(period.from); m <= period.to; m = monthStart(m, 1)) out.push(m)
  return out
}

/** `2026-03-01 – 2026-03-31`, or `March 2026` for a whole month. */
export function describePeriod(period: Pick<Period, 'from' | 'to'>): string {
  if (period.from === monthStart(period.from) && period.to === monthEnd(period.from)) {
    const [y, m] = parts(period.from)
    return new Date(Date.UTC(y, m - 1, 1)).toLocaleString('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' })
  }
  return `${period.from} – ${period.to}`
}
