import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { definePlugin, type PluginDefinition } from '../../core/plugins/define.ts'
import { PluginError } from '../../core/plugins/errors.ts'
import { resolvePlugins } from '../../core/plugins/registry.ts'

const plugin = (id: string, dependsOn: string[] = []): PluginDefinition => definePlugin({ id, title: id, dependsOn })

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    assert.instance(error, PluginError)
    return (error as PluginError).code
  }
  return undefined
}

test('orders plugins after their dependencies, whatever the list order', () => {
  const ordered = resolvePlugins([plugin('report', ['engine']), plugin('engine', ['base']), plugin('base'), plugin('other')])
  const ids = ordered.map((p) => p.id)
  assert.equal(ids.length, 4)
  assert.ok(ids.indexOf('base') < ids.indexOf('engine'))
  assert.ok(ids.indexOf('engine') < ids.indexOf('report'))
})

test('runs only the enabled plugins', () => {
  const ordered = resolvePlugins([plugin('a'), plugin('b'), plugin('c', ['a'])], ['c', 'a'])
  assert.equal(ordered.map((p) => p.id), ['a', 'c'])
})

test('a duplicate id fails at boot with LL_ERR_PLUGIN_DUPLICATE_ID', () => {
  assert.is(codeOf(() => resolvePlugins([plugin('a'), plugin('a')])), 'LL_ERR_PLUGIN_DUPLICATE_ID')
})

test('a missing dependency fails with LL_ERR_PLUGIN_MISSING_DEPENDENCY, naming both plugins', () => {
  try {
    resolvePlugins([plugin('report', ['engine'])])
    assert.unreachable('should have thrown')
  } catch (error) {
    assert.instance(error, PluginError)
    assert.is((error as PluginError).code, 'LL_ERR_PLUGIN_MISSING_DEPENDENCY')
    assert.match((error as Error).message, /"report" depends on "engine"/)
  }
  // installed but not enabled is missing too
  assert.is(codeOf(() => resolvePlugins([plugin('report', ['engine']), plugin('engine')], ['report'])), 'LL_ERR_PLUGIN_MISSING_DEPENDENCY')
})

test('a cycle fails with LL_ERR_PLUGIN_DEPENDENCY_CYCLE and shows the cycle', () => {
  try {
    resolvePlugins([plugin('a', ['b']), plugin('b', ['c']), plugin('c', ['a'])])
    assert.unreachable('should have thrown')
  } catch (error) {
    assert.is((error as PluginError).code, 'LL_ERR_PLUGIN_DEPENDENCY_CYCLE')
    assert.match((error as Error).message, /a -> b -> c -> a/)
  }
  assert.is(codeOf(() => resolvePlugins([plugin('self', ['self'])])), 'LL_ERR_PLUGIN_DEPENDENCY_CYCLE')
})

test('an enabled id that is not installed fails with LL_ERR_PLUGIN_NOT_FOUND', () => {
  assert.is(codeOf(() => resolvePlugins([plugin('a')], ['a', 'ghost'])), 'LL_ERR_PLUGIN_NOT_FOUND')
})

test('definePlugin returns a deeply frozen value and refuses bad shapes', () => {
  const p = definePlugin({ id: 'hello-world', title: 'Hello', nav: [{ section: 'S', label: 'L', href: '/hello-world' }], permissions: { subjects: ['Greeting'], actions: ['read'] } })
  assert.ok(Object.isFrozen(p))
  assert.ok(Object.isFrozen(p.nav))
  assert.ok(Object.isFrozen(p.nav![0]))
  assert.ok(Object.isFrozen(p.permissions!.subjects))
  assert.is(codeOf(() => definePlugin({ id: 'Bad_Id', title: 'x' })), 'LL_ERR_PLUGIN_INVALID')
  assert.is(codeOf(() => definePlugin({ id: 'api', title: 'x' })), 'LL_ERR_PLUGIN_INVALID')
  assert.is(codeOf(() => definePlugin({ id: 'x', title: 'x', permissions: { subjects: ['invoice'], actions: ['read'] } })), 'LL_ERR_PLUGIN_INVALID')
  assert.is(codeOf(() => definePlugin({ id: 'x', title: 'x', jobs: [{ id: 'other.job', handler: async () => {} }] })), 'LL_ERR_PLUGIN_INVALID')
})

test('migrations may be module namespaces (import * as m), which cannot be frozen', async () => {
  const m0001 = await import('../../migrations/0001_core.ts')
  const p = definePlugin({ id: 'with-migrations', title: 'M', migrations: { '0001_core': m0001 } })
  assert.is(p.migrations!['0001_core']!.up, m0001.up)
})

test.run()
