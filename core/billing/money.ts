/**
 * Money and decimal quantities without floats. Amounts are integer minor units (bigint columns,
 * decimal strings in JS, `bigint` when arithmetic is needed); prices and quantities are SQL
 * `numeric`, decimal strings in JS.
 *
 * The rounding rule: a charge is computed exactly in `numeric` (quantity x unit price x 10^exponent)
 * and rounded once, to a whole minor unit, half away from zero (PostgreSQL's `round(numeric)`).
 * Totals are sums of rounded lines, so an invoice total always equals the sum of its lines.
 *
 * @example
 * formatMoney('123456', 'EUR')      // '€1,234.56'
 * parseMoney('12.5', 'EUR')         // 1250n
 * toMinorUnits('0.333333', 'EUR')   // 33n
 */

/** ISO 4217 currencies whose minor unit is not a hundredth. Anything else has two decimals. */
const EXPONENTS: Readonly<Record<string, number>> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
}

/** The currencies whose minor unit is not a hundredth, with their decimal places (SQL builds its `case` from this). */
export function unusualExponents(): ReadonlyArray<readonly [currency: string, exponent: number]> {
  return Object.entries(EXPONENTS)
}

/** Decimal places of a currency's minor unit (2 for EUR, 0 for JPY, 3 for KWD). */
export function currencyExponent(currency: string): number {
  return EXPONENTS[currency] ?? 2
}

const DECIMAL = /^-?\d{1,18}(\.\d{1,12})?$/

/** Whether `value` is a plain decimal string (`12`, `-0.5`, `3.000001`): no exponent, no spaces. */
export function isDecimal(value: string): boolean {
  return DECIMAL.test(value)
}

/** A decimal string as a scaled bigint: `('1.25', 3)` -> 1250n. Extra digits are rounded half away from zero. */
export function scaleDecimal(value: string, places: number): bigint {
  if (!isDecimal(value)) throw new RangeError(`not a decimal: ${JSON.stringify(value)}`)
  const negative = value.startsWith('-')
  const [whole = '0', fraction = ''] = (negative ? value.slice(1) : value).split('.')
  const kept = fraction.slice(0, places).padEnd(places, '0')
  let scaled = BigInt(whole + kept)
  if ((fraction[places] ?? '0') >= '5') scaled += 1n
  return negative ? -scaled : scaled
}

/** A scaled bigint back to a decimal string: `(1250n, 3)` -> '1.250'. */
export function unscale(value: bigint, places: number): string {
  const negative = value < 0n
  const digits = (negative ? -value : value).toString().padStart(places + 1, '0')
  const whole = digits.slice(0, digits.length - places)
  const fraction = places ? `.${digits.slice(-places)}` : ''
  return `${negative ? '-' : ''}${whole}${fraction}`
}

/** A major-unit decimal (`12.34`) as minor units of `currency`, rounded half away from zero. */
export function toMinorUnits(major: string, currency: string): bigint {
  return scaleDecimal(major, currencyExponent(currency))
}

/** Minor units as a major-unit decimal string: `(1250n, 'EUR')` -> '12.50'. */
export function toMajor(minor: bigint | string, currency: string): string {
  return unscale(BigInt(minor), currencyExponent(currency))
}

/**
 * An amount typed by a person (`1234.5`, `1,234.50`) as minor units, or undefined when it is not an
 * amount of `currency` (too many decimals, letters, empty).
 */
export function parseMoney(input: string, currency: string): bigint | undefined {
  const cleaned = input.trim().replace(/[,\s_]/g, '')
  if (!/^-?\d{1,15}(\.\d+)?$/.test(cleaned)) return undefined
  const decimals = cleaned.split('.')[1]?.length ?? 0
  if (decimals > currencyExponent(currency)) return undefined
  return toMinorUnits(cleaned, currency)
}

const formatters = new Map<string, Intl.NumberFormat>()

/** Minor units for people: `formatMoney('-123456', 'EUR')` -> '-€1,234.56'. Exact for any size. */
export function formatMoney(minor: bigint | string, currency: string, locale = 'en-GB'): string {
  const key = `${locale}|${currency}`
  let format = formatters.get(key)
  if (!format) {
    const digits = currencyExponent(currency)
    format = new Intl.NumberFormat(locale, { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits })
    formatters.set(key, format)
  }
  // A decimal string keeps every digit (Intl formats strings exactly); a Number would not past 2^53.
  return format.format(toMajor(minor, currency) as unknown as number)
}

/** A numeric quantity for people: trailing zeros dropped, thousands grouped. */
export function formatQuantity(value: string, unit?: string): string {
  if (!isDecimal(value)) return value
  const trimmed = value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value
  const formatted = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 12 }).format(trimmed as unknown as number)
  return unit ? `${formatted} ${unit}` : formatted
}

/** Sum of minor-unit strings, exactly. */
export function sumMinor(values: readonly (string | bigint)[]): bigint {
  let total = 0n
  for (const value of values) total += BigInt(value)
  return total
}
