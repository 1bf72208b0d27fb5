/**
 * The cost & expense report: what providing the services cost (usage x unit cost, plus fixed
 * costs of plans) against what was invoiced, with margin and margin %, by account (with each
 * account's balance: invoiced - credits - paid) and by service. Costs are the caller's own
 * organisation's catalog costs: the operator's cost of providing for the operator, a reseller's
 * own costs for its book. Whole months. See README.md for each figure.
 */
import { sql, type SelectQueryBuilder } from 'kysely'
import { defineReport, type ReportContext } from '../../core/reports/define.ts'
import { accountTypeParam, orgScopeParam, periodParam, type ParamsShape } from '../../core/reports/params.ts'
import { fixedCosts, invoicedByAccount, invoicedByService, minorPerMajor, monthRange, usageCosts } from './cost-sql.ts'

const params = {
  period: periodParam({ default: 'last_month', label: 'Period (whole months)' }),
  orgs: orgScopeParam({ label: 'Accounts' }),
  accountType: accountTypeParam(),
}

/** One row of either tab; the columns a tab does not show are null in it. */
export interface CostReportRow {
  account_id: number | null
  account: string | null
  kind: string | null
  reseller: string | null
  line: string | null
  service: string | null
  category: string | null
  accounts: string | null
  currency: string
  usage_cost: string
  fixed_cost: string
  cost: string
  revenue: string
  margin: string
  margin_pct: string | null
  credits: string | null
  paid: string | null
  balance: string | null
}

/** The summed figures every tab shows, from the contributions `u` grouped by the tab's keys. */
function figures() {
  const factor = minorPerMajor('u.currency')
  const usage = sql<string>`round(sum(u.usage_exact) * ${factor})::bigint`
  const fixed = sql<string>`round(sum(u.fixed_exact) * ${factor})::bigint`
  const cost = sql<string>`(${usage} + ${fixed})`
  const revenue = sql<string>`sum(u.revenue)::bigint`
  return [
    'u.currency as currency',
    usage.as('usage_cost'),
    fixed.as('fixed_cost'),
    cost.as('cost'),
    revenue.as('revenue'),
    sql<string>`(${revenue} - ${cost})`.as('margin'),
    sql<string | null>`(case when ${revenue} > 0 then round((${revenue} - ${cost}) * 100.0 / ${revenue}, 2) end)`.as('margin_pct'),
  ] as const
}

function byAccount(context: ReportContext<ParamsShape>) {
  const range = monthRange(context.params.period)
  const parts = usageCosts(context, range, false).unionAll(fixedCosts(context, range)).unionAll(invoicedByAccount(context, range))
  return context.db.organisations()
    .innerJoin(parts.as('u'), 'u.org_id', 'organisations.id')
    .leftJoin('organisations as parent', (join) => join.onRef('parent.id', '=', 'organisations.parent_id').on('parent.kind', '=', 'reseller'))
    .groupBy(['organisations.id', 'organisations.name', 'organisations.kind', 'parent.name', 'u.currency'])
    .select([
      'organisations.id as account_id',
      'organisations.name as account',
      'organisations.kind as kind',
      'parent.name as reseller',
      sql<null>`null::text`.as('line'),
      ...figures(),
      sql<string>`sum(u.credits)::bigint`.as('credits'),
      sql<string>`sum(u.paid)::bigint`.as('paid'),
      sql<string>`(sum(u.revenue) - sum(u.credits) - sum(u.paid))::bigint`.as('balance'),
    ])
}

function byService(context: ReportContext<ParamsShape>) {
  const range = monthRange(context.params.period)
  const parts = usageCosts(context, range, true).unionAll(fixedCosts(context, range)).unionAll(invoicedByService(context, range))
  return context.db.organisations()
    .innerJoin(parts.as('u'), 'u.org_id', 'organisations.id')
    .leftJoin('services', 'services.id', 'u.service_id')
    .groupBy(['u.line', 'u.service_id', 'services.name', 'services.category', 'u.currency'])
    .select([
      sql<null>`null::integer`.as('account_id'),
      sql<string>`(u.line || coalesce(':' || u.service_id, ''))`.as('line'),
      sql<string>`(case u.line when 'plan-fees' then 'Plan fees (fixed)' when 'discounts' then 'Discounts and adjustments' when 'other' then 'Other usage' else services.name end)`.as('service'),
      sql<string | null>`(case u.line when 'plan-fees' then 'fixed' when 'discounts' then 'discount' else services.category end)`.as('category'),
      sql<string>`count(distinct u.org_id)`.as('accounts'),
      ...figures(),
    ])
}

export const costReport = defineReport({
  id: 'cost.expense',
  title: 'Cost & expense',
  description: 'What providing the services cost (usage x unit cost, plus fixed plan costs) against what was invoiced, with margin, by account and by service; each account\'s balance (invoiced - credits - paid). Whole months; costs are your organisation\'s catalog costs.',
  category: 'Billing',
  subject: 'CostReport',
  params,
  tabs: [
    { id: 'by-account', label: 'By account' },
    { id: 'by-service', label: 'By service' },
  ],
  columns: [
    { key: 'account_id', label: 'Account id', type: 'integer', hiddenInTable: true, tabs: ['by-account'] },
    { key: 'account', label: 'Account', type: 'link', href: (row) => (row.account_id === null ? null : `/organisations/${row.account_id}`), tabs: ['by-account'] },
    { key: 'kind', label: 'Kind', type: 'text', tabs: ['by-account'] },
    { key: 'reseller', label: 'Reseller', type: 'text', tabs: ['by-account'] },
    { key: 'line', label: 'Line key', type: 'text', hiddenInTable: true, tabs: ['by-service'] },
    { key: 'service', label: 'Service', type: 'text', tabs: ['by-service'] },
    { key: 'category', label: 'Category', type: 'text', tabs: ['by-service'] },
    { key: 'accounts', label: 'Accounts', type: 'integer', tabs: ['by-service'], description: 'Accounts with a cost or an invoiced amount on this line.' },
    { key: 'usage_cost', label: 'Usage cost', type: 'money', currency: 'currency', total: true },
    { key: 'fixed_cost', label: 'Fixed cost', type: 'money', currency: 'currency', total: true },
    { key: 'cost', label: 'Cost', type: 'money', currency: 'currency', total: true },
    { key: 'revenue', label: 'Invoiced', type: 'money', currency: 'currency', total: true },
    { key: 'margin', label: 'Margin', type: 'money', currency: 'currency', total: true },
    { key: 'margin_pct', label: 'Margin %', type: 'percent' },
    { key: 'credits', label: 'Credits applied', type: 'money', currency: 'currency', total: true, tabs: ['by-account'] },
    { key: 'paid', label: 'Paid', type: 'money', currency: 'currency', total: true, tabs: ['by-account'] },
    { key: 'balance', label: 'Balance', type: 'money', currency: 'currency', total: true, tabs: ['by-account'] },
    { key: 'currency', label: 'Currency', type: 'text' },
  ],
  defaultSort: '-cost',
  rowKey: ['account_id', 'line', 'currency'],
  totalsBy: ['currency'],
  query: (context) => (context.tab === 'by-service' ? byService(context) : byAccount(context)) as unknown as SelectQueryBuilder<any, any, CostReportRow>,
})
