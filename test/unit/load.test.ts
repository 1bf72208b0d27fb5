import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PluginError } from '../../core/plugins/errors.ts'
import { loadInstalledPlugins } from '../../core/plugins/load.ts'
import { resolvePlugins } from '../../core/plugins/registry.ts'
import { builtInPlugins } from '../../plugins/index.ts'

test('without PLUGINS every built-in plugin is enabled', async () => {
  const { installed, enabled } = await loadInstalledPlugins(builtInPlugins, undefined)
  assert.equal(installed.map((p) => p.id), builtInPlugins.map((p) => p.id))
  assert.is(enabled, undefined)
})

test('a third-party plugin is loaded by path and enabled after its dependency', async () => {
  const { installed, enabled } = await loadInstalledPlugins(builtInPlugins, ['./test/support/hello-plugin.ts', 'organisations'])
  assert.ok(installed.some((p) => p.id === 'hello'))
  assert.equal(enabled, ['hello', 'organisations'])
  assert.equal(resolvePlugins(installed, enabled).map((p) => p.id), ['organisations', 'hello'])
})

test('a module that cannot be loaded, or exports no plugin, is a coded boot error', async () => {
  const codeOf = async (entry: string) => {
    try {
      await loadInstalledPlugins(builtInPlugins, [entry])
    } catch (error) {
      assert.instance(error, PluginError)
      return (error as PluginError).code
    }
    return undefined
  }
  assert.is(await codeOf('./test/support/no-such-plugin.ts'), 'LL_ERR_PLUGIN_NOT_FOUND')
  assert.is(await codeOf('organisation'), 'LL_ERR_PLUGIN_NOT_FOUND') // a typo of a built-in id
  assert.is(await codeOf('./test/support/agent.ts'), 'LL_ERR_PLUGIN_INVALID')
})

test.run()
