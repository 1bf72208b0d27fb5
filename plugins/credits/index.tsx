/**
 * Credits and discounts: the ledger with balances and accrued credit, the grant form, and the
 * discounts an organisation gives the accounts below it. The rules live in core/billing/credits.ts
 * and core/billing/discounts.ts; this file turns forms into calls and results into pages.
 */
import type { Context } from 'hono'
import { can } from '../../core/access/ability.ts'
import { organisationChoices } from '../../core/access/users.ts'
import { creditBalances, creditInput, grantCredit, isDay, listCreditEntries, monthOf, todayUtc } from '../../core/billing/credits.ts'
import {
  cancelDiscount, createDiscount, discountInput, discountPatch, DISCOUNT_STATUSES, getDiscount, listDiscounts, updateDiscount, type DiscountStatus,
} from '../../core/billing/discounts.ts'
import { CREDIT_KINDS, DISCOUNT_TARGETS, type CreditKind, type DiscountTarget } from '../../core/db/schema.ts'
import type { AppEnv } from '../../core/http/env.ts'
import { HttpProblem, notFound } from '../../core/http/problem.ts'
import { flash, page, redirect } from '../../core/http/render.tsx'
import { definePlugin } from '../../core/plugins/define.ts'
import { fieldErrors } from '../../core/api/json.ts'
import { DiscountDetail, DiscountForm, DiscountsPage, type CatalogChoice, type DiscountFilterForm, type DiscountFormValues } from './discount-views.tsx'
import { CreditForm, CreditsPage, type CreditFormValues, type LedgerFilterForm } from './views.tsx'

const LEDGER_PAGE = 50
const DISCOUNT_PAGE = 50

async function formFields(c: Context<AppEnv>): Promise<Record<string, string>> {
  const body = await c.req.parseBody()
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(body)) if (key !== '_csrf' && typeof value === 'string') out[key] = value
  return out
}

/** A problem to show on the form it came from rather than as an error page. */
function formProblem(error: unknown): HttpProblem | undefined {
  return error instanceof HttpProblem && error.fields && (error.status === 403 || error.status === 422) ? error : undefined
}

function discountId(c: Context<AppEnv>): number {
  const raw = c.req.param('id') ?? ''
  const id = /^\d{1,10}$/.test(raw) ? Number(raw) : 0
  if (id <= 0 || id > 2_147_483_647) throw notFound('discount')
  return id
}

/** Accounts the caller may credit or discount: its subtree without its own organisation. */
async function grantable(c: Context<AppEnv>) {
  return (await organisationChoices(c.var.db)).filter((o) => o.id !== c.var.db.scope.orgId)
}

/** Catalog items the caller can see, for "applies to" (the server re-checks the account can use it). */
async function catalogChoices(c: Context<AppEnv>): Promise<CatalogChoice[]> {
  const db = c.var.db
  const [services, plans, meters] = await Promise.all([
    db.selectShared('services').select(['services.id', 'services.name']).orderBy('services.name').execute(),
    db.selectShared('plans').select(['plans.id', 'plans.name']).where('plans.status', '=', 'active').orderBy('plans.name').execute(),
    db.selectShared('meters').select(['meters.id', 'meters.name']).orderBy('meters.name').execute(),
  ])
  return [
    { value: 'all', label: 'Everything on the invoice' },
    ...services.map((s) => ({ value: `service:${s.id}`, label: `Service: ${s.name}` })),
    ...plans.map((p) => ({ value: `plan:${p.id}`, label: `Plan: ${p.name}` })),
    ...meters.map((m) => ({ value: `meter:${m.id}`, label: `Meter: ${m.name}` })),
  ]
}

interface FormState {
  readonly status?: 403 | 422
  readonly errors?: Record<string, string>
  readonly message?: string
}

async function creditForm(c: Context<AppEnv>, values: CreditFormValues, state: FormState = {}): Promise<Response> {
  return page(c, {
    title: 'Grant credit',
    ...(state.status ? { status: state.status } : {}),
    body: <CreditForm csrf={c.var.csrfToken} orgs={await grantable(c)} values={values} errors={state.errors ?? {}} message={state.message} />,
  })
}

