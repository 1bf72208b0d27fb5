/**
 * Rating: what one organisation owes for one month, as invoice lines. The arithmetic is a pure
 * function over decimal strings and bigints (no floats anywhere), so it can be checked against an
 * independent computation over thousands of random inputs; `loadRatingInput` reads what it needs
 * with a handful of set-based queries.
 *
 * Rules (plugins/billing/README.md has the long form):
 * - every subscription overlapping the month and not cancelled gives a `fixed` line of its plan's
 *   monthly fee (no proration; a zero fee gives no line), then one `usage` line per priced meter
 *   with usage: billable = max(quantity - included, 0), amount = round(billable x unit price x 10^e);
 * - discounts, in id order, each on the undiscounted base of the lines it targets: percent ->
 *   -round(base x percent / 100), fixed -> -min(amount, base) (same currency only); their sum never
 *   exceeds the subtotal (each is capped at what is left);
 * - a credit balance, only when the invoice is issued: -min(balance, total after discounts).
 * Every amount is exact until one final rounding to a whole minor unit, half away from zero (what
 * PostgreSQL's `round(numeric)` does); totals are sums of rounded lines.
 *
 * @example
 * const rated = rateInvoice({ currency: 'EUR', subscriptions, usage, discounts })
 * rated.total // bigint minor units; rated.lines sum to it
 */
import type { DiscountKind, DiscountTarget, InvoiceLineKind } from '../db/schema.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import { currencyExponent, formatMoney, formatQuantity, scaleDecimal } from './money.ts'

/** Quantities and prices are numeric with 6 decimals; percents with 4. */
const QUANTITY_PLACES = 6
const PERCENT_PLACES = 4

export interface RatingSubscription {
  readonly id: number
  readonly name: string
  readonly planId: number
  readonly planName: string
  readonly fixedFeeMinor: string
}

export interface RatingUsage {
  readonly subscriptionId: number
  readonly meterId: number
  readonly meterName: string
  readonly serviceId: number
  readonly unit: string
  /** Decimal strings, as the numeric columns read. */
  readonly quantity: string
  readonly includedQuantity: string
  readonly unitPrice: string
}

export interface RatingDiscount {
  readonly id: number
  readonly description: string
  readonly target: DiscountTarget
  readonly serviceId: number | null
  readonly planId: number | null
  readonly meterId: number | null
  /** What the target is called, for the line's description (`Compute`, `Plan Gold`). */
  readonly targetName: string | null
  readonly kind: DiscountKind
  readonly percent: string | null
  readonly amountMinor: string | null
  readonly currency: string | null
}

export interface RatingInput {
  readonly currency: string
  readonly subscriptions: readonly RatingSubscription[]
  readonly usage: readonly RatingUsage[]
  readonly discounts: readonly RatingDiscount[]
  /** The credit balance to draw from; only given when the invoice is being issued. */
  readonly creditBalanceMinor?: string | bigint
}

export interface RatedLine {
  readonly kind: InvoiceLineKind
  readonly description: string
  readonly subscriptionId: number | null
  readonly meterId: number | null
  readonly discountId: number | null
  readonly quantity: string | null
  readonly includedQuantity: string | null
  readonly unit: string | null
  readonly unitPrice: string | null
  readonly amountMinor: bigint
  /** Internal: which plan and service a charge belongs to, so discounts can find their base. */
  readonly planId?: number | undefined
  readonly serviceId?: number | undefined
}

export interface RatedInvoice {
  readonly lines: readonly RatedLine[]
  readonly subtotal: bigint
  /** Zero or negative. */
  readonly discount: bigint
  /** Zero or negative. */
  readonly credit: bigint
  readonly total: bigint
}

/** `numerator / denominator` rounded to an integer, half away from zero. `denominator` > 0. */
export function divRound(numerator: bigint, denominator: bigint): bigint {
  const negative = numerator < 0n
  const magnitude = negative ? -numerator : numerator
  const quotient = (magnitude * 2n + denominator) / (denominator * 2n)
  return negative ? -quotient : quotient
}

/** round(max(quantity - included, 0) x unitPrice x 10^exponent), exactly. */
export function usageAmountMinor(quantity: string, included: string, unitPrice: string, exponent: number): bigint {
  const billable = scaleDecimal(quantity, QUANTITY_PLACES) - scaleDecimal(included, QUANTITY_PLACES)
  if (billable <= 0n) return 0n
  const scaledProduct = billable * scaleDecimal(unitPrice, QUANTITY_PLACES) * 10n ** BigInt(exponent)
  return divRound(scaledProduct, 10n ** BigInt(2 * QUANTITY_PLACES))
}

