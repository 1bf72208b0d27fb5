/**
 * Who took which data out: every export (a download now, a background run queued, a generated
 * file downloaded, cancelled or deleted) leaves an audit row in the exporting organisation, so an
 * operator can answer "who exported our customers' invoices, with which filters, and when".
 * A run's own rows are written in the transaction that changes the run.
 *
 * @example
 * await recordExport(c.var.db, request, 'csv')   // before the download streams
 */
import { recordAudit } from '../audit/audit.ts'
import type { ReportRunRow } from '../db/schema.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import type { ExportFormat } from './define.ts'
import type { ReportRequest } from './request.ts'

/** The audit subject of background runs and their files. */
export const RUN_AUDIT_SUBJECT = 'ReportRun'
/** The audit subject of a download streamed at once (the report itself). */
export const EXPORT_AUDIT_SUBJECT = 'Report'

export type RunAuditAction = 'create' | 'cancel' | 'delete' | 'download'

const RUN_VERBS: Record<RunAuditAction, string> = {
  create: 'queued', cancel: 'cancelled', delete: 'deleted', download: 'downloaded',
}

/** The part of a run worth keeping in the log: what was asked for, never the file. */
function runSummary(run: ReportRunRow) {
  return { report: run.report_id, name: run.name, format: run.format, query: run.query, status: run.status, rows: run.status === 'completed' ? Number(run.rows_done) : null }
}

/** One audit row for a change to (or a download of) a background run. */
export async function auditRun(sdb: ScopedDb, run: ReportRunRow, action: RunAuditAction): Promise<void> {
  await recordAudit(sdb, {
    orgId: run.org_id,
    action,
    subject: RUN_AUDIT_SUBJECT,
    subjectId: run.id,
    summary: `${run.report_title} (${run.format.toUpperCase()}) “${run.name}” ${RUN_VERBS[action]}`,
    ...(action === 'delete' ? { before: runSummary(run) } : { after: runSummary(run) }),
  })
}

/** One audit row for a download streamed at once, written before the first byte goes out. */
export async function recordExport(sdb: ScopedDb, request: ReportRequest, format: ExportFormat): Promise<void> {
  await recordAudit(sdb, {
    orgId: sdb.scope.orgId,
    action: 'export',
    subject: EXPORT_AUDIT_SUBJECT,
    subjectId: request.report.id,
    summary: `${request.report.title} exported as ${format.toUpperCase()} “${request.exportOptions.name}”`,
    after: { report: request.report.id, format, query: request.query, name: request.exportOptions.name },
  })
}
