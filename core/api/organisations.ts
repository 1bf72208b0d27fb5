/**
 * JSON API for the organisation tree: `GET /api/v1/organisations` (everything the caller may see),
 * `GET /api/v1/organisations/{id}` (404 outside the caller's subtree), `POST` to create and `PATCH`
 * to change or move one. Same scope and rules as the pages.
 */
import { Hono } from 'hono'
import { can } from '../access/ability.ts'
import type { OrganisationRow } from '../db/schema.ts'
import type { AppEnv } from '../http/env.ts'
import { notFound } from '../http/problem.ts'
import { createOrganisation, organisationInput, organisationPatch, updateOrganisation } from '../tenancy/organisations.ts'
import { idParam, jsonBody, parseInput } from './json.ts'

export interface OrganisationJson {
  readonly id: number
  readonly name: string
  readonly kind: OrganisationRow['kind']
  readonly parentId: number | null
  readonly status: OrganisationRow['status']
  readonly currency: string
  readonly billingEmail: string | null
  readonly createdAt: string
}

export function organisationJson(org: OrganisationRow, scopeRootId: number): OrganisationJson {
  return {
    id: org.id,
    name: org.name,
    kind: org.kind,
    // The caller's own organisation shows no parent: its parent is outside what it may see.
    parentId: org.id === scopeRootId ? null : org.parent_id,
    status: org.status,
    currency: org.currency,
    billingEmail: org.billing_email,
    createdAt: org.created_at.toISOString(),
  }
}

export function organisationApi(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  app.get('/organisations', can('read', 'Organisation'), async (c) => {
    const rows = (await c.var.db.organisations().selectAll().orderBy('organisations.path').execute()) as OrganisationRow[]
    return c.json({ organisations: rows.map((org) => organisationJson(org, c.var.db.scope.orgId)) })
  })
  app.get('/organisations/:id', can('read', 'Organisation'), async (c) => {
    const id = c.req.param('id')
    const org = /^\d{1,10}$/.test(id) ? await c.var.db.organisation(Number(id)) : undefined
    if (!org) throw notFound('organisation')
    return c.json({ organisation: organisationJson(org, c.var.db.scope.orgId) })
  })
  app.post('/organisations', can('create', 'Organisation'), async (c) => {
    const input = parseInput(organisationInput, await jsonBody(c))
    const org = await createOrganisation(c.var.db, input)
    return c.json({ organisation: organisationJson(org, c.var.db.scope.orgId) }, 201)
  })
  app.patch('/organisations/:id', can('update', 'Organisation'), async (c) => {
    const id = idParam(c, 'organisation')
    if (!(await c.var.db.organisation(id))) throw notFound('organisation')
    const patch = parseInput(organisationPatch, await jsonBody(c))
    const org = await updateOrganisation(c.var.db, id, patch)
    return c.json({ organisation: organisationJson(org, c.var.db.scope.orgId) })
  })
  return app
}