/** round(base x percent / 100), exactly; `percent` has at most 4 decimals. */
export function percentOf(base: bigint, percent: string): bigint {
  return divRound(base * scaleDecimal(percent, PERCENT_PLACES), 100n * 10n ** BigInt(PERCENT_PLACES))
}

function discountApplies(discount: RatingDiscount, line: RatedLine): boolean {
  if (line.kind !== 'fixed' && line.kind !== 'usage') return false
  switch (discount.target) {
    case 'all': return true
    case 'plan': return line.planId === discount.planId
    case 'service': return line.kind === 'usage' && line.serviceId === discount.serviceId
    case 'meter': return line.kind === 'usage' && line.meterId === discount.meterId
  }
}

function discountDescription(discount: RatingDiscount, currency: string): string {
  const what = discount.kind === 'percent' ? `${formatQuantity(discount.percent ?? '0')}%` : formatMoney(discount.amountMinor ?? '0', currency)
  const on = discount.target === 'all' ? 'all charges' : `${discount.target} ${discount.targetName ?? `#${discount.serviceId ?? discount.planId ?? discount.meterId}`}`
  const label = discount.description.trim() ? `${discount.description.trim()}: ` : ''
  return `Discount: ${label}${what} off ${on}`
}

/** The lines and totals of one invoice. Pure: the same input always gives the same invoice. */
export function rateInvoice(input: RatingInput): RatedInvoice {
  const exponent = currencyExponent(input.currency)
  const charges: RatedLine[] = []
  const usageBySubscription = new Map<number, RatingUsage[]>()
  for (const u of input.usage) {
    const list = usageBySubscription.get(u.subscriptionId) ?? []
    list.push(u)
    usageBySubscription.set(u.subscriptionId, list)
  }
  for (const sub of [...input.subscriptions].sort((a, b) => a.id - b.id)) {
    const fee = BigInt(sub.fixedFeeMinor)
    if (fee !== 0n) {
      charges.push({
        kind: 'fixed', description: `${sub.planName}: monthly fee (${sub.name})`, subscriptionId: sub.id, meterId: null, discountId: null,
        quantity: null, includedQuantity: null, unit: null, unitPrice: null, amountMinor: fee, planId: sub.planId,
      })
    }
    const usage = (usageBySubscription.get(sub.id) ?? []).sort((a, b) => a.meterName.localeCompare(b.meterName, 'en') || a.meterId - b.meterId)
    for (const u of usage) {
      charges.push({
        kind: 'usage', description: `${u.meterName} (${sub.name})`, subscriptionId: sub.id, meterId: u.meterId, discountId: null,
        quantity: u.quantity, includedQuantity: u.includedQuantity, unit: u.unit, unitPrice: u.unitPrice,
        amountMinor: usageAmountMinor(u.quantity, u.includedQuantity, u.unitPrice, exponent), planId: sub.planId, serviceId: u.serviceId,
      })
    }
  }
  const subtotal = charges.reduce((sum, line) => sum + line.amountMinor, 0n)

  const discountLines: RatedLine[] = []
  let discounted = 0n
  for (const discount of [...input.discounts].sort((a, b) => a.id - b.id)) {
    if (discount.kind === 'fixed' && discount.currency !== input.currency) continue
    const base = charges.filter((line) => discountApplies(discount, line)).reduce((sum, line) => sum + line.amountMinor, 0n)
    if (base <= 0n) continue
    let amount = discount.kind === 'percent' ? percentOf(base, discount.percent ?? '0') : BigInt(discount.amountMinor ?? '0')
    if (amount > base) amount = base
    if (amount > subtotal - discounted) amount = subtotal - discounted
    if (amount <= 0n) continue
    discounted += amount
    discountLines.push({
      kind: 'discount', description: discountDescription(discount, input.currency), subscriptionId: null, meterId: discount.meterId, discountId: discount.id,
      quantity: null, includedQuantity: null, unit: null, unitPrice: null, amountMinor: -amount,
    })
  }

  const afterDiscounts = subtotal - discounted
  const creditLines: RatedLine[] = []
  let credit = 0n
  const balance = input.creditBalanceMinor === undefined ? 0n : BigInt(input.creditBalanceMinor)
  if (balance > 0n && afterDiscounts > 0n) {
    credit = balance < afterDiscounts ? balance : afterDiscounts
    creditLines.push({
      kind: 'credit', description: `Prepaid credit applied (balance ${formatMoney(balance, input.currency)})`, subscriptionId: null, meterId: null, discountId: null,
      quantity: null, includedQuantity: null, unit: null, unitPrice: null, amountMinor: -credit,
    })
  }
  return { lines: [...charges, ...discountLines, ...creditLines], subtotal, discount: -discounted, credit: -credit, total: afterDiscounts - credit }
}

