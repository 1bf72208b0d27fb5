import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { abilityFor, NO_GRANTS } from '../../core/access/ability.ts'
import { listUsers } from '../../core/access/users.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { ADMIN, dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite<{ rt: TestRuntime; tree: Tree }>(`user list applies read rules in SQL (${dbLabel})`)
test.before(async (ctx) => {
  ctx.rt = await testRuntime()
  ctx.tree = await seedTree(ctx.rt.database.db)
  await ctx.rt.database.db.updateTable('users').set({ status: 'disabled' }).where('email', '=', ADMIN.alphaSub).execute()
})
test.after(async (ctx) => { await ctx.rt.dispose() })

const emails = async (ctx: { rt: TestRuntime; tree: Tree }, rules: Parameters<typeof abilityFor>[0]) => {
  const sdb = new ScopedDb(ctx.rt.database.db, { orgId: ctx.tree.alpha.id, path: ctx.tree.alpha.path })
  const { users, total } = await listUsers(sdb, { grants: NO_GRANTS, ability: abilityFor(rules) }, {}, { limit: 50, offset: 0 })
  assert.is(total, users.length)
  return users.map((u) => u.email).sort()
}

test('a conditional cannot hides exactly the rows ability.can() refuses; no read rule shows none', async (ctx) => {
  const all = await emails(ctx, [{ action: 'read', subject: 'User' }])
  assert.equal(all, [ADMIN.alpha, ADMIN.alphaCustomer, ADMIN.alphaSub, ADMIN.alphaSubCustomer].sort())
  const active = await emails(ctx, [{ action: 'read', subject: 'User' }, { action: 'read', subject: 'User', conditions: { status: 'disabled' }, inverted: true }])
  assert.equal(active, all.filter((e) => e !== ADMIN.alphaSub))
  assert.equal(await emails(ctx, [{ action: 'read', subject: 'Organisation' }]), [])
})

test.run()
