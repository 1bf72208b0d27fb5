/** Small form pieces shared by every module: labelled fields with their error, the CSRF field. */
import type { Child } from 'hono/jsx'

export function CsrfField(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />
}

export interface FieldProps {
  readonly label: string
  readonly name: string
  readonly value?: string | number | null | undefined
  readonly type?: 'text' | 'email' | 'password' | 'number' | 'date' | 'search'
  readonly error?: string | undefined
  readonly required?: boolean
  readonly hint?: string
  readonly autocomplete?: string
  readonly maxlength?: number
}

export function Field(props: FieldProps) {
  const id = `f-${props.name}`
  return (
    <div class={props.error ? 'field has-error' : 'field'}>
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value == null ? '' : String(props.value)}
        required={props.required}
        autocomplete={props.autocomplete}
        maxlength={props.maxlength}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={props.error ? `${id}-error` : undefined}
      />
      {props.hint && <small class="hint">{props.hint}</small>}
      {props.error && <small class="error" id={`${id}-error`}>{props.error}</small>}
    </div>
  )
}

export interface SelectProps {
  readonly label: string
  readonly name: string
  readonly value?: string | number | null | undefined
  readonly options: readonly { readonly value: string | number; readonly label: string }[]
  readonly error?: string | undefined
  readonly children?: Child
}

export function Select(props: SelectProps) {
  const id = `f-${props.name}`
  return (
    <div class={props.error ? 'field has-error' : 'field'}>
      <label for={id}>{props.label}</label>
      <select id={id} name={props.name} aria-invalid={props.error ? 'true' : undefined}>
        {props.options.map((o) => <option value={String(o.value)} selected={String(o.value) === String(props.value ?? '')}>{o.label}</option>)}
      </select>
      {props.error && <small class="error">{props.error}</small>}
    </div>
  )
}

export function ErrorSummary(props: { message: string | undefined }) {
  if (!props.message) return null
  return <p class="flash flash-error" role="alert">{props.message}</p>
}
