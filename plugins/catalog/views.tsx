/** Pages of the catalog: services with their meters, the service and meter forms, the costs page. */
import type { MeterView, ServiceView } from '../../core/billing/catalog.ts'
import type { CostView } from '../../core/billing/costs.ts'
import { formatQuantity } from '../../core/billing/money.ts'
import type { PlanView } from '../../core/billing/plans.ts'
import { METER_AGGREGATIONS, SERVICE_CATEGORIES } from '../../core/db/schema.ts'
import { CsrfField, ErrorSummary, Field, Select } from '../../views/forms.tsx'
import type { FormValues } from './form.ts'

export interface Rights {
  readonly create: boolean
  readonly update: boolean
  readonly delete: boolean
}

export function Inherited(props: { inherited: boolean }) {
  return props.inherited ? <span class="badge" title="Owned above your organisation: read-only here">shared</span> : null
}

export function DeleteButton(props: { csrf: string; action: string; label: string }) {
  return (
    <form class="inline" method="post" action={props.action}>
      <CsrfField token={props.csrf} />
      <button type="submit" class="secondary">{props.label}</button>
    </form>
  )
}

export function CatalogTabs(props: { current: 'services' | 'plans' | 'providers' | 'costs'; costs: boolean }) {
  const tab = (key: typeof props.current, href: string, label: string) =>
    key === props.current ? <strong>{label}</strong> : <a href={href}>{label}</a>
  return (
    <p class="toolbar">
      {tab('services', '/catalog', 'Services & meters')} · {tab('plans', '/catalog/plans', 'Plans')} · {tab('providers', '/catalog/providers', 'Providers')}
      {props.costs && <> · {tab('costs', '/catalog/costs', 'Costs')}</>}
    </p>
  )
}

export function ServicesPage(props: { services: readonly ServiceView[]; meters: readonly MeterView[]; costs: ReadonlyMap<number, CostView>; rights: Rights; csrf: string }) {
  return (
    <>
      <h1>Catalog</h1>
      <CatalogTabs current="services" costs />
      <div class="toolbar">
        {props.rights.create && <a class="button" href="/catalog/services/new">New service</a>}
        {props.rights.create && props.services.length > 0 && <a class="button secondary" href="/catalog/meters/new">New meter</a>}
      </div>
      {props.services.length === 0 && <p class="empty">No services yet.</p>}
      {props.services.map((s) => {
        const meters = props.meters.filter((m) => m.serviceId === s.id)
        return (
          <section class="panel" data-service-id={String(s.id)}>
            <h2>{s.name} <span class="muted">{s.code}</span> <span class="badge">{s.category}</span> <Inherited inherited={s.inherited} /></h2>
            {s.description && <p>{s.description}</p>}
            <div class="toolbar">
              {!s.inherited && props.rights.update && <a class="button secondary" href={`/catalog/services/${s.id}/edit`}>Edit service</a>}
              {props.rights.create && <a class="button secondary" href={`/catalog/meters/new?service=${s.id}`}>Add meter</a>}
              {!s.inherited && props.rights.delete && meters.length === 0 && <DeleteButton csrf={props.csrf} action={`/catalog/services/${s.id}/delete`} label="Delete service" />}
            </div>
            <div class="table-wrap">
              <table class="data">
                <thead><tr><th>Meter</th><th>Code</th><th>Unit</th><th>Aggregation</th><th class="num">Unit cost</th><th></th></tr></thead>
                <tbody>
                  {meters.length === 0 && <tr><td colspan={6} class="empty">No meters.</td></tr>}
                  {meters.map((m) => {
                    const cost = props.costs.get(m.id)
                    return (
                      <tr data-meter-id={String(m.id)}>
                        <td>{m.name} <Inherited inherited={m.inherited} /></td>
                        <td><code>{m.code}</code></td>
                        <td>{m.unit}</td>
                        <td>{m.aggregation}</td>
                        <td class="num">{cost ? `${formatQuantity(cost.amount)} ${cost.currency}` : '—'}</td>
                        <td>{!m.inherited && props.rights.update && <a href={`/catalog/meters/${m.id}/edit`}>Edit</a>}</td>
                      </tr>
                    )
                  })}
                </tbody>
              </table>
            </div>
          </section>
        )
      })}
    </>
  )
}

interface FormProps {
  readonly csrf: string
  readonly action: string
  readonly mode: 'create' | 'edit'
  readonly values: FormValues
  readonly errors: Readonly<Record<string, string>>
  readonly message?: string | undefined
  readonly cancelHref: string
}

function Actions(props: { mode: 'create' | 'edit'; cancelHref: string }) {
  return (
    <div class="actions">
      <button type="submit">{props.mode === 'create' ? 'Create' : 'Save'}</button>
      <a class="button secondary" href={props.cancelHref}>Cancel</a>
    </div>
  )
}

