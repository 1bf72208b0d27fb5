/**
 * A report's filter form, generated from its params by kind: a period (presets, and from/to days
 * for a custom range), the organisations (scope, the chosen ones, and a look-up box), the account
 * type, enums, text, numbers and days. Every change swaps only the results (htmx) and pushes the
 * canonical URL; without JavaScript the submit button does the same as a plain GET.
 *
 * The organisation picker never lists the whole scope (an operator sees 10,000+ organisations):
 * the chosen ones are ticked boxes (untick to drop one), and one text box adds another, with a
 * datalist of at most 200 matches that follows what is typed (one small look-up request). A
 * datalist entry's value is the organisation's id, so the form sends ids, as the URL does.
 */
import type { ParamDefinition } from '../../core/reports/params.ts'

export interface OrgChoice {
  readonly id: number
  readonly name: string
  readonly kind?: string
}

export interface FilterFormProps {
  readonly reportId: string
  readonly params: Readonly<Record<string, ParamDefinition<any>>>
  /** What the request said, as sent (also when it did not parse). */
  readonly raw: URLSearchParams
  /** Each param's value when its keys are left out (its default), by param name. */
  readonly defaults: Readonly<Record<string, unknown>>
  /** Messages by query key (`from`, `org`, `status`...). */
  readonly errors: Readonly<Record<string, string>>
  readonly chosenOrgs: readonly OrgChoice[]
  readonly orgSuggestions: readonly OrgChoice[]
  readonly target: string
  readonly selectOob: string
}

function FieldError(props: { id: string; message: string | undefined }) {
  return props.message ? <small class="error" id={`${props.id}-error`}>{props.message}</small> : null
}

function fieldClass(error: string | undefined, extra = ''): string {
  return `field ${extra}${error ? ' has-error' : ''}`.trim()
}

function PeriodField(props: { param: ParamDefinition<any>; raw: URLSearchParams; fallback: { preset: string; from: string; to: string } | undefined; errors: FilterFormProps['errors'] }) {
  const { raw, errors, fallback } = props
  const from = raw.get('from') ?? ''
  const to = raw.get('to') ?? ''
  const preset = raw.get('period') || (from || to ? 'custom' : fallback?.preset ?? '')
  const options = props.param.options ?? []
  const withCustom = options.some((o) => o.value === 'custom') ? options : [...options, { value: 'custom', label: 'Custom range' }]
  const error = errors.period ?? errors.tz
  return (
    <div class="period-field">
      <div class={fieldClass(error)}>
        <label for="f-period">{props.param.label}</label>
        <select id="f-period" name="period" data-period-select aria-invalid={error ? 'true' : undefined} aria-describedby={error ? 'f-period-error' : undefined}>
          {withCustom.map((o) => <option value={o.value} selected={o.value === preset}>{o.label}</option>)}
        </select>
        <FieldError id="f-period" message={error} />
      </div>
      <div class="custom-range" data-from={fallback?.from} data-to={fallback?.to}>
        {(['from', 'to'] as const).map((key) => (
          <div class={fieldClass(errors[key])}>
            <label for={`f-${key}`}>{key === 'from' ? 'From' : 'To'}</label>
            <input id={`f-${key}`} type="date" name={key} value={key === 'from' ? from : to} data-period-day={key}
              aria-invalid={errors[key] ? 'true' : undefined} aria-describedby={errors[key] ? `f-${key}-error` : undefined} />
            <FieldError id={`f-${key}`} message={errors[key]} />
          </div>
        ))}
      </div>
    </div>
  )
}

/** The scope select and the chosen organisations: refreshed out of band after every swap. */
export function OrgChosen(props: { param: ParamDefinition<any>; scope: string; chosen: readonly OrgChoice[]; errors: FilterFormProps['errors'] }) {
  const error = props.errors.scope
  return (
    <div id="org-chosen" class="org-chosen">
      <div class={fieldClass(error)}>
        <label for="f-scope">{props.param.label}</label>
        <select id="f-scope" name="scope" aria-invalid={error ? 'true' : undefined}>
          {(props.param.options ?? []).map((o) => <option value={o.value} selected={o.value === props.scope}>{o.label}</option>)}
        </select>
        <FieldError id="f-scope" message={error} />
      </div>
      {props.chosen.length > 0 && (
        <fieldset class="checks chosen-orgs">
          <legend>Chosen ({props.chosen.length})</legend>
          {props.chosen.map((org) => <label><input type="checkbox" name="org" value={String(org.id)} checked /> {org.name}</label>)}
        </fieldset>
      )}
    </div>
  )
}

function requestedOrgs(raw: URLSearchParams): string[] {
  return raw.getAll('org').flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean)
}

/** The scope the select shows: as asked, else "only the chosen" once an organisation is named, else all. */
export function chosenScope(raw: URLSearchParams, chosen: readonly OrgChoice[]): string {
  return raw.get('scope') || (chosen.length || requestedOrgs(raw).length ? 'one' : 'all')
}

