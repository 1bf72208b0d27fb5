/** Metering (stub: being written). */
import { definePlugin } from '../../core/plugins/define.ts'

export const meteringPlugin = definePlugin({ id: 'metering', title: 'Metering' })
