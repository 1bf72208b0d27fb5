/**
 * Generated money movements around the invoices: discounts of every kind and status, prepaid
 * top-ups (some expiring), goodwill adjustments and loyalty accruals, and, once the invoices exist,
 * a realistic settlement: most past invoices paid, some overdue, recent ones pending or paid early.
 */
import { sql, type Insertable, type Kysely } from 'kysely'
import type { Database, DiscountTable } from '../db/schema.ts'
import { addDays } from '../billing/invoices.ts'
import { toMinorUnits } from '../billing/money.ts'
import { convert, type GeneratedCatalog } from './catalog.ts'
import type { Random } from './random.ts'
import type { CustomerProfile, PlannedSubscription, Window } from './subscriptions.ts'

type DiscountRow = Insertable<DiscountTable>

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000)
}

const at = (day: string, hour: number) => `${day}T${String(hour).padStart(2, '0')}:00:00Z`

/**
 * About one customer in five gets one or two discounts, granted by its parent (a reseller or the
 * operator): percent on everything, a service, a plan or a meter, or a fixed amount; active,
 * scheduled, expired or cancelled.
 */
export async function writeDiscounts(db: Kysely<Database>, rng: Random, profiles: readonly CustomerProfile[], subscriptions: readonly PlannedSubscription[], catalog: GeneratedCatalog, window: Window): Promise<number> {
  const rows: DiscountRow[] = []
  const span = Math.max(1, daysBetween(window.start, window.today))
  for (const profile of profiles) {
    if (!rng.chance(profile.heavy ? 0.8 : 0.2)) continue
    const own = subscriptions.filter((s) => s.profile === profile)
    for (let n = rng.int(1, 2); n > 0; n--) {
      const kind = rng.weighted([['all', 3], ['service', 3], ['plan', 2], ['meter', 2], ['fixed', 2]] as const)
      const state = rng.weighted([['active', 45], ['expired', 25], ['scheduled', 15], ['cancelled', 15]] as const)
      let validFrom = addDays(window.start, rng.int(0, span - 1))
      let validTo: string | null = rng.chance(0.4) ? null : addDays(validFrom, rng.int(30, 365))
      if (state === 'expired') { validFrom = addDays(window.start, rng.int(0, Math.max(0, span - 60))); validTo = addDays(validFrom, rng.int(20, 50)) }
      if (state === 'scheduled') { validFrom = addDays(window.today, rng.int(3, 60)); validTo = rng.chance(0.5) ? null : addDays(validFrom, 90) }
      if (state === 'active' && validTo !== null && validTo < window.today) validTo = addDays(window.today, rng.int(10, 200))
      const row = {
        org_id: profile.org.id, granted_by_org_id: profile.org.parent_id!, valid_from: validFrom, valid_to: validTo,
        cancelled_at: state === 'cancelled' ? new Date(at(addDays(validFrom, rng.int(0, Math.max(0, daysBetween(validFrom, window.today) - 1))), 11)) : null,
        created_at: at(validFrom < window.today ? addDays(validFrom, -3) : addDays(window.today, -1), 9),
        target: 'all' as 'all' | 'service' | 'plan' | 'meter', service_id: null as number | null, plan_id: null as number | null, meter_id: null as number | null,
        kind: 'percent' as 'percent' | 'fixed', percent: null as string | null, amount_minor: null as string | null, currency: null as string | null, description: '',
      }
      if (kind === 'fixed') {
        Object.assign(row, { kind: 'fixed', amount_minor: toMinorUnits(convert(String(rng.int(1, 10) * 5), profile.org.currency), profile.org.currency).toString(), currency: profile.org.currency, description: 'Loyalty credit' })
      } else {
        const percent = kind === 'all' ? rng.pick(['5', '7.5', '10', '15']) : rng.pick(['10', '15', '20', '25', '30'])
        row.percent = percent
        if (kind === 'all') row.description = `${percent}% partner discount`
        if (kind === 'service') {
          const service = rng.pick(['compute', 'storage', 'voice', 'sms', 'licences'])
          Object.assign(row, { target: 'service', service_id: catalog.services.get(service)!, description: `${percent}% off ${service}` })
        }
        if (kind === 'plan') {
          const plan = own.length ? rng.pick(own).plan : catalog.plans[0]!
          Object.assign(row, { target: 'plan', plan_id: plan.id, description: `${percent}% off ${plan.template.name}` })
        }
        if (kind === 'meter') {
          const meter = rng.pick(['sms', 'egress-gb', 'voice-minutes', 'vcpu-hours'])
          Object.assign(row, { target: 'meter', meter_id: catalog.meters.get(meter)!.id, description: `${percent}% off ${meter}` })
        }
      }
      rows.push({ ...row, updated_at: row.cancelled_at ?? row.created_at })
    }
  }
  for (let i = 0; i < rows.length; i += 1000) await db.insertInto('discounts').values(rows.slice(i, i + 1000)).execute()
  return rows.length
}

