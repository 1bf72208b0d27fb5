import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { currencyExponent, formatMoney, formatQuantity, isDecimal, parseMoney, scaleDecimal, sumMinor, toMajor, toMinorUnits, unscale } from '../../core/billing/money.ts'

const test = suite('money')

test('currency exponents: two decimals by default, none for yen, three for dinars', () => {
  assert.is(currencyExponent('EUR'), 2)
  assert.is(currencyExponent('JPY'), 0)
  assert.is(currencyExponent('KWD'), 3)
})

test('decimals scale exactly and round half away from zero', () => {
  assert.is(scaleDecimal('1.25', 3), 1250n)
  assert.is(scaleDecimal('0.335', 2), 34n)
  assert.is(scaleDecimal('-0.335', 2), -34n)
  assert.is(scaleDecimal('0.334999', 2), 33n)
  assert.is(scaleDecimal('123456789012345678.9', 1), 1234567890123456789n)
  assert.throws(() => scaleDecimal('1e3', 2), /not a decimal/)
  assert.throws(() => scaleDecimal('', 2), /not a decimal/)
  assert.is(unscale(-5n, 2), '-0.05')
  assert.is(unscale(1250n, 0), '1250')
})

test('minor units <-> major units round-trip for each exponent', () => {
  assert.is(toMinorUnits('12.34', 'EUR'), 1234n)
  assert.is(toMinorUnits('12.5', 'JPY'), 13n)
  assert.is(toMinorUnits('1.2345', 'KWD'), 1235n)
  for (const [minor, currency] of [[1234n, 'EUR'], [-7n, 'GBP'], [99n, 'JPY'], [123456n, 'KWD']] as const) {
    assert.is(toMinorUnits(toMajor(minor, currency), currency), minor)
  }
})

test('amounts typed by people: grouping allowed, too many decimals or letters refused', () => {
  assert.is(parseMoney('1,234.50', 'EUR'), 123450n)
  assert.is(parseMoney(' 7 ', 'EUR'), 700n)
  assert.is(parseMoney('12.345', 'EUR'), undefined)
  assert.is(parseMoney('12.3', 'JPY'), undefined)
  assert.is(parseMoney('abc', 'EUR'), undefined)
  assert.is(parseMoney('', 'EUR'), undefined)
  assert.is(parseMoney('1e5', 'EUR'), undefined)
})

test('formatting is exact beyond 2^53 and carries the sign', () => {
  assert.is(formatMoney('-123456', 'EUR'), '-€1,234.56')
  assert.is(formatMoney('900719925474099312', 'EUR'), '€9,007,199,254,740,993.12')
  assert.is(formatMoney(5n, 'JPY'), 'JP¥5')
  assert.is(formatQuantity('1234.500000', 'GB'), '1,234.5 GB')
  assert.is(formatQuantity('3.000000'), '3')
})

test('sums are exact', () => {
  assert.is(sumMinor(['9007199254740993', '1', -2n]), 9007199254740992n)
  assert.ok(isDecimal('-0.5'))
  assert.not.ok(isDecimal('.5'))
  assert.not.ok(isDecimal('NaN'))
})

test.run()
