/**
 * The page around every signed-in screen: header with the organisation and the user, navigation
 * built from the enabled plugins' entries, flash messages, then the page's own content.
 */
import { raw } from 'hono/html'
import type { Child } from 'hono/jsx'
import type { NavEntry } from '../core/plugins/define.ts'
import { FlashMessage, type Flash } from './Flash.tsx'

export interface ShellProps {
  readonly title: string
  readonly csrfToken: string
  readonly user: { readonly name: string; readonly email: string } | null
  readonly orgName: string | undefined
  readonly nav: readonly NavEntry[]
  readonly currentPath: string
  readonly flash: Flash | undefined
  /** Shown under the header on every page: the notice of a finished report run (core/reports/run-notice.tsx). */
  readonly notices?: Child
  readonly children?: Child
}

export function Document(props: { title: string; csrfToken: string; bodyClass?: string; children?: Child }) {
  // The doctype keeps browsers in standards mode (without it: quirks mode, e.g. tables ignore the
  // inherited font size and the sign-out form gets a bottom margin).
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="csrf-token" content={props.csrfToken} />
          <meta name="htmx-config" content='{"mode":"same-origin","includeIndicatorCSS":true}' />
          <title>{props.title} · Ledgerlite</title>
          <link rel="icon" href="data:," />
          <link rel="stylesheet" href="/assets/app.css" />
          <script src="/assets/htmx.js" defer></script>
          <script src="/assets/app.js" defer></script>
        </head>
        <body class={props.bodyClass}>{props.children}</body>
      </html>
    </>
  )
}

function groupNav(nav: readonly NavEntry[]): [string, NavEntry[]][] {
  const sections = new Map<string, NavEntry[]>()
  for (const entry of nav) {
    const list = sections.get(entry.section) ?? []
    list.push(entry)
    sections.set(entry.section, list)
  }
  return [...sections].map(([section, entries]) => [section, entries.sort((a, b) => (a.order ?? 100) - (b.order ?? 100))])
}

function matches(href: string, path: string): boolean {
  return href === '/' ? path === '/' : path === href || path.startsWith(href + '/')
}

/** The entry for the page: the longest matching href, so `/users/tokens` marks "API tokens", not "Users". */
function currentHref(nav: readonly NavEntry[], path: string): string | undefined {
  return nav.filter((entry) => matches(entry.href, path)).sort((a, b) => b.href.length - a.href.length)[0]?.href
}

export function AppShell(props: ShellProps) {
  const current = currentHref(props.nav, props.currentPath)
  return (
    <Document title={props.title} csrfToken={props.csrfToken}>
      <header class="topbar">
        <a class="brand" href="/">Ledgerlite</a>
        {props.orgName && <span class="org-name">{props.orgName}</span>}
        {props.user && (
          <form method="post" action="/logout" class="signout">
            <span class="who" title={props.user.email}>{props.user.name}</span>
            <input type="hidden" name="_csrf" value={props.csrfToken} />
            <button type="submit" class="link">Sign out</button>
          </form>
        )}
      </header>
      {props.notices}
      <div class="layout">
        <nav class="sidenav" aria-label="Main">
          <ul>
            <li><a href="/" aria-current={props.currentPath === '/' ? 'page' : undefined}>Dashboard</a></li>
          </ul>
          {groupNav(props.nav).map(([section, entries]) => (
            <section>
              <h2>{section}</h2>
              <ul>
                {entries.map((entry) => (
                  <li><a href={entry.href} aria-current={entry.href === current ? 'page' : undefined}>{entry.label}</a></li>
                ))}
              </ul>
            </section>
          ))}
        </nav>
        <main id="main">
          <FlashMessage flash={props.flash} />
          {props.children}
        </main>
      </div>
    </Document>
  )
}
