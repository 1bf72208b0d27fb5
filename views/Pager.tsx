/**
 * "1–50 of 312" with Previous / Next links for a paged list. The links swap only the list's
 * container (`target`, an element id) with htmx and push the URL, so the page number stays
 * shareable; without JavaScript they are plain links.
 *
 * @example
 * <Pager page={filter.page} pageSize={50} shown={rows.length} total={total} target="user-table" href={(p) => listHref(filter, p)} />
 */
export interface PagerProps {
  readonly page: number
  readonly pageSize: number
  /** Rows on this page. */
  readonly shown: number
  readonly total: number
  /** Id of the element the links replace. */
  readonly target: string
  readonly href: (page: number) => string
}

export function Pager(props: PagerProps) {
  const { page, pageSize, shown, total, target, href } = props
  if (total <= 0) return null
  const first = (page - 1) * pageSize
  const link = (to: number, label: string) => (
    <a class="button secondary" href={href(to)} hx-get={href(to)} hx-target={`#${target}`} hx-select={`#${target}`} hx-swap="outerHTML" hx-push-url="true">{label}</a>
  )
  return (
    <nav class="pager" aria-label="Pages">
      <span class="muted">{first + 1}–{Math.min(first + shown, total)} of {total}</span>
      {page > 1 && link(page - 1, 'Previous')}
      {first + pageSize < total && link(page + 1, 'Next')}
    </nav>
  )
}
