import type { Migration } from 'kysely/migration'
import * as core0001 from './0001_core.ts'
import * as core0002 from './0002_access.ts'
import * as core0003 from './0003_billing.ts'
import * as core0004 from './0004_reports.ts'
import * as core0005 from './0005_report_run_notices.ts'

/** Core migrations, by name. Names sort in the order they run; never rename one that has shipped. */
export const coreMigrations: Record<string, Migration> = {
  '0001_core': core0001,
  '0002_access': core0002,
  '0003_billing': core0003,
  '0004_reports': core0004,
  '0005_report_run_notices': core0005,
}
