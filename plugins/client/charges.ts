/**
 * Charges at each client's own prices, in SQL `numeric`, by the rating rules of
 * plugins/billing/README.md: per subscription, meter and calendar month,
 * `round(max(quantity - included, 0) x unit_price x 10^exponent)` (half away from zero, once per
 * line), only for a subscription rating would bill that month (not cancelled, overlapping the
 * month, its plan in the organisation's currency, the meter priced on the plan); plus the plan's
 * monthly fee for each month such a subscription overlaps. For a whole month this is exactly the
 * invoice's subtotal (before discounts and credit).
 */
import { sql, type Expression } from 'kysely'
import { minorPerMajorSql } from '../../core/billing/money-sql.ts'
import { monthEndSql, monthPieces, type DayRange, type OrgIds } from '../usage/index.tsx'
import { monthsOf } from '../../core/reports/period.ts'
import type { ScopedDb } from '../../core/tenancy/scoped-db.ts'

/** Whether rating bills subscription `s` (joined as `subscriptions`, with `plans`, `organisations`) in the month starting at `month`. */
function billedInMonth(month: Expression<unknown>) {
  return sql<boolean>`(subscriptions.status <> 'cancelled' and subscriptions.starts_on <= ${monthEndSql(month as Expression<string>)}
    and (subscriptions.ends_on is null or subscriptions.ends_on >= ${month}::date) and plans.currency = organisations.currency)`
}

/**
 * Usage pieces per organisation, subscription, meter and month of `range`, joined with what
 * prices them. Callers add their own select and group by. Aliases: `p` (the piece: org_id,
 * subscription_id, meter_id, bucket = month, quantity, event_count), `subscriptions`, `plans`,
 * `organisations`, `meters`, `services`, `plan_prices` (null when the plan does not price the meter).
 */
export function chargeLines(db: ScopedDb, range: DayRange, orgIds: OrgIds) {
  return db.selectFrom('subscriptions')
    .innerJoin(monthPieces(db, range, orgIds).as('p'), 'p.subscription_id', 'subscriptions.id')
    .innerJoin('organisations', 'organisations.id', 'p.org_id')
    .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
    .innerJoin('meters', 'meters.id', 'p.meter_id')
    .innerJoin('services', 'services.id', 'meters.service_id')
    .leftJoin('plan_prices', (join) => join.onRef('plan_prices.plan_id', '=', 'subscriptions.plan_id').onRef('plan_prices.meter_id', '=', 'p.meter_id'))
}

/** The charge of one line (`chargeLines` row) in minor units. */
export const lineChargeSql = sql<string>`(case when plan_prices.id is not null and ${billedInMonth(sql.ref('p.bucket'))}
  then round(greatest(p.quantity - plan_prices.included_quantity, 0) * plan_prices.unit_price * ${minorPerMajorSql(sql.ref('organisations.currency'))})
  else 0 end)`

/**
 * Monthly fees: one row per subscription and month of `range` that rating bills, with the plan's
 * fee. Aliases: `subscriptions`, `plans`, `organisations`, `m` (month). Callers add select and group by.
 */
export function feeLines(db: ScopedDb, range: DayRange, orgIds: OrgIds) {
  const months = sql<{ month: string }>`(select v.m::date as month from (values ${sql.join(monthsOf(range).map((m) => sql`(${m})`))}) as v(m))`
  return db.selectFrom('subscriptions')
    .innerJoin('organisations', 'organisations.id', 'subscriptions.org_id')
    .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
    .innerJoin(months.as('m'), (join) => join.onTrue())
    .where('subscriptions.org_id', 'in', orgIds)
    .where('plans.fixed_fee_minor', '<>', '0')
    .where(billedInMonth(sql.ref('m.month')))
}