interface PlannedCredit {
  org_id: number
  kind: 'topup' | 'adjustment' | 'accrual'
  amount_minor: string
  currency: string
  occurred_at: string
  expires_on: string | null
  granted_by_org_id: number | null
  description: string
  created_at: string
}

export interface CreditPlan {
  /** 'YYYY-MM' -> credit entries occurring in that month. */
  readonly byMonth: Map<string, PlannedCredit[]>
  readonly count: number
}

/**
 * Prepaid customers (about one in five) top up in most months, a quarter of top-ups expiring
 * after a year; a few customers get goodwill adjustments or loyalty accruals. Written month by
 * month just before that month is billed, so invoices draw on the balance as they would have.
 */
export function planCredits(rng: Random, profiles: readonly CustomerProfile[], window: Window): CreditPlan {
  const byMonth: CreditPlan['byMonth'] = new Map()
  let count = 0
  const add = (month: string, entry: PlannedCredit) => {
    if (!byMonth.has(month)) byMonth.set(month, [])
    byMonth.get(month)!.push(entry)
    count++
  }
  const months: string[] = []
  for (let m = window.start; m <= window.today; m = addMonths(m, 1)) months.push(m.slice(0, 7))
  for (const profile of profiles) {
    const prepaid = rng.chance(0.2)
    const goodwill = rng.chance(0.05)
    const loyalty = rng.chance(0.05)
    const currency = profile.org.currency
    for (const month of months) {
      const lastDay = month === window.today.slice(0, 7) ? Number(window.today.slice(8)) - 1 : 28
      if (lastDay < 1) continue
      const day = `${month}-${String(rng.int(1, lastDay)).padStart(2, '0')}`
      if (prepaid && rng.chance(0.65)) {
        const major = String(rng.int(2, 40) * 25 * Math.max(1, Math.round(profile.scale)))
        add(month, {
          org_id: profile.org.id, kind: 'topup', amount_minor: toMinorUnits(convert(major, currency), currency).toString(), currency,
          occurred_at: at(day, 10), expires_on: rng.chance(0.25) ? addDays(day, 365) : null, granted_by_org_id: profile.org.parent_id,
          description: 'Prepaid top-up', created_at: at(day, 10),
        })
      }
      if (goodwill && rng.chance(0.15)) {
        add(month, {
          org_id: profile.org.id, kind: 'adjustment', amount_minor: toMinorUnits(convert(String(rng.int(1, 8) * 5), currency), currency).toString(), currency,
          occurred_at: at(day, 15), expires_on: null, granted_by_org_id: profile.org.parent_id, description: 'Goodwill credit for a service interruption', created_at: at(day, 15),
        })
      }
      if (loyalty && rng.chance(0.5)) {
        add(month, {
          org_id: profile.org.id, kind: 'accrual', amount_minor: toMinorUnits(convert(String(rng.int(1, 6)), currency), currency).toString(), currency,
          occurred_at: at(day, 2), expires_on: addDays(day, 180), granted_by_org_id: profile.org.parent_id, description: 'Loyalty points accrued', created_at: at(day, 2),
        })
      }
    }
  }
  return { byMonth, count }
}

