/** Catalog (stub: being written). */
import { definePlugin } from '../../core/plugins/define.ts'

export const catalogPlugin = definePlugin({ id: 'catalog', title: 'Catalog' })
