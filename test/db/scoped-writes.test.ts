import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { recordAudit } from '../../core/audit/audit.ts'
import { insertApiToken } from '../../core/auth/tokens.ts'
import { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { dbLabel, seedTree, testRuntime, type TestRuntime, type Tree } from '../support/fixture.ts'

const test = suite<{ rt: TestRuntime; tree: Tree }>(`scoped writes and audit rows (${dbLabel})`)
test.before(async (ctx) => {
  ctx.rt = await testRuntime()
  ctx.tree = await seedTree(ctx.rt.database.db)
})
test.after(async (ctx) => { await ctx.rt.dispose() })

const scoped = (ctx: { rt: TestRuntime }, org: Tree[keyof Tree]) =>
  new ScopedDb(ctx.rt.database.db, { orgId: org.id, path: org.path }, undefined, { userId: 1, email: 'actor@test.example', orgId: org.id, requestId: 'req-1' })

test('an update that moves a row to an organisation outside the scope matches nothing; inside it, it moves', async (ctx) => {
  const { rt, tree } = ctx
  const user = await rt.database.db.selectFrom('users').select(['id', 'org_id']).where('org_id', '=', tree.alphaCustomer.id).executeTakeFirstOrThrow()
  const token = await insertApiToken(rt.database.db, { orgId: tree.alphaCustomer.id, userId: user.id, name: 'probe', expiresAt: null })
  const alpha = scoped(ctx, tree.alpha)
  const out = await alpha.updateTable('api_tokens').set({ org_id: tree.beta.id }).where('id', '=', token.id).executeTakeFirst()
  assert.is(Number(out.numUpdatedRows), 0)
  const stayed = await rt.database.db.selectFrom('api_tokens').select('org_id').where('id', '=', token.id).executeTakeFirstOrThrow()
  assert.is(stayed.org_id, tree.alphaCustomer.id)
  const inside = await alpha.updateTable('api_tokens').set({ org_id: tree.alphaSub.id }).where('id', '=', token.id).executeTakeFirst()
  assert.is(Number(inside.numUpdatedRows), 1)
  const moved = await rt.database.db.selectFrom('api_tokens').select('org_id').where('id', '=', token.id).executeTakeFirstOrThrow()
  assert.is(moved.org_id, tree.alphaSub.id)
  // Updates that do not touch org_id are not affected by the guard.
  const renamed = await alpha.updateTable('api_tokens').set({ name: 'renamed' }).where('id', '=', token.id).executeTakeFirst()
  assert.is(Number(renamed.numUpdatedRows), 1)
})

test('an audit row keeps actor, before/after as JSON and redacts secrets; it rolls back with its transaction', async (ctx) => {
  const { rt, tree } = ctx
  const sdb = scoped(ctx, tree.alpha)
  await sdb.transaction(async (trx) => {
    await recordAudit(trx, { orgId: tree.alpha.id, action: 'update', subject: 'User', subjectId: 7, summary: 'probe kept', before: { name: 'a', password: 'hunter2-secret' }, after: { name: 'b', nested: { token: 'llt_x' } } })
  })
  await sdb.transaction(async (trx) => {
    await recordAudit(trx, { orgId: tree.alpha.id, action: 'update', subject: 'User', summary: 'probe rolled back' })
    throw new Error('roll back')
  }).catch(() => {})
  const rows = await rt.database.db.selectFrom('audit_log').selectAll().where('summary', 'like', 'probe%').execute()
  assert.equal(rows.map((r) => r.summary), ['probe kept'])
  const row = rows[0]!
  assert.equal([row.actor_user_id, row.actor_email, row.actor_org_id, row.request_id, row.subject_id], [1, 'actor@test.example', tree.alpha.id, 'req-1', '7'])
  assert.equal(row.before, { name: 'a', password: '[redacted]' })
  assert.equal(row.after, { name: 'b', nested: { token: '[redacted]' } })
  assert.not.ok(JSON.stringify(rows).includes('hunter2'))
})

test.run()
