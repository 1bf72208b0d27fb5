/** The SQL form of the currency rule agrees with money.ts for every listed currency and the default. */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { sql } from 'kysely'
import { majorPerMinorSql, minorPerMajorSql } from '../../core/billing/money-sql.ts'
import { currencyExponent, unusualExponents } from '../../core/billing/money.ts'
import { dbLabel, testRuntime, type TestRuntime } from '../support/fixture.ts'

const test = suite(`money in SQL (${dbLabel})`)
let rt: TestRuntime
test.before(async () => { rt = await testRuntime() })
test.after(async () => { await rt?.dispose() })

test('minor units per major unit and the scaled amount match currencyExponent', async () => {
  const codes = ['EUR', 'USD', ...unusualExponents().map(([code]) => code)]
  assert.ok(codes.includes('JPY') && codes.includes('KWD'))
  for (const code of codes) {
    const c = sql.val(code)
    const { factor, major } = (await sql<{ factor: string; major: string }>`select ${minorPerMajorSql(c)}::text as factor, (-1250::numeric * ${majorPerMinorSql(c)})::text as major`.execute(rt.database.db)).rows[0]!
    const exponent = currencyExponent(code)
    assert.is(factor, String(10 ** exponent), code)
    // -1250 minor units written with exactly the currency's decimals: -12.50, -1250, -1.250.
    assert.is(major, exponent === 0 ? '-1250' : `${(-1250 / 10 ** exponent).toFixed(exponent)}`, code)
  }
})

test.run()
