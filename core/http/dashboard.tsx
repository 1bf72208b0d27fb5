/** The landing page after sign-in: the caller's organisation and what is below it. */
import { Hono } from 'hono'
import { sql } from 'kysely'
import type { AppEnv } from './env.ts'
import { page } from './render.tsx'

export function dashboardRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  app.get('/', async (c) => {
    const counts = await c.var.db.organisations()
      .select(['organisations.kind', sql<string>`count(*)`.as('count')])
      .groupBy('organisations.kind')
      .execute()
    const count = (kind: string) => Number(counts.find((r) => r.kind === kind)?.count ?? 0)
    const users = await c.var.db.selectFrom('users').select(sql<string>`count(*)`.as('count')).executeTakeFirst()
    const org = c.var.org
    return page(c, {
      title: 'Dashboard',
      body: (
        <>
          <h1>Dashboard</h1>
          <p class="muted">Signed in as {c.var.user!.name} of <a href={`/organisations/${org.id}`}>{org.name}</a> ({org.kind}).</p>
          <div class="cards">
            <div class="card"><div class="value">{count('reseller')}</div><div class="label">Resellers{org.kind === 'reseller' ? ' (incl. yours)' : ''}</div></div>
            <div class="card"><div class="value">{count('customer')}</div><div class="label">Customers</div></div>
            <div class="card"><div class="value">{Number(users?.count ?? 0)}</div><div class="label">Users</div></div>
          </div>
          {c.var.nav.length > 0 && (
            <section class="panel">
              <h2>Go to</h2>
              <ul>{c.var.nav.map((n) => <li><a href={n.href}>{n.label}</a> <span class="muted">— {n.section}</span></li>)}</ul>
            </section>
          )}
        </>
      ),
    })
  })
  return app
}