/** First day of `period` ('YYYY-MM') and of the month after it, as 'YYYY-MM-DD'. */
export function periodBounds(period: string): { start: string; next: string; last: string } {
  const [year, month] = period.split('-').map(Number) as [number, number]
  const start = `${period}-01`
  const nextDate = new Date(Date.UTC(year, month, 1))
  const lastDate = new Date(Date.UTC(year, month, 0))
  return { start, next: nextDate.toISOString().slice(0, 10), last: lastDate.toISOString().slice(0, 10) }
}

/** Everything `rateInvoice` needs for one organisation and month, read in four queries. */
export async function loadRatingInput(sdb: ScopedDb, orgId: number, period: string, currency: string, options: { withCredit: boolean }): Promise<RatingInput> {
  const { start, last } = periodBounds(period)
  const subscriptions = await sdb.selectFrom('subscriptions')
    .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
    .select(['subscriptions.id', 'subscriptions.name', 'plans.id as planId', 'plans.name as planName', 'plans.fixed_fee_minor as fixedFeeMinor'])
    .where('subscriptions.org_id', '=', orgId)
    .where('subscriptions.status', '<>', 'cancelled')
    .where('subscriptions.starts_on', '<=', last)
    .where((eb) => eb.or([eb('subscriptions.ends_on', 'is', null), eb('subscriptions.ends_on', '>=', start)]))
    // One invoice per organisation: its currency is the organisation's, as subscriptions require.
    .where('plans.currency', '=', currency)
    .orderBy('subscriptions.id')
    .execute()
  const subscriptionIds = subscriptions.map((s) => s.id)
  const usage = subscriptionIds.length === 0 ? [] : await sdb.selectFrom('usage_monthly')
    .innerJoin('subscriptions', 'subscriptions.id', 'usage_monthly.subscription_id')
    .innerJoin('plan_prices', (join) => join.onRef('plan_prices.plan_id', '=', 'subscriptions.plan_id').onRef('plan_prices.meter_id', '=', 'usage_monthly.meter_id'))
    .innerJoin('meters', 'meters.id', 'usage_monthly.meter_id')
    .select([
      'usage_monthly.subscription_id as subscriptionId', 'usage_monthly.meter_id as meterId', 'meters.name as meterName', 'meters.service_id as serviceId',
      'meters.unit', 'usage_monthly.quantity', 'plan_prices.included_quantity as includedQuantity', 'plan_prices.unit_price as unitPrice',
    ])
    .where('usage_monthly.org_id', '=', orgId)
    .where('usage_monthly.month', '=', start)
    .where('usage_monthly.subscription_id', 'in', subscriptionIds)
    .execute()
  const discounts = await sdb.selectFrom('discounts')
    .leftJoin('services', 'services.id', 'discounts.service_id')
    .leftJoin('plans', 'plans.id', 'discounts.plan_id')
    .leftJoin('meters', 'meters.id', 'discounts.meter_id')
    .select([
      'discounts.id', 'discounts.description', 'discounts.target', 'discounts.service_id as serviceId', 'discounts.plan_id as planId', 'discounts.meter_id as meterId',
      'discounts.kind', 'discounts.percent', 'discounts.amount_minor as amountMinor', 'discounts.currency',
      (eb) => eb.fn.coalesce('services.name', 'plans.name', 'meters.name').as('targetName'),
    ])
    .where('discounts.org_id', '=', orgId)
    .where('discounts.cancelled_at', 'is', null)
    .where('discounts.valid_from', '<=', last)
    .where((eb) => eb.or([eb('discounts.valid_to', 'is', null), eb('discounts.valid_to', '>=', start)]))
    .orderBy('discounts.id')
    .execute()
  let creditBalanceMinor: string | undefined
  if (options.withCredit) {
    const row = await sdb.selectFrom('credit_entries')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('credit_entries.amount_minor'), eb.lit(0)).as('balance'))
      .where('credit_entries.org_id', '=', orgId).where('credit_entries.currency', '=', currency)
      .executeTakeFirst()
    creditBalanceMinor = String(row?.balance ?? '0')
  }
  return {
    currency,
    subscriptions: subscriptions.map((s) => ({ ...s, fixedFeeMinor: String(s.fixedFeeMinor) })),
    usage,
    discounts: discounts.map((d) => ({ ...d, targetName: (d.targetName as string | null) ?? null })),
    ...(creditBalanceMinor === undefined ? {} : { creditBalanceMinor }),
  }
}