async function discountForm(c: Context<AppEnv>, values: DiscountFormValues, state: FormState = {}): Promise<Response> {
  const [orgs, items] = await Promise.all([grantable(c), catalogChoices(c)])
  return page(c, {
    title: 'New discount',
    ...(state.status ? { status: state.status } : {}),
    body: <DiscountForm csrf={c.var.csrfToken} orgs={orgs} items={items} values={values} errors={state.errors ?? {}} message={state.message} />,
  })
}

async function discountPage(c: Context<AppEnv>, id: number, edit?: { values: DiscountFormValues; errors: Record<string, string>; message: string; status: 409 | 422 }): Promise<Response> {
  const discount = await getDiscount(c.var.db, id)
  const editable = c.var.ability.can('update', 'Discount') && discount.status !== 'cancelled' && discount.org_id !== c.var.db.scope.orgId
  return page(c, {
    title: `Discount #${id}`,
    ...(edit ? { status: edit.status } : {}),
    body: <DiscountDetail discount={discount} csrf={c.var.csrfToken} editable={editable} values={edit?.values} errors={edit?.errors} message={edit?.message} />,
  })
}

export const creditsPlugin = definePlugin({
  id: 'credits',
  title: 'Credits',
  description: 'The credit ledger (top-ups, adjustments, accruals, expiry) and discounts for accounts.',
  nav: [
    { section: 'Billing', label: 'Credits', href: '/credits', requires: ['read', 'Credit'], order: 40 },
    { section: 'Billing', label: 'Discounts', href: '/credits/discounts', requires: ['read', 'Discount'], order: 50 },
  ],
  routes: (app) => {
    app.get('/', can('read', 'Credit'), async (c) => {
      const orgs = await organisationChoices(c.var.db)
      const q = (name: string) => c.req.query(name) ?? ''
      const filter: LedgerFilterForm = {
        // Anything that is not a choice (outside scope, nonsense) is no filter at all.
        org: orgs.find((o) => String(o.id) === q('org'))?.id,
        kind: (CREDIT_KINDS as readonly string[]).includes(q('kind')) ? q('kind') as CreditKind : '',
        from: isDay(q('from')) ? q('from') : '',
        to: isDay(q('to')) ? q('to') : '',
        before: /^\d{1,18}$/.test(q('before')) ? q('before') : '',
      }
      const period = filter.from || filter.to ? { from: filter.from || '0001-01-01', to: filter.to || '9999-12-31' } : monthOf(todayUtc())
      const [balances, ledger] = await Promise.all([
        creditBalances(c.var.db, { orgId: filter.org, from: period.from, to: period.to }),
        listCreditEntries(c.var.db, {
          orgId: filter.org, kind: filter.kind || undefined, from: filter.from || undefined, to: filter.to || undefined, before: filter.before || undefined, limit: LEDGER_PAGE,
        }),
      ])
      return page(c, {
        title: 'Credits',
        body: <CreditsPage balances={balances} period={period} entries={ledger.entries} nextBefore={ledger.nextBefore} filter={filter} orgs={orgs}
          canCreate={c.var.ability.can('create', 'Credit')} />,
      })
    })

    app.get('/new', can('create', 'Credit'), (c) => creditForm(c, { orgId: c.req.query('org') ?? '', kind: 'topup' }))

    app.post('/', can('create', 'Credit'), async (c) => {
      const fields = await formFields(c)
      const values: CreditFormValues = fields
      const parsed = creditInput.safeParse({ ...fields, amountMinor: undefined })
      if (!parsed.success) return creditForm(c, values, { status: 422, errors: fieldErrors(parsed.error), message: 'Check the highlighted fields.' })
      try {
        const entry = await grantCredit(c.var.db, parsed.data)
        c.var.log.info('credit granted', { entryId: entry.id, orgId: entry.org_id, kind: entry.kind })
        await flash(c, 'success', 'The credit entry was recorded.')
        return redirect(c, `/credits?org=${entry.org_id}`)
      } catch (error) {
        const problem = formProblem(error)
        if (problem) return creditForm(c, values, { status: problem.status as 403 | 422, errors: { ...problem.fields }, message: problem.message })
        throw error
      }
    })

    app.get('/discounts', can('read', 'Discount'), async (c) => {
      const orgs = await organisationChoices(c.var.db)
      const q = (name: string) => c.req.query(name) ?? ''
      const pageParam = Number(q('page') || '1')
      const filter: DiscountFilterForm = {
        org: orgs.find((o) => String(o.id) === q('org'))?.id,
        status: (DISCOUNT_STATUSES as readonly string[]).includes(q('status')) ? q('status') as DiscountStatus : '',
        target: (DISCOUNT_TARGETS as readonly string[]).includes(q('target')) ? q('target') : '',
        page: Number.isSafeInteger(pageParam) && pageParam >= 1 && pageParam <= 100_000 ? pageParam : 1,
      }
      const { discounts, total } = await listDiscounts(c.var.db, {
        orgId: filter.org, status: filter.status || undefined, target: (filter.target || undefined) as DiscountTarget | undefined,
        limit: DISCOUNT_PAGE, offset: (filter.page - 1) * DISCOUNT_PAGE,
      })
      return page(c, {
        title: 'Discounts',
        body: <DiscountsPage discounts={discounts} total={total} pageSize={DISCOUNT_PAGE} filter={filter} orgs={orgs} canCreate={c.var.ability.can('create', 'Discount')} />,
      })
    })

    app.get('/discounts/new', can('create', 'Discount'), (c) => discountForm(c, { orgId: c.req.query('org') ?? '', item: 'all', kind: 'percent', validFrom: todayUtc() }))

    app.post('/discounts', can('create', 'Discount'), async (c) => {
      const fields = await formFields(c)
      const values: DiscountFormValues = fields
      const [target, targetId] = (fields.item ?? 'all').split(':')
      const parsed = discountInput.safeParse({
        orgId: fields.orgId, target, targetId: targetId ?? null, kind: fields.kind,
        percent: fields.kind === 'percent' ? fields.percent : undefined, amount: fields.kind === 'fixed' ? fields.amount : undefined,
        validFrom: fields.validFrom, validTo: fields.validTo, description: fields.description,
      })
      if (!parsed.success) return discountForm(c, values, { status: 422, errors: fieldErrors(parsed.error), message: 'Check the highlighted fields.' })
      try {
        const discount = await createDiscount(c.var.db, parsed.data)
        c.var.log.info('discount created', { discountId: discount.id, orgId: discount.org_id })
        await flash(c, 'success', `Discount #${discount.id} was created.`)
        return redirect(c, `/credits/discounts/${discount.id}`)
      } catch (error) {
        const problem = formProblem(error)
        if (problem) return discountForm(c, values, { status: problem.status as 403 | 422, errors: { ...problem.fields }, message: problem.message })
        throw error
      }
    })

    app.get('/discounts/:id', can('read', 'Discount'), (c) => discountPage(c, discountId(c)))

    app.post('/discounts/:id', can('update', 'Discount'), async (c) => {
      const id = discountId(c)
      const fields = await formFields(c)
      const values: DiscountFormValues = fields
      const parsed = discountPatch.safeParse({
        description: fields.description, validTo: fields.validTo ?? undefined,
        percent: fields.percent || undefined, amount: fields.amount || undefined,
      })
      if (!parsed.success) {
        await getDiscount(c.var.db, id)
        return discountPage(c, id, { values, errors: fieldErrors(parsed.error), message: 'Check the highlighted fields.', status: 422 })
      }
      try {
        await updateDiscount(c.var.db, id, parsed.data)
      } catch (error) {
        if (error instanceof HttpProblem && error.status === 422) {
          return discountPage(c, id, { values, errors: { ...error.fields }, message: error.message, status: 422 })
        }
        throw error
      }
      await flash(c, 'success', `Discount #${id} was saved.`)
      return redirect(c, `/credits/discounts/${id}`)
    })

    app.post('/discounts/:id/cancel', can('update', 'Discount'), async (c) => {
      const discount = await cancelDiscount(c.var.db, discountId(c))
      c.var.log.info('discount cancelled', { discountId: discount.id })
      await flash(c, 'success', `Discount #${discount.id} was cancelled.`)
      return redirect(c, `/credits/discounts/${discount.id}`)
    })
  },
})
