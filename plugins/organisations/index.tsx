/**
 * Organisations: browse the tree below your own organisation, create resellers and customers,
 * edit and move them. Every query goes through the caller's scoped handle, so anything outside
 * the caller's subtree is simply not found.
 */
import type { Context } from 'hono'
import { z } from 'zod'
import { can } from '../../core/access/ability.ts'
import type { OrganisationKind, OrganisationRow } from '../../core/db/schema.ts'
import type { AppEnv } from '../../core/http/env.ts'
import { HttpProblem, notFound } from '../../core/http/problem.ts'
import { flash, page, redirect } from '../../core/http/render.tsx'
import { definePlugin } from '../../core/plugins/define.ts'
import type { ParamsShape } from '../../core/reports/params.ts'
import {
  ancestorsInScope, createOrganisation, organisationInput, organisationPatch, organisationTree, updateOrganisation,
} from '../../core/tenancy/organisations.ts'
import { accountsReport } from './accounts-report.ts'
import { DetailPage, OrganisationForm, TreePage, type FormValues } from './views.tsx'

const idParam = z.coerce.number().int().positive()

async function orgFromParam(c: Context<AppEnv>): Promise<OrganisationRow> {
  const id = idParam.safeParse(c.req.param('id'))
  const org = id.success ? await c.var.db.organisation(id.data) : undefined
  if (!org) throw notFound('organisation')
  return org
}

/** Organisations that may be a parent: not customers, and (when moving) not inside `moving`. */
async function parentChoices(c: Context<AppEnv>, moving?: OrganisationRow): Promise<OrganisationRow[]> {
  let query = c.var.db.organisations().selectAll().where('organisations.kind', '!=', 'customer')
  if (moving) query = query.where('organisations.path', 'not like', `${moving.path}%`)
  return (await query.orderBy('organisations.path').execute()) as OrganisationRow[]
}

function fieldErrors(error: z.ZodError): Record<string, string> {
  const out: Record<string, string> = {}
  for (const issue of error.issues) {
    const key = String(issue.path[0] ?? 'form')
    out[key] ??= issue.message
  }
  return out
}

async function formBody(c: Context<AppEnv>): Promise<Record<string, string>> {
  const body = await c.req.parseBody()
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(body)) if (typeof v === 'string' && k !== '_csrf') out[k] = v
  return out
}

