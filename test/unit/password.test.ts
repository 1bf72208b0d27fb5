import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { hashPassword, passwordProblem, verifyPassword } from '../../core/auth/password.ts'

test('scrypt hashes carry OWASP parameters and a random salt', async () => {
  const a = await hashPassword('a long enough password')
  const b = await hashPassword('a long enough password')
  assert.match(a, /^scrypt\$17\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/)
  assert.is.not(a, b)
})

test('verify accepts the password and refuses anything else', async () => {
  const hash = await hashPassword('correct horse battery staple')
  assert.ok(await verifyPassword('correct horse battery staple', hash))
  assert.not.ok(await verifyPassword('correct horse battery stapl', hash))
  assert.not.ok(await verifyPassword('', hash))
  assert.not.ok(await verifyPassword('x', 'md5$whatever'))
})

test('password rules', () => {
  assert.ok(passwordProblem('short'))
  assert.is(passwordProblem('twelve chars'), undefined)
})

test.run()
