/**
 * The "your report is ready" notice on every signed-in page, and what makes it cost nothing when
 * no run is in flight. Starting a run from a report's form sets a cookie naming the user. Only when
 * that cookie names the signed-in user does a full page carry a small region that polls
 * `GET /reports/runs/notice` (core/reports/run-routes.tsx); every other page render does no query
 * and no polling. The endpoint answers 204 while the user's runs are still going, shows each
 * finished run once (`report_runs.notified_at`), and once nothing of theirs is owed it answers with
 * no poller (htmx stops) and clears the cookie. The cookie is only a hint: the endpoint reads the
 * signed-in user's own runs through the scoped handle, so a forged cookie shows nothing.
 *
 * Kept apart from runs.ts so that the page renderer (core/http/render.tsx) can ask
 * {@link runNoticeDue} without loading the report engine.
 *
 * @example
 * notices={user && runNoticeDue(c, user.id) ? <RunNoticeRegion /> : undefined}
 */
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { AppEnv } from '../http/env.ts'

export const RUN_NOTICE_PATH = '/reports/runs/notice'
const COOKIE = 'll_run_notice'
/** Longer than any export runs (a job expires after 6 hours, then is retried). */
const COOKIE_MAX_AGE = 2 * 24 * 3600

/** The signed-in user started a run in this browser whose notice may still be owed. */
export function runNoticeDue(c: Context<AppEnv>, userId: number): boolean {
  return getCookie(c, COOKIE) === String(userId)
}

/** Called when `userId` starts a run from a page: their pages poll until it has ended. */
export function expectRunNotice(c: Context<AppEnv>, userId: number): void {
  setCookie(c, COOKIE, String(userId), { httpOnly: true, sameSite: 'Lax', path: '/', secure: c.var.secureCookies, maxAge: COOKIE_MAX_AGE })
}

/** Nothing is owed any more: pages stop polling. */
export function forgetRunNotice(c: Context<AppEnv>): void {
  if (getCookie(c, COOKIE) !== undefined) deleteCookie(c, COOKIE, { path: '/', secure: c.var.secureCookies })
}

/** Replaced by the endpoint's answer: notices, then a new poller while runs are still going. */
export function RunNoticePoller() {
  return <div class="run-notice-poll" hx-get={RUN_NOTICE_PATH} hx-trigger="every 3s" hx-swap="outerHTML"></div>
}

/** Where notices appear, under the header; a live region so that a screen reader reads them out. */
export function RunNoticeRegion() {
  return (
    <div id="run-notices" class="run-notices" role="region" aria-label="Notifications" aria-live="polite">
      <RunNoticePoller />
    </div>
  )
}
