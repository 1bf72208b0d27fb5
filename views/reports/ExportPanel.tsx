/**
 * Export a report as shown: a name and description (kept with a generated report), the format,
 * the CSV delimiter (comma or pipe) and a byte order mark for Excel. Two ways out of one form:
 * "Download now" posts to `/reports/:id/download`, which answers with a redirect to the streamed
 * download of the JSON API (so the CSRF token never lands in a URL); "Generate in background"
 * posts the same fields to `/reports/:id/runs` (progress page, archive). No script needed.
 *
 * The report's current filters travel as hidden fields in `#export-params`, refreshed out of band
 * whenever the results are swapped, so the export always matches the table on screen.
 */
import type { ExportFormat } from '../../core/reports/define.ts'
import { CsrfField } from '../forms.tsx'

const FORMAT_LABELS: Readonly<Record<ExportFormat, string>> = { csv: 'CSV', xlsx: 'Excel (.xlsx)', xml: 'XML' }

/** The hidden fields carrying the report's current parameters. */
export function ExportParams(props: { query: string }) {
  return (
    <span id="export-params" hidden>
      {[...new URLSearchParams(props.query)].map(([key, value]) => <input type="hidden" name={key} value={value} />)}
    </span>
  )
}

export interface ExportPanelProps {
  readonly reportId: string
  readonly title: string
  readonly formats: readonly ExportFormat[]
  /** The canonical query of the view on screen. */
  readonly query: string
  readonly csrfToken: string
}

export function ExportPanel(props: ExportPanelProps) {
  const base = `/reports/${props.reportId}`
  return (
    <details class="panel export-panel" id="export-panel">
      <summary>Export</summary>
      <form method="post" action={`${base}/runs`} class="export-form">
        <CsrfField token={props.csrfToken} />
        <ExportParams query={props.query} />
        <div class="field">
          <label for="x-name">Name</label>
          <input id="x-name" name="name" type="text" maxlength={200} value={props.title} />
        </div>
        <div class="field">
          <label for="x-description">Description</label>
          <textarea id="x-description" name="description" maxlength={2000} rows={2}></textarea>
        </div>
        <div class="field">
          <label for="x-format">Format</label>
          <select id="x-format" name="format">
            {props.formats.map((f) => <option value={f}>{FORMAT_LABELS[f]}</option>)}
          </select>
        </div>
        {props.formats.includes('csv') && (
          <fieldset class="checks">
            <legend>CSV delimiter</legend>
            <label><input type="radio" name="delimiter" value="comma" checked /> Comma (,)</label>
            <label><input type="radio" name="delimiter" value="pipe" /> Pipe (|)</label>
            <label><input type="checkbox" name="bom" value="1" /> Byte order mark (for Excel)</label>
          </fieldset>
        )}
        <div class="actions">
          <button type="submit" formaction={`${base}/download`}>Download now</button>
          <button type="submit" class="secondary">Generate in background</button>
        </div>
      </form>
    </details>
  )
}
