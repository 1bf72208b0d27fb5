/** Pages of the audit log: the filter form and the results (table, changes, "Older" link). */
import type { Child } from 'hono/jsx'
import type { AuditEntryView, AuditFilter } from '../../core/audit/query.ts'
import { ACTOR_PROVIDER, ACTOR_SYSTEM, actorLabel, auditQueryParams } from '../../core/audit/query.ts'
import { changedKeys, showValue } from './diff.ts'

/** The results region: what an htmx filter change or "Older" click swaps. */
export const RESULTS_ID = 'audit-results'

const swap = { 'hx-target': `#${RESULTS_ID}`, 'hx-swap': 'outerHTML', 'hx-push-url': 'true' } as const

/** What the user typed, echoed back into the form as it was (even when it was not valid). */
export type RawFilter = Readonly<Record<string, string | undefined>>

export interface FilterChoices {
  /** Emails of users in the reader's subtree. */
  readonly actors: readonly string[]
  /** Whether anyone above the reader exists (then "An administrator of your provider" is a choice). */
  readonly hasProvider: boolean
  /** Organisations in scope, in tree order; undefined when there are too many for a list. */
  readonly organisations: readonly { readonly id: number; readonly name: string; readonly depth: number }[] | undefined
  readonly subjects: readonly string[]
  readonly actions: readonly string[]
}

export function AuditScreen(props: { raw: RawFilter; choices: FilterChoices; results: Child }) {
  return (
    <>
      <h1>Audit log</h1>
      <FilterForm raw={props.raw} choices={props.choices} />
      {props.results}
    </>
  )
}

function FilterForm(props: { raw: RawFilter; choices: FilterChoices }) {
  const { raw, choices } = props
  const v = (key: string) => raw[key] ?? ''
  return (
    <form class="toolbar audit-filters" method="get" action="/audit" role="search" hx-get="/audit" hx-trigger="submit, change" {...swap}>
      <label>Actor
        <input type="search" name="actor" value={v('actor')} list="audit-actors" placeholder="Email address" maxlength={320} />
      </label>
      <datalist id="audit-actors">
        <option value={ACTOR_SYSTEM}>System</option>
        {choices.hasProvider && <option value={ACTOR_PROVIDER}>An administrator of your provider</option>}
        {choices.actors.map((email) => <option value={email} />)}
      </datalist>
      <label>Organisation
        {choices.organisations ? (
          <select name="org">
            <option value="" selected={v('org') === ''}>All organisations</option>
            {choices.organisations.map((o) => (
              <option value={String(o.id)} selected={v('org') === String(o.id)}>{'\u2003'.repeat(o.depth)}{o.name}</option>
            ))}
          </select>
        ) : <input type="text" name="org" value={v('org')} inputmode="numeric" placeholder="Organisation id" />}
      </label>
      <label class="inline"><input type="checkbox" name="subtree" value="1" checked={v('subtree') === '1'} /> and below</label>
      <label>Subject
        <select name="subject">
          <option value="" selected={v('subject') === ''}>All subjects</option>
          {withCurrent(choices.subjects, v('subject')).map((s) => <option value={s} selected={v('subject') === s}>{s}</option>)}
        </select>
      </label>
      <label>Action
        <select name="action">
          <option value="" selected={v('action') === ''}>All actions</option>
          {withCurrent(choices.actions, v('action')).map((a) => <option value={a} selected={v('action') === a}>{a}</option>)}
        </select>
      </label>
      <label>From <input type="date" name="from" value={v('from')} /></label>
      <label>To <input type="date" name="to" value={v('to')} /></label>
      <button type="submit">Filter</button>
      <a class="button secondary" href="/audit">Clear</a>
    </form>
  )
}

/** A value from the URL stays selectable even if it is not among the offered choices. */
function withCurrent(options: readonly string[], current: string): string[] {
  return current && !options.includes(current) ? [...options, current].sort() : [...options]
}

