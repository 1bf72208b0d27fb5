/**
 * The currency rule of money.ts as SQL, for reports that turn minor units into major units in the
 * database. Built from the same table, so SQL and JS never disagree about a currency.
 *
 * @example
 * sql`sum(invoices.total_minor)::numeric / ${minorPerMajorSql(sql.ref('invoices.currency'))}`
 */
import { sql, type Expression, type RawBuilder } from 'kysely'
import { unusualExponents } from './money.ts'

/**
 * One `in` list per exponent rather than a branch per currency: PostgreSQL hashes a long `in` list,
 * where a `case` with a branch per currency compares a common currency with every branch (half a
 * second of a million-row export).
 */
function byCurrency(currency: Expression<string>, value: (exponent: number) => string, usual: string): RawBuilder<number> {
  const byExponent = new Map<number, string[]>()
  for (const [code, exponent] of unusualExponents()) byExponent.set(exponent, [...(byExponent.get(exponent) ?? []), code])
  const whens = [...byExponent].map(([exponent, codes]) => sql`when ${currency} in (${sql.join(codes.map((code) => sql.lit(code)))}) then ${sql.raw(value(exponent))}`)
  return sql<number>`(case ${sql.join(whens, sql` `)} else ${sql.raw(usual)} end)`
}

/** Minor units in one major unit: 100 for EUR, 1 for JPY, 1000 for KWD. */
export function minorPerMajorSql(currency: Expression<string>): RawBuilder<number> {
  return byCurrency(currency, (e) => String(10 ** e), '100')
}

/**
 * One minor unit in major units as an exact `numeric` literal (0.01, 1, 0.001). Multiplying minor
 * units by it keeps the currency's scale in the text: -1250 x 0.01 is `-12.50`.
 */
export function majorPerMinorSql(currency: Expression<string>): RawBuilder<number> {
  return byCurrency(currency, (e) => (e === 0 ? '1' : `0.${'0'.repeat(e - 1)}1`), '0.01')
}
