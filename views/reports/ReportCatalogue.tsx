/** The reports a user may read, grouped by category, each with its description. */
import type { AnyReport } from '../../core/reports/define.ts'

export function ReportCatalogue(props: { groups: ReadonlyArray<{ category: string; reports: readonly AnyReport[] }> }) {
  return (
    <>
      <h1>Reports</h1>
      {props.groups.length === 0 && <p class="muted empty-state">There are no reports you may open. Ask an administrator for a role that can read them.</p>}
      {props.groups.map((group) => (
        <section class="report-category">
          <h2>{group.category}</h2>
          <ul class="report-list">
            {group.reports.map((report) => (
              <li>
                <a href={`/reports/${report.id}`} data-report-id={report.id}>{report.title}</a>
                <p class="muted">{report.description}</p>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </>
  )
}
