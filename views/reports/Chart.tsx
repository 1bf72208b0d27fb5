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
  const hasSeries = props.points.some((p) => p.series != null && p.series !== '')
  return (
    <figure class="report-chart" id={`chart-${props.id}`}>
      <figcaption>{props.title}</figcaption>
      {props.points.length === 0 ? <p class="muted">No data to draw for these filters.</p> : raw(props.svg)}
      {props.points.length > 0 && (
        <details>
          <summary>Data</summary>
          <table class="data chart-data">
            <thead><tr><th scope="col">x</th>{hasSeries && <th scope="col">Series</th>}<th scope="col" class="num">{props.yLabel || 'Value'}</th></tr></thead>
            <tbody>
              {props.points.slice(0, 400).map((p) => <tr><td>{p.x}</td>{hasSeries && <td>{p.series ?? ''}</td>}<td class="num">{groupDigits(String(p.y))}</td></tr>)}
            </tbody>
          </table>
        </details>
      )}
    </figure>
  )
}