export async function writeCredits(db: Kysely<Database>, plan: CreditPlan, month: string): Promise<number> {
  const rows = plan.byMonth.get(month) ?? []
  for (let i = 0; i < rows.length; i += 1000) await db.insertInto('credit_entries').values(rows.slice(i, i + 1000)).execute()
  return rows.length
}

/** 'YYYY-MM-01' plus `n` months. */
export function addMonths(monthStart: string, n: number): string {
  const date = new Date(`${monthStart.slice(0, 7)}-01T00:00:00Z`)
  date.setUTCMonth(date.getUTCMonth() + n)
  return date.toISOString().slice(0, 10)
}

/**
 * Settles issued invoices the way customers pay: past due -> mostly paid within a few weeks of
 * issue, unpaid ones overdue (more often among the last two months); not yet due -> a third paid
 * early, the rest pending. Payments cover the total; zero totals are already paid. Set-based;
 * the choice hashes (seed, organisation, period), not row order.
 */
export async function settleInvoices(db: Kysely<Database>, seed: number, today: string): Promise<void> {
  const recent = addDays(today, -60)
  await sql`
    with pick as (
      select i.id, i.org_id, i.currency, i.total_minor, i.number, i.issued_on, i.due_on,
        (hashint8extended(i.org_id::bigint * 1000 + (extract(year from i.period)::int % 1000) * 12 + extract(month from i.period)::int, ${seed}::bigint) & 1048575) / 1048576.0 as u,
        (hashint8extended(i.org_id::bigint * 1000 + (extract(year from i.period)::int % 1000) * 12 + extract(month from i.period)::int, ${seed}::bigint + 1) & 1023)::int as r
      from invoices i
      where i.status = 'issued'
    ), decided as (
      select pick.*,
        case when due_on < ${today}::date then (case when u < (case when due_on >= ${recent}::date then 0.3 else 0.04 end) then 'overdue' else 'paid' end)
             else (case when u < 0.35 then 'paid' else 'issued' end) end as outcome,
        least(issued_on + (r % greatest(1, due_on - issued_on + 12)), ${today}::date) as paid_on
      from pick
    ), pay as (
      insert into payments (org_id, invoice_id, amount_minor, currency, paid_on, method, reference, created_at)
      select org_id, id, total_minor, currency, paid_on, case when r % 3 = 0 then 'card' else 'bank-transfer' end, 'PAY-' || number, (paid_on + time '10:30') at time zone 'UTC'
      from decided where outcome = 'paid' and total_minor > 0
      returning invoice_id
    )
    update invoices i set status = d.outcome,
      paid_minor = case when d.outcome = 'paid' then i.total_minor else i.paid_minor end,
      paid_at = case when d.outcome = 'paid' then (d.paid_on + time '10:30') at time zone 'UTC' else i.paid_at end,
      updated_at = now()
    from decided d
    where d.id = i.id and d.outcome <> 'issued'`.execute(db)
  // billPeriod stamps invoices it settles from credit with the wall clock; pin them to the issue day.
  await sql`update invoices set paid_at = (issued_on + time '09:00') at time zone 'UTC' where status = 'paid' and total_minor = 0 and issued_on is not null`.execute(db)
  // Likewise the credit draws: they happened when their invoice was issued.
  await sql`update credit_entries ce set occurred_at = (i.issued_on + time '09:00') at time zone 'UTC', created_at = (i.issued_on + time '09:00') at time zone 'UTC'
    from invoices i where ce.invoice_id = i.id and ce.kind = 'usage' and i.issued_on is not null`.execute(db)
}
