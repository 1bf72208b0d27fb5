/**
 * The accounts report: every organisation in scope with its place in the tree, its active
 * subscriptions and the usage events it sent in the period (from the daily rollup, never raw
 * events). Small on purpose: it is the report the engine's own tests run, and a useful list of
 * accounts to export.
 */
import { sql } from 'kysely'
import { defineReport } from '../../core/reports/define.ts'
import { accountTypeParam, enumParam, orgScopeParam, periodParam, textParam } from '../../core/reports/params.ts'

export const accountsReport = defineReport({
  id: 'organisations.accounts',
  title: 'Accounts',
  description: 'Organisations in scope with their parent, status, active subscriptions and usage events in the period.',
  category: 'Accounts',
  subject: 'Organisation',
  params: {
    period: periodParam({ default: 'this_month' }),
    orgs: orgScopeParam(),
    accountType: accountTypeParam(),
    status: enumParam({ label: 'Status', values: [{ value: 'active', label: 'Active' }, { value: 'suspended', label: 'Suspended' }] }),
    q: textParam({ label: 'Name contains' }),
  },
  columns: [
    { key: 'id', label: 'Id', type: 'integer', hiddenInTable: true },
    { key: 'name', label: 'Organisation', type: 'link', href: (row) => `/organisations/${row.id}` },
    { key: 'kind', label: 'Kind', type: 'text' },
    { key: 'parent', label: 'Parent', type: 'text' },
    { key: 'status', label: 'Status', type: 'text' },
    { key: 'currency', label: 'Currency', type: 'text' },
    { key: 'subscriptions', label: 'Active subscriptions', type: 'integer', total: true },
    { key: 'events', label: 'Usage events', type: 'integer', total: true },
    { key: 'created', label: 'Created', type: 'date' },
  ],
  defaultSort: 'name',
  rowKey: ['id'],
  charts: [{
    id: 'events-per-day',
    title: 'Usage events per day',
    kind: 'line',
    yLabel: 'events',
    query: ({ db, params, orgIds }) => db.selectFrom('usage_daily')
      .where('usage_daily.org_id', 'in', orgIds)
      .where('usage_daily.day', '>=', params.period.from)
      .where('usage_daily.day', '<=', params.period.to)
      .groupBy('usage_daily.day')
      .orderBy('usage_daily.day')
      .select([sql<string>`usage_daily.day::text`.as('x'), sql<string>`sum(usage_daily.event_count)::text`.as('y')]),
  }],
  query: ({ db, params, orgIds }) => {
    const usage = db.selectFrom('usage_daily')
      .where('usage_daily.day', '>=', params.period.from)
      .where('usage_daily.day', '<=', params.period.to)
      .groupBy('usage_daily.org_id')
      .select(['usage_daily.org_id', sql<string>`sum(usage_daily.event_count)`.as('events')])
    const active = db.selectFrom('subscriptions')
      .where('subscriptions.status', '=', 'active')
      .groupBy('subscriptions.org_id')
      .select(['subscriptions.org_id', sql<string>`count(*)`.as('n')])
    // The parent through the scoped handle: a reseller's own parent (above its subtree) shows as empty.
    const parents = db.organisations().select(['organisations.id', 'organisations.name'])
    return db.organisations()
      .leftJoin(parents.as('parent'), 'parent.id', 'organisations.parent_id')
      .leftJoin(usage.as('u'), 'u.org_id', 'organisations.id')
      .leftJoin(active.as('s'), 's.org_id', 'organisations.id')
      .where('organisations.id', 'in', orgIds)
      .$if(params.status !== undefined, (qb) => qb.where('organisations.status', '=', params.status!))
      .$if(params.q !== undefined, (qb) => qb.where(sql<boolean>`strpos(lower(organisations.name), lower(${params.q})) > 0`))
      .select([
        'organisations.id',
        'organisations.name',
        'organisations.kind',
        'parent.name as parent',
        'organisations.status',
        'organisations.currency',
        sql<string>`coalesce(s.n, 0)`.as('subscriptions'),
        sql<string>`coalesce(u.events, 0)`.as('events'),
        sql<string>`to_char(organisations.created_at at time zone 'UTC', 'YYYY-MM-DD')`.as('created'),
      ])
  },
})
