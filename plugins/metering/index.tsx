/**
 * Metering: the recent usage events of the caller's subtree with the rollup lag (`/metering`), and
 * the operator's CSV backfill import (`/metering/import`). Ingestion itself is the JSON API
 * (`POST /api/v1/usage-events`, core/api/usage.ts); the rules live in core/billing/usage*.ts.
 */
import type { Context } from 'hono'
import { can } from '../../core/access/ability.ts'
import { rollupLag } from '../../core/billing/rollups.ts'
import { importUsageCsv, MAX_IMPORT_BYTES, mayImportUsage } from '../../core/billing/usage-import.ts'
import { listUsageEvents, usageFilter } from '../../core/billing/usage-list.ts'
import type { AppEnv } from '../../core/http/env.ts'
import { HttpProblem } from '../../core/http/problem.ts'
import { page } from '../../core/http/render.tsx'
import { definePlugin } from '../../core/plugins/define.ts'
import { EventsPage, ImportPage } from './views.tsx'

function requireImporter(c: Context<AppEnv>): void {
  if (!mayImportUsage(c.var.org, c.var.ability)) {
    throw new HttpProblem(403, 'Only the operator backfills usage by CSV import; send current usage through the API.')
  }
}

export const meteringPlugin = definePlugin({
  id: 'metering',
  title: 'Metering',
  description: 'Usage events as they arrive, the rollup lag, and the CSV backfill import.',
  nav: [{ section: 'Billing', label: 'Usage events', href: '/metering', requires: ['read', 'UsageEvent'], order: 30 }],
  routes: (app) => {
    app.get('/', can('read', 'UsageEvent'), async (c) => {
      const raw = { subscription: (c.req.query('subscription') ?? '').trim(), meter: (c.req.query('meter') ?? '').trim() }
      const parsed = usageFilter.safeParse({ ...raw, before: c.req.query('before') ?? '', limit: '50' })
      const { rows, next } = parsed.success ? await listUsageEvents(c.var.db, parsed.data) : { rows: [], next: null }
      const lag = { ...(await rollupLag(c.var.db)), now: new Date() }
      return page(c, {
        title: 'Usage events',
        body: <EventsPage rows={rows} next={next} filter={raw} lag={lag} canImport={mayImportUsage(c.var.org, c.var.ability)}
          error={parsed.success ? undefined : 'The filter is not valid: use a subscription id (digits) and a meter code.'} />,
      })
    })

    app.get('/import', can('create', 'UsageEvent'), async (c) => {
      requireImporter(c)
      return page(c, { title: 'Import usage', body: <ImportPage csrf={c.var.csrfToken} delimiter="comma" maxBytes={MAX_IMPORT_BYTES} /> })
    })

    app.post('/import', can('create', 'UsageEvent'), async (c) => {
      requireImporter(c)
      const body = await c.req.parseBody()
      const delimiter = body.delimiter === 'pipe' ? 'pipe' : 'comma'
      const again = (status: 413 | 422, message: string) =>
        page(c, { title: 'Import usage', status, body: <ImportPage csrf={c.var.csrfToken} delimiter={delimiter} maxBytes={MAX_IMPORT_BYTES} message={message} /> })
      const file = body.file
      if (!(file instanceof File) || file.size === 0) return again(422, 'Choose a CSV file to import.')
      if (file.size > MAX_IMPORT_BYTES) return again(413, `The file is too large (${Math.ceil(file.size / 1024 / 1024)} MB); import at most ${MAX_IMPORT_BYTES / 1024 / 1024} MB at a time.`)
      let text: string
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer())
      } catch {
        return again(422, 'The file is not UTF-8 text.')
      }
      const report = await importUsageCsv(c.var.db, text, { delimiter: delimiter === 'pipe' ? '|' : ',', maxFutureMinutes: c.var.settings?.usageMaxFutureMinutes ?? 5 })
      c.var.log.info('usage imported', { rows: report.rows, accepted: report.accepted, duplicates: report.duplicates, errors: report.errors.length })
      return page(c, {
        title: 'Import usage',
        body: <ImportPage csrf={c.var.csrfToken} delimiter={delimiter} maxBytes={MAX_IMPORT_BYTES} report={report} fileName={file.name.slice(0, 200)} />,
      })
    })
  },
})
