/** The audit log: who changed what, where, before and after, within the reader's subtree. */
import { definePlugin } from '../../core/plugins/define.ts'

export const auditPlugin = definePlugin({
  id: 'audit',
  title: 'Audit log',
  description: 'Every administrative change, filterable by actor, organisation, subject and date.',
  nav: [{ section: 'Administration', label: 'Audit log', href: '/audit', requires: ['read', 'AuditLog'], order: 40 }],
  routes: () => {},
})
