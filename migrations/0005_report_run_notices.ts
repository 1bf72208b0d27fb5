// Frozen in time: migrations import nothing of the app and take Kysely<any>.
// The "your report is ready" notice: when the person who started a run was shown how it ended.
import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  // Null while a notice is owed. Runs that owe none (started through the API, or made before this
  // migration) get a time at once, so an upgrade does not greet anyone with old news.
  await db.schema.alterTable('report_runs').addColumn('notified_at', 'timestamptz').execute()
  await sql`update report_runs set notified_at = coalesce(finished_at, created_at)`.execute(db)
  // Only owed notices are indexed: rows leave the index as soon as they are shown.
  await sql`create index report_runs_notice_due on report_runs (user_id) where notified_at is null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists report_runs_notice_due`.execute(db)
  await db.schema.alterTable('report_runs').dropColumn('notified_at').execute()
}
