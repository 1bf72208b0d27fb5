/**
 * Charges at each client's own prices, in SQL `numeric`, by the rating rules of
 * plugins/billing/README.md: per subscription, meter and calendar month,
 * `round(max(quantity - included, 0) x unit_price x 10^exponent)` (half away from zero, once per
 * line), only for a subscription rating would bill that month (not cancelled, overlapping the
 * month, its plan in the organisation's currency, the meter priced on the plan); plus the plan's
 * monthly fee for each month such a subscription overlaps. For a whole month this is exactly the
 * invoice's subtotal (before discounts and credit).
 *
 * Whether a subscription is billed in a month is decided once per subscription and month
 * (`billedMonths`, a few rows per subscription), not once per usage line: a line only looks up its
 * subscription-month and the plan's price for its meter, so a month over every organisation is a
 * scan of the month rollups and two small hash lookups per line.
 */
import { sql } from 'kysely'
import { minorPerMajorSql } from '../../core/billing/money-sql.ts'
import { monthsOf } from '../../core/reports/period.ts'
import type { ScopedDb } from '../../core/tenancy/scoped-db.ts'
import { monthEndSql, monthPieces, type DayRange, type OrgFilter } from '../usage/index.tsx'

/**
 * Subscriptions and months of `range` that rating bills: not cancelled, overlapping the month, the
 * plan in the organisation's currency. Aliases: `subscriptions`, `plans`, `organisations`, `m`
 * (`m.month`, a date). Callers add select and group by.
 */
function billed(db: ScopedDb, range: DayRange, orgIds: OrgFilter) {
  // Typed literals: the planner folds them, so no line parses a date.
  const months = sql<{ month: string }>`(select v.m as month from (values ${sql.join(monthsOf(range).map((m) => sql`(${m}::date)`))}) as v(m))`
  return db.selectFrom('subscriptions')
    .innerJoin('organisations', 'organisations.id', 'subscriptions.org_id')
    .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
    .innerJoin(months.as('m'), (join) => join.onTrue())
    .$if(orgIds !== undefined, (qb) => qb.where('subscriptions.org_id', 'in', orgIds!))
    .where('subscriptions.status', '<>', 'cancelled')
    .whereRef('plans.currency', '=', 'organisations.currency')
    .where(sql<boolean>`subscriptions.starts_on <= ${monthEndSql(sql.ref('m.month'))} and (subscriptions.ends_on is null or subscriptions.ends_on >= m.month)`)
}

/**
 * One row per subscription and month of `range` that rating bills: `subscription_id`, `month`
 * (text `YYYY-MM-DD`, like a usage piece's `bucket`) and `minor` (minor units per major unit of the
 * plan's currency, which is the organisation's).
 */
function billedMonths(db: ScopedDb, range: DayRange, orgIds: OrgFilter) {
  return billed(db, range, orgIds).select([
    'subscriptions.id as subscription_id', sql<string>`m.month::text`.as('month'),
    minorPerMajorSql(sql.ref('plans.currency')).as('minor'),
  ])
}

/**
 * Usage pieces per organisation, subscription, meter and month of `range`, with what prices them.
 * Callers add their own select and group by. Aliases: `p` (the piece: org_id, subscription_id,
 * meter_id, bucket = month, quantity, event_count), `meters`, `services`, `subscriptions` (the
 * piece's), `plan_prices` (the meter's price on the subscription's plan, null when the plan does
 * not price it) and `b` (the billed subscription-month, null when rating does not bill it).
 */
export function chargeLines(db: ScopedDb, range: DayRange, orgIds: OrgFilter) {
  // The meters are the anchor that lets a scoped handle join the pieces (it cannot select from a subquery).
  return db.selectShared('meters')
    .innerJoin('services', 'services.id', 'meters.service_id')
    .innerJoin(monthPieces(db, range, orgIds).as('p'), 'p.meter_id', 'meters.id')
    // A piece's subscription is in scope with it (same organisation): the join adds no rows of another subtree.
    .innerJoin('subscriptions', 'subscriptions.id', 'p.subscription_id')
    .leftJoin('plan_prices', (join) => join.onRef('plan_prices.plan_id', '=', 'subscriptions.plan_id').onRef('plan_prices.meter_id', '=', 'p.meter_id'))
    .leftJoin(billedMonths(db, range, orgIds).as('b'), (join) => {
      const bySubscription = join.onRef('b.subscription_id', '=', 'p.subscription_id')
      // Within one calendar month every piece is of that month: no date to compare per line.
      return monthsOf(range).length > 1 ? bySubscription.onRef('b.month', '=', 'p.bucket') : bySubscription
    })
}

/**
 * The charge of one line (`chargeLines` row) in minor units: 0 when not billed (`b.minor` is null)
 * or not priced. A billed month's plan is the subscription's plan, so `plan_prices` prices it.
 */
export const lineChargeSql = sql<string>`coalesce(round(greatest(p.quantity - plan_prices.included_quantity, 0) * plan_prices.unit_price * b.minor), 0)`

/**
 * Monthly fees: one row per subscription and month of `range` that rating bills with a fee
 * (`plans.fixed_fee_minor`). Aliases: `subscriptions`, `plans`, `organisations`, `m`. Callers add
 * select and group by.
 */
export function feeLines(db: ScopedDb, range: DayRange, orgIds: OrgFilter) {
  return billed(db, range, orgIds).where('plans.fixed_fee_minor', '<>', '0')
}
