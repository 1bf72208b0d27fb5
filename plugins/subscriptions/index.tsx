/** Subscriptions (stub: being written). */
import { definePlugin } from '../../core/plugins/define.ts'

export const subscriptionsPlugin = definePlugin({ id: 'subscriptions', title: 'Subscriptions' })
