/** Pages for API tokens: your own tokens, the create form, a new token's secret shown once. */
import { tokenState, type ApiTokenSummary } from '../../core/access/api-tokens.ts'
import { CsrfField, ErrorSummary, Field, Select } from '../../views/forms.tsx'

/** `2025-01-31 14:05 UTC`, or a dash. */
export function when(date: Date | null | undefined): string {
  return date ? `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '—'
}

/**
 * A table of tokens. `brief` is the view an administrator gets of someone else's tokens: name,
 * hint, last use and state only.
 */
export function TokenTable(props: { tokens: readonly ApiTokenSummary[]; csrf: string; canRevoke: boolean; brief?: boolean; orgNames?: ReadonlyMap<number, string> }) {
  const withOrg = !props.brief && props.orgNames !== undefined
  const columns = (props.brief ? 5 : 7) + (withOrg ? 1 : 0)
  return (
    <div class="table-wrap" id="token-table">
      <table class="data">
        <thead>
          <tr>
            <th>Name</th><th>Token</th>{withOrg && <th>Organisation</th>}{!props.brief && <th>Created</th>}<th>Last used</th>{!props.brief && <th>Expires</th>}<th>State</th><th></th>
          </tr>
        </thead>
        <tbody>
          {props.tokens.length === 0 && <tr><td colspan={columns} class="empty">No API tokens.</td></tr>}
          {props.tokens.map((t) => {
            const state = tokenState(t)
            return (
              <tr data-token-id={String(t.id)}>
                <td>{t.name}</td>
                <td><code>…{t.hint}</code></td>
                {withOrg && <td>{props.orgNames!.get(t.org_id) ?? '—'}</td>}
                {!props.brief && <td>{when(t.created_at)}</td>}
                <td>{when(t.last_used_at)}</td>
                {!props.brief && <td>{t.expires_at ? when(t.expires_at) : 'never'}</td>}
                <td><span class={`badge token-${state}`}>{state === 'revoked' ? `revoked ${when(t.revoked_at)}` : state}</span></td>
                <td>
                  {props.canRevoke && state === 'active' && (
                    <form method="post" action={`/users/tokens/${t.id}/revoke`} class="inline">
                      <CsrfField token={props.csrf} />
                      <button type="submit" class="danger small">Revoke</button>
                    </form>
                  )}
                </td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}

export interface TokenFormValues {
  readonly name?: string | undefined
  readonly expiresInDays?: string | undefined
  readonly orgId?: string | undefined
}

export function TokensPage(props: {
  tokens: readonly ApiTokenSummary[]; csrf: string; canCreate: boolean; canRevoke: boolean
  values: TokenFormValues; errors: Readonly<Record<string, string>>; message?: string | undefined
  /** Organisations a token may be scoped to (the caller's subtree), and the caller's own. */
  organisations: readonly { value: number; label: string }[]; orgNames: ReadonlyMap<number, string>; defaultOrgId: number
}) {
  return (
    <>
      <h1>API tokens</h1>
      <p class="muted">
        A token lets a script call the JSON API as you: send <code>Authorization: Bearer llt_…</code>. It has your roles as they
        are at each call, limited to the organisation it is made for and what lies below it, and stops working when it is
        revoked, when it expires, when your account is disabled, or when that organisation leaves your subtree.
      </p>
      <TokenTable tokens={props.tokens} csrf={props.csrf} canRevoke={props.canRevoke} orgNames={props.orgNames} />
      {props.canCreate && (
        <>
          <h2>New token</h2>
          <ErrorSummary message={props.message} />
          <form method="post" action="/users/tokens" class="stacked panel" novalidate>
            <CsrfField token={props.csrf} />
            <Field label="Name" name="name" value={props.values.name} error={props.errors.name} required maxlength={100} hint="What the token is for, e.g. Billing export" />
            <Select label="Organisation" name="orgId" value={props.values.orgId ?? props.defaultOrgId} options={props.organisations} error={props.errors.orgId} />
            <Field label="Expires in (days)" name="expiresInDays" type="number" value={props.values.expiresInDays} error={props.errors.expiresInDays}
              hint="1 to 365; leave empty for a token that does not expire" />
            <div class="actions"><button type="submit">Create token</button></div>
          </form>
        </>
      )}
    </>
  )
}

/** A new token's secret, shown this once. The page is `no-store`; only the hash is kept. */
export function TokenShown(props: { token: ApiTokenSummary; secret: string }) {
  return (
    <>
      <h1>Token created</h1>
      <section class="panel secret-panel">
        <p>Your new token <strong>{props.token.name}</strong>{props.token.expires_at ? `, valid until ${when(props.token.expires_at)}` : ''}:</p>
        <p><code class="secret" data-secret="token">{props.secret}</code></p>
        <p><strong>Copy it now.</strong> It is shown only this once; we keep only a fingerprint of it. If it is lost, revoke it and make a new one.</p>
        <p class="muted">Use it as <code>Authorization: Bearer {'<token>'}</code> on <code>/api/v1/…</code>.</p>
      </section>
      <div class="actions"><a class="button" href="/users/tokens">Back to API tokens</a></div>
    </>
  )
}
