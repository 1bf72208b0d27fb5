/**
 * JSON API for usage events, mounted at `/api/v1`: `POST /usage-events` takes a batch (session or
 * bearer token), `GET /usage-events` lists stored events of the caller's subtree. The rules live in
 * core/billing/usage.ts; this file reads the body and picks the status.
 */
import { Hono } from 'hono'
import { can } from '../access/ability.ts'
import { listUsageEvents, usageFilter } from '../billing/usage-list.ts'
import { ingestUsage, MAX_EVENTS_PER_REQUEST, readUsageJson, usageWindow } from '../billing/usage.ts'
import type { AppEnv } from '../http/env.ts'
import { HttpProblem } from '../http/problem.ts'
import { parseInput } from './json.ts'

export function usageApi(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()

  app.post('/usage-events', can('create', 'UsageEvent'), async (c) => {
    let body: unknown
    try {
      body = readUsageJson(await c.req.text())
    } catch {
      throw new HttpProblem(400, 'The request body is not valid JSON.')
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpProblem(400, 'The request body must be a JSON object: {"events": [...]}.')
    const events = (body as { events?: unknown }).events
    if (events === undefined) throw new HttpProblem(400, 'The request body needs "events": a list of usage events.')
    if (!Array.isArray(events)) throw new HttpProblem(400, '"events" must be a list of usage events.')
    if (events.length === 0) throw new HttpProblem(400, '"events" is empty: send at least one usage event.')
    if (events.length > MAX_EVENTS_PER_REQUEST) {
      throw new HttpProblem(413, `Too many events in one request: ${events.length}; send at most ${MAX_EVENTS_PER_REQUEST} per request.`)
    }
    const report = await ingestUsage(c.var.db, events, { source: 'api', window: usageWindow(c.var.settings) })
    c.var.log.info('usage events received', { accepted: report.accepted, duplicates: report.duplicates, errors: report.errors.length })
    const errors = report.errors.map(({ index, message }) => ({ index, message }))
    // A batch of one that conflicts is the plain "409 Conflict" a single-event client expects.
    if (events.length === 1 && report.errors[0]?.conflict) throw new HttpProblem(409, report.errors[0].message)
    const status = report.accepted === 0 && report.duplicates === 0 ? 422 : 200
    return c.json({ accepted: report.accepted, duplicates: report.duplicates, errors }, status)
  })

  app.get('/usage-events', can('read', 'UsageEvent'), async (c) => {
    const filter = parseInput(usageFilter, c.req.query())
    const page = await listUsageEvents(c.var.db, filter)
    return c.json({
      events: page.rows.map((e) => ({
        id: e.id, orgId: e.org_id, subscriptionId: e.subscription_id, meter: e.meter_code, quantity: e.quantity,
        timestamp: e.occurred_at.toISOString(), receivedAt: e.received_at.toISOString(), idempotencyKey: e.idempotency_key,
        source: e.source, properties: e.properties ?? null,
      })),
      next: page.next,
    })
  })

  return app
}