export const organisationsPlugin = definePlugin({
  id: 'organisations',
  title: 'Organisations',
  description: 'The tree of the operator, its resellers and their customers.',
  permissions: { subjects: ['Organisation'], actions: ['read', 'create', 'update'] },
  nav: [{ section: 'Administration', label: 'Organisations', href: '/organisations', requires: ['read', 'Organisation'], order: 10 }],
  reports: [accountsReport],
  routes: (app) => {
    app.get('/', can('read', 'Organisation'), async (c) => {
      const q = (c.req.query('q') ?? '').trim().slice(0, 100)
      const kindParam = c.req.query('kind') ?? ''
      const kind = ['operator', 'reseller', 'customer'].includes(kindParam) ? (kindParam as OrganisationKind) : undefined
      const nodes = await organisationTree(c.var.db, { ...(q ? { search: q } : {}), ...(kind ? { kind } : {}) })
      const canCreate = c.var.org.kind !== 'customer' && c.var.ability.can('create', 'Organisation')
      // The tenants-list flow: reports with an organisations filter that this user may open.
      const reports = c.var.reports.readable(c.var.ability).flatMap((g) => g.reports)
        .filter((r) => Object.values(r.params as ParamsShape).some((p) => p.kind === 'organisations'))
        .map((r) => ({ id: r.id, title: r.title }))
      return page(c, { title: 'Organisations', body: <TreePage nodes={nodes} filter={{ q, kind: kind ?? '' }} canCreate={canCreate} rootId={c.var.org.id} reports={reports} /> })
    })

    app.get('/new', can('create', 'Organisation'), async (c) => {
      const parents = await parentChoices(c)
      if (parents.length === 0) throw new HttpProblem(403, 'Customers cannot have organisations under them.')
      const parentId = Number(c.req.query('parent')) || parents[0]!.id
      const kind = c.req.query('kind') === 'customer' ? 'customer' : 'reseller'
      return page(c, {
        title: 'New organisation',
        body: <OrganisationForm csrf={c.var.csrfToken} action="/organisations" mode="create" values={{ kind, parentId }} parents={parents} errors={{}} cancelHref="/organisations" movable />,
      })
    })

    app.post('/', can('create', 'Organisation'), async (c) => {
      const values = await formBody(c)
      const parsed = organisationInput.safeParse(values)
      const showForm = async (status: 400 | 409 | 422, errors: Record<string, string>, message: string) =>
        page(c, {
          title: 'New organisation',
          status,
          body: <OrganisationForm csrf={c.var.csrfToken} action="/organisations" mode="create" values={values as FormValues} parents={await parentChoices(c)} errors={errors} message={message} cancelHref="/organisations" movable />,
        })
      if (!parsed.success) return showForm(422, fieldErrors(parsed.error), 'Check the highlighted fields.')
      try {
        const org = await createOrganisation(c.var.db, parsed.data)
        c.var.log.info('organisation created', { orgId: org.id, kind: org.kind })
        await flash(c, 'success', `${org.name} was created.`)
        return redirect(c, `/organisations/${org.id}`)
      } catch (error) {
        if (error instanceof HttpProblem && (error.status === 409 || error.status === 422)) return showForm(error.status, { ...error.fields }, error.message)
        throw error
      }
    })

    app.get('/:id', can('read', 'Organisation'), async (c) => {
      const org = await orgFromParam(c)
      const [ancestors, children, users] = await Promise.all([
        ancestorsInScope(c.var.db, org),
        c.var.db.organisations().selectAll().where('organisations.parent_id', '=', org.id).orderBy('organisations.name').execute(),
        c.var.db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('count')).where('users.org_id', '=', org.id).executeTakeFirst(),
      ])
      return page(c, {
        title: org.name,
        body: <DetailPage org={org} ancestors={ancestors} below={children as OrganisationRow[]} userCount={Number(users?.count ?? 0)} canEdit={c.var.ability.can('update', 'Organisation')} />,
      })
    })

    app.get('/:id/edit', can('update', 'Organisation'), async (c) => {
      const org = await orgFromParam(c)
      const movable = org.id !== c.var.org.id && org.kind !== 'operator'
      return page(c, {
        title: `Edit ${org.name}`,
        body: <OrganisationForm csrf={c.var.csrfToken} action={`/organisations/${org.id}`} mode="edit" movable={movable}
          values={{ name: org.name, parentId: org.parent_id ?? undefined, billingEmail: org.billing_email, currency: org.currency, status: org.status }}
          parents={movable ? await parentChoices(c, org) : []} errors={{}} cancelHref={`/organisations/${org.id}`} />,
      })
    })

    app.post('/:id', can('update', 'Organisation'), async (c) => {
      const org = await orgFromParam(c)
      const movable = org.id !== c.var.org.id && org.kind !== 'operator'
      const values = await formBody(c)
      if (!movable) delete values.parentId
      const parsed = organisationPatch.safeParse(values)
      const showForm = async (status: 409 | 422, errors: Record<string, string>, message: string) =>
        page(c, {
          title: `Edit ${org.name}`,
          status,
          body: <OrganisationForm csrf={c.var.csrfToken} action={`/organisations/${org.id}`} mode="edit" movable={movable} values={values as FormValues}
            parents={movable ? await parentChoices(c, org) : []} errors={errors} message={message} cancelHref={`/organisations/${org.id}`} />,
        })
      if (!parsed.success) return showForm(422, fieldErrors(parsed.error), 'Check the highlighted fields.')
      try {
        const updated = await updateOrganisation(c.var.db, org.id, parsed.data)
        c.var.log.info('organisation updated', { orgId: org.id })
        await flash(c, 'success', `${updated.name} was saved.`)
        return redirect(c, `/organisations/${updated.id}`)
      } catch (error) {
        if (error instanceof HttpProblem && (error.status === 409 || error.status === 422)) return showForm(error.status, { ...error.fields }, error.message)
        throw error
      }
    })
  },
})
