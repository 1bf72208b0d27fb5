// A third-party style plugin, loaded by path through the PLUGINS setting in tests.
import { definePlugin } from '../../core/plugins/define.ts'

export const helloPlugin = definePlugin({
  id: 'hello',
  title: 'Hello',
  dependsOn: ['organisations'],
  nav: [{ section: 'Tools', label: 'Hello', href: '/hello' }],
  routes: (app) => { app.get('/', (c) => c.text(`hello ${c.var.org.name}`)) },
})