export function ServiceForm(props: FormProps) {
  const v = props.values
  return (
    <>
      <h1>{props.mode === 'create' ? 'New service' : `Edit service ${v.code ?? ''}`}</h1>
      <ErrorSummary message={props.message} />
      <form method="post" action={props.action} class="stacked panel" novalidate>
        <CsrfField token={props.csrf} />
        <Field label="Code" name="code" value={v.code} error={props.errors.code} required maxlength={64} hint="Lowercase letters, digits, dots, dashes, e.g. compute" />
        <Field label="Name" name="name" value={v.name} error={props.errors.name} required maxlength={200} />
        <Select label="Category" name="category" value={v.category ?? 'compute'} error={props.errors.category} options={SERVICE_CATEGORIES.map((c) => ({ value: c, label: c }))} />
        <Field label="Description" name="description" value={v.description} error={props.errors.description} maxlength={2000} />
        <Actions mode={props.mode} cancelHref={props.cancelHref} />
      </form>
    </>
  )
}

export function MeterForm(props: FormProps & { services: readonly ServiceView[]; hasUsage: boolean }) {
  const v = props.values
  return (
    <>
      <h1>{props.mode === 'create' ? 'New meter' : `Edit meter ${v.code ?? ''}`}</h1>
      <ErrorSummary message={props.message} />
      <form method="post" action={props.action} class="stacked panel" novalidate>
        <CsrfField token={props.csrf} />
        <Select label="Service" name="serviceId" value={v.serviceId} error={props.errors.serviceId} options={props.services.map((s) => ({ value: s.id, label: `${s.name} (${s.code})` }))} />
        <Field label="Code" name="code" value={v.code} error={props.errors.code} required maxlength={64} hint="What usage events name, e.g. vcpu-hours" />
        <Field label="Name" name="name" value={v.name} error={props.errors.name} required maxlength={200} />
        <Field label="Unit" name="unit" value={v.unit} error={props.errors.unit} required maxlength={32} hint="e.g. GB, vCPU-h, min, message" />
        <Select label="Aggregation" name="aggregation" value={v.aggregation ?? 'sum'} error={props.errors.aggregation}
          options={METER_AGGREGATIONS.map((a) => ({ value: a, label: { sum: 'sum: add every event', max: 'max: the peak of the period', last: 'last: the latest value' }[a] }))} />
        {props.hasUsage && <p class="muted">Usage has been recorded for this meter: its aggregation can no longer change.</p>}
        <Actions mode={props.mode} cancelHref={props.cancelHref} />
      </form>
    </>
  )
}

/** One row per meter and per plan the caller's organisation may use, with its own cost. */
export function CostsPage(props: {
  meters: readonly MeterView[]; plans: readonly PlanView[]; costs: readonly CostView[]; ownerOrgId: number; canEdit: boolean; csrf: string
  errors?: Readonly<Record<string, string>>; message?: string | undefined; values?: FormValues
}) {
  const own = props.costs.filter((c) => c.ownerOrgId === props.ownerOrgId)
  const value = (key: string, fallback: string) => props.values?.[key] ?? fallback
  const row = (kind: 'meter' | 'plan', id: number, label: string, per: string, cost: CostView | undefined, defaultCurrency: string) => (
    <tr>
      <td>{label}</td>
      <td>{per}</td>
      <td><input name={`${kind}.${id}.amount`} value={value(`${kind}.${id}.amount`, cost?.amount ?? '')} aria-label={`Cost of ${label}`} size={12} disabled={!props.canEdit} />
        {props.errors?.[`${kind}.${id}`] && <small class="error">{props.errors[`${kind}.${id}`]}</small>}</td>
      <td><input name={`${kind}.${id}.currency`} value={value(`${kind}.${id}.currency`, cost?.currency ?? defaultCurrency)} aria-label={`Currency of ${label}`} size={4} maxlength={3} disabled={!props.canEdit} /></td>
    </tr>
  )
  return (
    <>
      <h1>Catalog costs</h1>
      <CatalogTabs current="costs" costs />
      <p class="muted">What providing each meter (per unit) or plan (per month) costs your organisation. Nobody below you sees these.</p>
      <ErrorSummary message={props.message} />
      <form method="post" action="/catalog/costs">
        <CsrfField token={props.csrf} />
        <div class="table-wrap">
          <table class="data">
            <thead><tr><th>Meter or plan</th><th>Per</th><th>Cost</th><th>Currency</th></tr></thead>
            <tbody>
              {props.meters.map((m) => row('meter', m.id, `${m.name} (${m.code})`, m.unit, own.find((c) => c.meterId === m.id), 'EUR'))}
              {props.plans.map((p) => row('plan', p.id, `Plan ${p.name} (${p.code})`, 'month', own.find((c) => c.planId === p.id), p.currency))}
            </tbody>
          </table>
        </div>
        {props.canEdit && <div class="actions"><button type="submit">Save costs</button></div>}
      </form>
    </>
  )
}