function OrgField(props: { param: ParamDefinition<any>; raw: URLSearchParams; chosen: readonly OrgChoice[]; suggestions: readonly OrgChoice[]; errors: FilterFormProps['errors'] }) {
  const chosenIds = new Set(props.chosen.map((o) => String(o.id)))
  // A value that is not one of the chosen organisations (an unknown id, a typo) stays in the box, next to its error.
  const typed = requestedOrgs(props.raw).find((v) => !chosenIds.has(v)) ?? ''
  const scope = chosenScope(props.raw, props.chosen)
  const error = props.errors.org
  return (
    <div class="org-field">
      <OrgChosen param={props.param} scope={scope} chosen={props.chosen} errors={props.errors} />
      <div class={fieldClass(error)}>
        <label for="f-org">Add an organisation</label>
        <input id="f-org" type="text" name="org" value={typed} list="org-options" autocomplete="off" placeholder="Type a name or an id"
          hx-get="/reports/organisations" hx-trigger="input changed delay:300ms" hx-target="#org-options" hx-swap="innerHTML" hx-include="this"
          aria-invalid={error ? 'true' : undefined} aria-describedby={error ? 'f-org-error' : 'f-org-hint'} />
        {!error && <small class="hint" id="f-org-hint">Pick from the matches; the box holds the organisation's id.</small>}
        <FieldError id="f-org" message={error} />
        <datalist id="org-options"><OrgOptions orgs={props.suggestions} /></datalist>
      </div>
    </div>
  )
}

/** Datalist entries: the value is the id, the label the name. */
export function OrgOptions(props: { orgs: readonly OrgChoice[] }) {
  return <>{props.orgs.map((o) => <option value={String(o.id)} label={o.kind ? `${o.name} (${o.kind})` : o.name} />)}</>
}

function ParamField(props: { name: string; param: ParamDefinition<any>; raw: URLSearchParams; fallback: unknown; errors: FilterFormProps['errors'] }) {
  const { name, param, raw, errors } = props
  const id = `f-${name}`
  const error = errors[name]
  const described = error ? `${id}-error` : undefined
  if (param.options && param.multiple) {
    const values = new Set(raw.getAll(name).flatMap((v) => v.split(',')).map((v) => v.trim()))
    return (
      <fieldset class={`checks ${fieldClass(error)}`}>
        <legend>{param.label}</legend>
        {param.options.map((o) => <label><input type="checkbox" name={name} value={o.value} checked={values.has(o.value)} /> {o.label}</label>)}
        <FieldError id={id} message={error} />
      </fieldset>
    )
  }
  if (param.options) {
    const value = raw.get(name) ?? (props.fallback === undefined ? '' : String(props.fallback))
    return (
      <div class={fieldClass(error)}>
        <label for={id}>{param.label}</label>
        <select id={id} name={name} aria-invalid={error ? 'true' : undefined} aria-describedby={described}>
          {props.fallback === undefined && <option value="" selected={value === ''}>Any</option>}
          {param.options.map((o) => <option value={o.value} selected={o.value === value}>{o.label}</option>)}
        </select>
        <FieldError id={id} message={error} />
      </div>
    )
  }
  const type = param.kind === 'date' ? 'date' : param.kind === 'text' ? 'search' : 'text'
  const value = raw.get(name) ?? (props.fallback === undefined || param.kind !== 'number' ? '' : String(props.fallback))
  return (
    <div class={fieldClass(error)}>
      <label for={id}>{param.label}</label>
      <input id={id} type={type} name={name} value={value} inputmode={param.kind === 'number' ? 'decimal' : undefined}
        aria-invalid={error ? 'true' : undefined} aria-describedby={described} title={param.description} />
      <FieldError id={id} message={error} />
    </div>
  )
}

/** Engine keys the form keeps while filters change: the tab, the sort and the page size (never the page). */
export function ReportState(props: { raw: URLSearchParams }) {
  return (
    <span id="report-state" hidden>
      {(['tab', 'sort', 'pageSize'] as const).map((key) => {
        const value = props.raw.get(key)
        return value ? <input type="hidden" name={key} value={value} /> : null
      })}
    </span>
  )
}

export function FilterForm(props: FilterFormProps) {
  const action = `/reports/${props.reportId}`
  return (
    <form id="report-filters" class="report-filters panel" method="get" action={action} role="search" aria-label="Filters"
      hx-get={action} hx-trigger="submit, change" hx-target={`#${props.target}`} hx-select={`#${props.target}`} hx-select-oob={props.selectOob}
      hx-swap="outerHTML" hx-push-url="true">
      <ReportState raw={props.raw} />
      {Object.entries(props.params).map(([name, param]) => {
        if (param.kind === 'period') return <PeriodField param={param} raw={props.raw} fallback={props.defaults[name] as { preset: string; from: string; to: string } | undefined} errors={props.errors} />
        if (param.kind === 'organisations') return <OrgField param={param} raw={props.raw} chosen={props.chosenOrgs} suggestions={props.orgSuggestions} errors={props.errors} />
        return <ParamField name={name} param={param} raw={props.raw} fallback={props.defaults[name]} errors={props.errors} />
      })}
      <noscript><div class="actions"><button type="submit">Show</button></div></noscript>
    </form>
  )
}
