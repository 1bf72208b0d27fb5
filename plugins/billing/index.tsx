/** Billing (stub: being written). */
import { definePlugin } from '../../core/plugins/define.ts'

export const billingPlugin = definePlugin({ id: 'billing', title: 'Billing' })
