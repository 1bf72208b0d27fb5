// Frozen in time: migrations import nothing of the app and take Kysely<any>.
// Background report runs (the archive of generated reports) and their files, kept in the database
// in chunks so that any instance can serve a download.
import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('report_runs')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    // The requesting user's organisation: the run reads, and is visible in, that subtree only.
    .addColumn('org_id', 'integer', (c) => c.notNull().references('organisations.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('report_id', 'text', (c) => c.notNull().check(sql`length(report_id) between 1 and 200`))
    // The report's CASL subject when the run was made: permissions still apply if the plugin goes away.
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('report_title', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull().check(sql`length(btrim(name)) between 1 and 200`))
    .addColumn('description', 'text', (c) => c.notNull().defaultTo('').check(sql`length(description) <= 2000`))
    .addColumn('format', 'text', (c) => c.notNull().check(sql`format in ('csv', 'xlsx', 'xml')`))
    // Canonical query string of the request plus the export keys (delimiter, bom): it rebuilds the run.
    .addColumn('query', 'text', (c) => c.notNull().defaultTo(''))
    // The resolved parameters (period days, organisations) and a short human summary of them.
    .addColumn('parameters', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('queued').check(sql`status in ('queued', 'running', 'completed', 'failed', 'cancelled')`))
    .addColumn('cancel_requested', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('rows_done', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('rows_total', 'bigint')
    .addColumn('bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('chunks', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('job_id', 'text')
    // Each start of the export counts; chunks carry the attempt that wrote them (a fencing token).
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('heartbeat_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('content_type', 'text')
    .addColumn('file_name', 'text')
    .addCheckConstraint('report_runs_finished', sql`(status in ('queued', 'running')) = (finished_at is null)`)
    .execute()
  await sql`create index report_runs_archive on report_runs (org_id, created_at desc, id desc)`.execute(db)
  await sql`create index report_runs_expiry on report_runs (expires_at) where expires_at is not null`.execute(db)
  await sql`create index report_runs_unfinished on report_runs (heartbeat_at) where status in ('queued', 'running')`.execute(db)

  await db.schema.createTable('report_run_chunks')
    .addColumn('run_id', 'integer', (c) => c.notNull().references('report_runs.id').onDelete('cascade'))
    .addColumn('org_id', 'integer', (c) => c.notNull().references('organisations.id').onDelete('cascade'))
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('data', 'bytea', (c) => c.notNull())
    .addPrimaryKeyConstraint('report_run_chunks_pk', ['run_id', 'attempt', 'seq'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('report_run_chunks').execute()
  await db.schema.dropTable('report_runs').execute()
}
