/** Users of the organisations in scope, their roles, and API tokens. Rules live in core/access/. */
import { definePlugin } from '../../core/plugins/define.ts'

export const usersPlugin = definePlugin({
  id: 'users',
  title: 'Users',
  description: 'Users, their roles, password resets, and API tokens.',
  nav: [
    { section: 'Administration', label: 'Users', href: '/users', requires: ['read', 'User'], order: 20 },
    { section: 'Administration', label: 'API tokens', href: '/users/tokens', requires: ['read', 'ApiToken'], order: 50 },
  ],
  routes: () => {},
})
