/** Pages of the catalog's plans and providers: lists, forms, and a plan with its editable prices. */
import type { MeterView } from '../../core/billing/catalog.ts'
import { formatMoney, formatQuantity } from '../../core/billing/money.ts'
import { PLAN_STATUSES, type PlanView } from '../../core/billing/plans.ts'
import { PROVIDER_STATUSES, type ProviderView } from '../../core/billing/providers.ts'
import { PLAN_MODELS } from '../../core/db/schema.ts'
import { CsrfField, ErrorSummary, Field, Select } from '../../views/forms.tsx'
import type { FormValues } from './form.ts'
import { CatalogTabs, DeleteButton, Inherited, type Rights } from './views.tsx'

const MODEL_LABEL: Record<string, string> = { payg: 'Pay as you go', reserved: 'Reserved', bundle: 'Bundle' }

export function PlansPage(props: { plans: readonly PlanView[]; status: string; canCreate: boolean }) {
  return (
    <>
      <h1>Plans</h1>
      <CatalogTabs current="plans" costs />
      <form class="toolbar" method="get" action="/catalog/plans" role="search"
        hx-get="/catalog/plans" hx-trigger="change" hx-target="#plan-table" hx-select="#plan-table" hx-swap="outerHTML" hx-push-url="true">
        <select name="status" aria-label="Status">
          <option value="" selected={props.status === ''}>Any status</option>
          {PLAN_STATUSES.map((s) => <option value={s} selected={props.status === s}>{s}</option>)}
        </select>
        <noscript><button type="submit">Filter</button></noscript>
        <span class="spacer" />
        {props.canCreate && <a class="button" href="/catalog/plans/new">New plan</a>}
      </form>
      <div class="table-wrap" id="plan-table">
        <table class="data">
          <thead><tr><th>Plan</th><th>Code</th><th>Model</th><th class="num">Monthly fee</th><th>Prices</th><th>Status</th></tr></thead>
          <tbody>
            {props.plans.length === 0 && <tr><td colspan={6} class="empty">No plans match.</td></tr>}
            {props.plans.map((p) => (
              <tr data-plan-id={String(p.id)}>
                <td><a href={`/catalog/plans/${p.id}`}>{p.name}</a> <Inherited inherited={p.inherited} /></td>
                <td><code>{p.code}</code></td>
                <td>{MODEL_LABEL[p.model]}</td>
                <td class="num">{formatMoney(p.fixedFeeMinor, p.currency)}</td>
                <td>{p.prices.length}</td>
                <td><span class="badge">{p.status}</span></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  )
}

export function PlanForm(props: { csrf: string; action: string; mode: 'create' | 'edit'; values: FormValues; errors: Readonly<Record<string, string>>; message?: string | undefined; cancelHref: string }) {
  const v = props.values
  const e = props.errors
  return (
    <>
      <h1>{props.mode === 'create' ? 'New plan' : `Edit plan ${v.code ?? ''}`}</h1>
      <ErrorSummary message={props.message} />
      <form method="post" action={props.action} class="stacked panel" novalidate>
        <CsrfField token={props.csrf} />
        <Field label="Code" name="code" value={v.code} error={e.code} required maxlength={64} />
        <Field label="Name" name="name" value={v.name} error={e.name} required maxlength={200} />
        <Select label="Model" name="model" value={v.model ?? 'payg'} error={e.model} options={PLAN_MODELS.map((m) => ({ value: m, label: MODEL_LABEL[m]! }))} />
        <Field label="Currency" name="currency" value={v.currency ?? 'EUR'} error={e.currency} maxlength={3} hint="Three-letter ISO code; subscribers must be billed in it" />
        <Field label="Monthly fixed fee" name="fixedFee" value={v.fixedFee ?? '0'} error={e.fixedFee ?? e.fixedFeeMinor} hint="In the plan's currency, e.g. 120.00; 0 for pay as you go" />
        <Select label="Status" name="status" value={v.status ?? 'active'} error={e.status} options={PLAN_STATUSES.map((s) => ({ value: s, label: s }))} />
        <Field label="Description" name="description" value={v.description} error={e.description} maxlength={2000} />
        <div class="actions">
          <button type="submit">{props.mode === 'create' ? 'Create' : 'Save'}</button>
          <a class="button secondary" href={props.cancelHref}>Cancel</a>
        </div>
      </form>
    </>
  )
}

/** A plan, and its prices as one editable row per meter its owner may price. */
export function PlanPage(props: {
  plan: PlanView; meters: readonly MeterView[]; rights: Rights; csrf: string; subscriptions: number
  values?: FormValues; errors?: Readonly<Record<string, string>>; message?: string | undefined
}) {
  const { plan } = props
  const editable = !plan.inherited && props.rights.update
  const value = (key: string, fallback: string) => props.values?.[key] ?? fallback
  return (
    <>
      <div class="breadcrumbs"><a href="/catalog/plans">Plans</a><span>{plan.name}</span></div>
      <h1>{plan.name} <span class="badge">{plan.status}</span> <Inherited inherited={plan.inherited} /></h1>
      <div class="toolbar">
        {editable && <a class="button secondary" href={`/catalog/plans/${plan.id}/edit`}>Edit</a>}
        {!plan.inherited && props.rights.delete && props.subscriptions === 0 && <DeleteButton csrf={props.csrf} action={`/catalog/plans/${plan.id}/delete`} label="Delete plan" />}
      </div>
      <section class="panel">
        <dl class="props">
          <dt>Code</dt><dd><code>{plan.code}</code></dd>
          <dt>Model</dt><dd>{MODEL_LABEL[plan.model]}</dd>
          <dt>Monthly fixed fee</dt><dd>{formatMoney(plan.fixedFeeMinor, plan.currency)}</dd>
          <dt>Currency</dt><dd>{plan.currency}</dd>
          {!plan.inherited && <><dt>Subscriptions</dt><dd>{props.subscriptions}</dd></>}
          {plan.description && <><dt>Description</dt><dd>{plan.description}</dd></>}
        </dl>
      </section>
      <h2>Prices</h2>
      <p class="muted">Price per unit beyond the included quantity, in {plan.currency}. {plan.model === 'payg' ? 'Pay as you go includes nothing.' : ''} Leave the price empty to leave a meter out.</p>
      <ErrorSummary message={props.message} />
      <form method="post" action={`/catalog/plans/${plan.id}/prices`}>
        <CsrfField token={props.csrf} />
        <div class="table-wrap">
          <table class="data">
            <thead><tr><th>Meter</th><th>Unit</th><th class="num">Unit price</th><th class="num">Included</th></tr></thead>
            <tbody>
              {props.meters.length === 0 && <tr><td colspan={4} class="empty">No meters to price.</td></tr>}
              {props.meters.map((m) => {
                const price = plan.prices.find((p) => p.meterId === m.id)
                const error = props.errors?.[`meter.${m.id}`]
                return (
                  <tr data-meter-id={String(m.id)}>
                    <td>{m.name} <code>{m.code}</code></td>
                    <td>{m.unit}</td>
                    <td class="num">{editable
                      ? <input name={`price.${m.id}`} value={value(`price.${m.id}`, price ? formatQuantity(price.unitPrice).replace(/,/g, '') : '')} size={12} aria-label={`Unit price of ${m.code}`} />
                      : price ? formatQuantity(price.unitPrice) : '—'}</td>
                    <td class="num">{editable
                      ? <input name={`included.${m.id}`} value={value(`included.${m.id}`, price ? formatQuantity(price.includedQuantity).replace(/,/g, '') : '0')} size={12} aria-label={`Included quantity of ${m.code}`} />
                      : price ? formatQuantity(price.includedQuantity, m.unit) : '—'}
                      {error && <small class="error">{error}</small>}</td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
        {editable && <div class="actions"><button type="submit">Save prices</button></div>}
      </form>
    </>
  )
}

export function ProvidersPage(props: { providers: readonly ProviderView[]; rights: Rights; csrf: string }) {
  return (
    <>
      <h1>Providers</h1>
      <CatalogTabs current="providers" costs />
      <div class="toolbar">{props.rights.create && <a class="button" href="/catalog/providers/new">New provider</a>}</div>
      <div class="table-wrap">
        <table class="data">
          <thead><tr><th>Name</th><th>Region</th><th class="num">vCPU</th><th class="num">Memory</th><th class="num">Storage</th><th>Status</th><th></th></tr></thead>
          <tbody>
            {props.providers.length === 0 && <tr><td colspan={7} class="empty">No providers yet.</td></tr>}
            {props.providers.map((p) => (
              <tr data-provider-id={String(p.id)}>
                <td>{p.name} <Inherited inherited={p.inherited} /></td>
                <td>{p.region}</td>
                <td class="num">{formatQuantity(p.cpuCapacity)}</td>
                <td class="num">{formatQuantity(p.memoryGb, 'GB')}</td>
                <td class="num">{formatQuantity(p.storageGb, 'GB')}</td>
                <td><span class="badge">{p.status}</span></td>
                <td>
                  {!p.inherited && props.rights.update && <a href={`/catalog/providers/${p.id}/edit`}>Edit</a>}
                  {!p.inherited && props.rights.delete && <> <DeleteButton csrf={props.csrf} action={`/catalog/providers/${p.id}/delete`} label="Delete" /></>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  )
}

export function ProviderForm(props: { csrf: string; action: string; mode: 'create' | 'edit'; values: FormValues; errors: Readonly<Record<string, string>>; message?: string | undefined }) {
  const v = props.values
  const e = props.errors
  return (
    <>
      <h1>{props.mode === 'create' ? 'New provider' : `Edit provider ${v.name ?? ''}`}</h1>
      <ErrorSummary message={props.message} />
      <form method="post" action={props.action} class="stacked panel" novalidate>
        <CsrfField token={props.csrf} />
        <Field label="Name" name="name" value={v.name} error={e.name} required maxlength={200} />
        <Field label="Region" name="region" value={v.region} error={e.region} maxlength={100} />
        <Field label="CPU capacity (vCPU)" name="cpuCapacity" value={v.cpuCapacity ?? '0'} error={e.cpuCapacity} />
        <Field label="Memory (GB)" name="memoryGb" value={v.memoryGb ?? '0'} error={e.memoryGb} />
        <Field label="Storage (GB)" name="storageGb" value={v.storageGb ?? '0'} error={e.storageGb} />
        <Select label="Status" name="status" value={v.status ?? 'active'} error={e.status} options={PROVIDER_STATUSES.map((s) => ({ value: s, label: s }))} />
        <div class="actions">
          <button type="submit">{props.mode === 'create' ? 'Create' : 'Save'}</button>
          <a class="button secondary" href="/catalog/providers">Cancel</a>
        </div>
      </form>
    </>
  )
}
