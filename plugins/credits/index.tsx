/** Credits (stub: being written). */
import { definePlugin } from '../../core/plugins/define.ts'

export const creditsPlugin = definePlugin({ id: 'credits', title: 'Credits' })
