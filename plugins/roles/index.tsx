/** Roles: the permission matrix, delegation, and who holds each role. Rules live in core/access/roles.ts. */
import { definePlugin } from '../../core/plugins/define.ts'

export const rolesPlugin = definePlugin({
  id: 'roles',
  title: 'Roles',
  description: 'Custom roles with a permission matrix and delegation.',
  nav: [{ section: 'Administration', label: 'Roles', href: '/roles', requires: ['read', 'Role'], order: 30 }],
  routes: () => {},
})
