/**
 * One report chart: the server-drawn SVG (checked and CSP-clean, see core/reports/chart.ts) with
 * its title, and the same points as a small table under a disclosure, for screen readers and for
 * reading exact figures.
 */
import { raw } from 'hono/html'
import type { ChartPoint } from '../../core/reports/define.ts'
import { groupDigits } from './DataTable.tsx'

export interface ChartProps {
  readonly id: string
  readonly title: string
  /** Markup from renderChartSvg(), which escaped every label and passed the allowlist check. */
  readonly svg: string
  readonly points: readonly ChartPoint[]
  readonly yLabel?: string | undefined
}

export function Chart(props: ChartProps) {
  return (
    <figure class="report-chart" id={`chart-${props.id}`}>
      <figcaption>{props.title}</figcaption>
      {props.points.length === 0 ? <p class="muted">No data to draw for these filters.</p> : raw(props.svg)}
      {props.points.length > 0 && raw(dataTableHtml(props))}
    </figure>
  )
}

function ChartData(props: Pick<ChartProps, 'points' | 'yLabel'>) {
  const hasSeries = props.points.some((p) => p.series != null && p.series !== '')
  return (
    <details>
      <summary>Data</summary>
      <table class="data chart-data">
        <thead><tr><th scope="col">x</th>{hasSeries && <th scope="col">Series</th>}<th scope="col" class="num">{props.yLabel || 'Value'}</th></tr></thead>
        <tbody>
          {props.points.slice(0, 400).map((p) => <tr><td>{p.x}</td>{hasSeries && <td>{p.series ?? ''}</td>}<td class="num">{groupDigits(String(p.y))}</td></tr>)}
        </tbody>
      </table>
    </details>
  )
}

// Like the drawing, the table of the same points is the same markup: sorting and paging a report
// reuse it. Rendered (and escaped) by JSX once, kept as the string it rendered to.
const TABLES_KEPT = 200
const tables = new Map<string, string>()

function dataTableHtml(props: Pick<ChartProps, 'points' | 'yLabel'>): string {
  const key = JSON.stringify([props.yLabel ?? '', props.points.slice(0, 400).map((p) => [p.x, p.series ?? null, String(p.y)])])
  let html = tables.get(key)
  if (html === undefined) {
    html = String(<ChartData points={props.points} yLabel={props.yLabel} />)
    if (tables.size >= TABLES_KEPT) tables.delete(tables.keys().next().value!)
    tables.set(key, html)
  }
  return html
}

/** Forgets every kept table (benchmarks measuring the cold path). */
export function clearChartTables(): void {
  tables.clear()
}