export interface ResultsProps {
  readonly entries: readonly AuditEntryView[]
  readonly filter: AuditFilter | undefined
  /** Cursor for the "Older" link. */
  readonly next: string | null
  /** This page started from a cursor: offer a way back to the newest entries. */
  readonly paged: boolean
  readonly canExport: boolean
  /** A bad filter: the message and the field messages, shown instead of rows. */
  readonly problem?: { readonly message: string; readonly fields: Readonly<Record<string, string>> } | undefined
}

export function AuditResults(props: ResultsProps) {
  const filter = props.filter ?? {}
  const query = auditQueryParams(filter).toString()
  const first = query ? `/audit?${query}` : '/audit'
  return (
    <div id={RESULTS_ID}>
      {props.problem && (
        <div class="flash flash-error" role="alert">
          <p>{props.problem.message}</p>
          <ul>{Object.entries(props.problem.fields).map(([k, m]) => <li><strong>{k}</strong>: {m}</li>)}</ul>
        </div>
      )}
      {!props.problem && (
        <>
          <div class="toolbar">
            <span class="muted">{props.entries.length === 0 ? 'No entries' : `${props.entries.length} entr${props.entries.length === 1 ? 'y' : 'ies'}, newest first`}</span>
            <span class="spacer" />
            {props.canExport && <a class="button secondary" href={query ? `/audit/export.csv?${query}` : '/audit/export.csv'} download>Export CSV</a>}
          </div>
          <div class="table-wrap">
            <table class="data audit">
              <thead><tr><th>When (UTC)</th><th>Who</th><th>Organisation</th><th>Subject</th><th>Action</th><th>Summary</th><th>Changes</th></tr></thead>
              <tbody>
                {props.entries.length === 0 && <tr><td colspan={7} class="empty">No audit entries match.</td></tr>}
                {props.entries.map((e) => <EntryRow entry={e} />)}
              </tbody>
            </table>
          </div>
          <nav class="pager" aria-label="Pages">
            {props.paged && <a href={first} hx-get={first} {...swap}>Newest</a>}
            {props.next && (
              <a href={`/audit?${auditQueryParams(filter, { before: props.next })}`} hx-get={`/audit?${auditQueryParams(filter, { before: props.next })}`} {...swap} rel="next">Older</a>
            )}
          </nav>
        </>
      )}
    </div>
  )
}

/** `2025-03-01 14:05:09` (UTC, as the column says): readable, and the same for every reader. */
function readableUtc(at: Date): string {
  return at.toISOString().slice(0, 19).replace('T', ' ')
}

function EntryRow(props: { entry: AuditEntryView }) {
  const e = props.entry
  const changes = changedKeys(e.before, e.after)
  return (
    <tr data-audit-id={e.id}>
      <td><time datetime={e.at.toISOString()}>{readableUtc(e.at)}</time></td>
      <td class={e.actor.kind === 'user' ? undefined : 'muted'}>{actorLabel(e.actor)}</td>
      <td><a href={`/organisations/${e.orgId}`}>{e.orgName}</a></td>
      <td>{e.subject}{e.subjectId !== null && <span class="muted"> #{e.subjectId}</span>}</td>
      <td>{e.action}</td>
      <td class="wrap">{e.summary}</td>
      <td class="wrap">
        {changes.length === 0 ? <span class="muted">—</span> : (
          <details>
            <summary>{changes.length} change{changes.length === 1 ? '' : 's'}</summary>
            <table class="changes">
              <thead><tr><th>Key</th><th>Before</th><th>After</th></tr></thead>
              <tbody>
                {changes.map((ch) => (
                  <tr><th scope="row">{ch.key}</th><td>{showValue(ch.before)}</td><td>{showValue(ch.after)}</td></tr>
                ))}
              </tbody>
            </table>
          </details>
        )}
      </td>
    </tr>
  )
}
