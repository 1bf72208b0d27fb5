/**
 * Server-rendered report charts: ECharts draws a line, bar, stacked-bar or pie chart from a
 * report's {@link ChartPoint}s to an SVG string, no browser code involved. The markup is then made
 * fit for our pages: the CSP (`style-src 'self'`) blocks `style` attributes and `<style>`
 * elements, so the font settings become presentation attributes and the hover-only stylesheet is
 * dropped; ids get a per-chart prefix so two charts on one page never share a clip path. Labels
 * come from user data (organisation names): ECharts escapes text content, and the result is checked
 * against an allowlist of elements and attributes before anyone may insert it with `raw()`.
 *
 * Values are decimal strings; they become numbers only to be drawn (a picture, not a figure).
 *
 * @example
 * const svg = renderChartSvg({ id: 'events', title: 'Events per day', kind: 'line', points, yLabel: 'events' })
 * // <svg role="img" aria-label="Events per day" ...>...</svg>
 */
import { createRequire } from 'node:module'
import type * as Echarts from 'echarts'
import type { ChartKind, ChartPoint } from './define.ts'

let echarts: typeof Echarts | undefined

/**
 * ECharts, loaded on the first chart drawn rather than when the app starts: a process that never
 * draws one (a worker, an export) does not carry it. `require` gives the package's one-file CJS
 * build, synchronously: about 25 MB and 0.2 s, where importing its ES modules took about 85 MB and
 * 0.65 s for the same drawings.
 */
function loadEcharts(): typeof Echarts {
  echarts ??= createRequire(import.meta.url)('echarts') as typeof Echarts
  return echarts
}

export interface ChartInput {
  /** Unique on the page; prefixes the SVG's ids. */
  readonly id: string
  readonly title: string
  readonly kind: ChartKind
  readonly points: readonly ChartPoint[]
  readonly yLabel?: string | undefined
  readonly width?: number
  readonly height?: number
}

/** The chart's series: x labels in first-seen order, one value list per series. */
export interface ChartSeries {
  readonly xs: readonly string[]
  readonly series: ReadonlyArray<{ readonly name: string; readonly values: ReadonlyArray<number | null> }>
}

/** Groups points by series; a missing (x, series) pair is a gap (null), not a zero. */
export function seriesOf(points: readonly ChartPoint[]): ChartSeries {
  const xs: string[] = []
  const xIndex = new Map<string, number>()
  const bySeries = new Map<string, Map<number, number>>()
  for (const point of points) {
    const x = String(point.x)
    if (!xIndex.has(x)) { xIndex.set(x, xs.length); xs.push(x) }
    const name = point.series == null ? '' : String(point.series)
    if (!bySeries.has(name)) bySeries.set(name, new Map())
    const value = Number(point.y)
    const at = xIndex.get(x)!
    const values = bySeries.get(name)!
    values.set(at, (values.get(at) ?? 0) + (Number.isFinite(value) ? value : 0))
  }
  return {
    xs,
    series: [...bySeries].map(([name, values]) => ({ name, values: xs.map((_, i) => values.get(i) ?? null) })),
  }
}

const PALETTE = ['#2458d3', '#1f7a4d', '#a15c00', '#b42318', '#6941c6', '#0e7090', '#c11574', '#4e5ba6']

function option(input: ChartInput): Echarts.EChartsCoreOption {
  const { xs, series } = seriesOf(input.points)
  const base = { animation: false, color: PALETTE, textStyle: { fontFamily: 'sans-serif' }, aria: { enabled: false } }
  const named = series.length > 1 || (series[0]?.name ?? '') !== ''
  if (input.kind === 'pie') {
    const values = series[0]?.values ?? []
    return {
      ...base,
      legend: { type: 'scroll', bottom: 0 },
      series: [{ type: 'pie', radius: ['35%', '65%'], data: xs.map((x, i) => ({ name: x, value: values[i] ?? 0 })), label: { formatter: '{b}: {d}%' } }],
    }
  }
  return {
    ...base,
    grid: { left: 60, right: 20, top: 30, bottom: named ? 60 : 40, containLabel: true },
    ...(named ? { legend: { type: 'scroll', bottom: 0 } } : {}),
    xAxis: { type: 'category', data: xs, axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', name: input.yLabel ?? '' },
    series: series.map((s) => ({
      type: input.kind === 'line' ? 'line' : 'bar',
      name: s.name,
      data: s.values,
      ...(input.kind === 'stacked-bar' ? { stack: 'total' } : {}),
      ...(input.kind === 'line' ? { showSymbol: xs.length <= 31, connectNulls: false } : {}),
    })),
  }
}

const ALLOWED_ELEMENTS = new Set(['svg', 'g', 'path', 'rect', 'circle', 'ellipse', 'line', 'polyline', 'polygon', 'text', 'tspan', 'defs', 'clippath', 'lineargradient', 'radialgradient', 'stop', 'title', 'desc'])
const STYLE_PROPERTIES = new Set(['font-size', 'font-family', 'font-weight', 'font-style'])

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** `style="font-size:12px;font-family:sans-serif;"` -> `font-size="12px" font-family="sans-serif"`. */
function styleToAttributes(style: string): string {
  const out: string[] = []
  for (const declaration of style.split(';')) {
    const colon = declaration.indexOf(':')
    if (colon < 0) continue
    const property = declaration.slice(0, colon).trim().toLowerCase()
    const value = declaration.slice(colon + 1).trim()
    if (STYLE_PROPERTIES.has(property) && /^[\w\s,.#%'-]*$/.test(value)) out.push(`${property}="${escapeAttribute(value.replace(/'/g, ''))}"`)
  }
  return out.join(' ')
}

/** Thrown when the drawn markup has something it should not: a bug, never shown as-is. */
export class UnsafeChartError extends Error {
  readonly code = 'LL_ERR_CHART_UNSAFE'
}

/** Makes ECharts' SVG CSP-clean and unique on the page, then checks it. */
export function cleanSvg(svg: string, prefix: string, label: string): string {
  const idPrefix = `${prefix.replace(/[^a-zA-Z0-9-]/g, '-')}-`
  const cleaned = svg
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/ style="([^"]*)"/g, (_m, style: string) => {
      const attributes = styleToAttributes(style)
      return attributes ? ` ${attributes}` : ''
    })
    .replace(/ ecmeta_[a-z_]+="[^"]*"/g, '')
    .replace(/ class="zr\d+-cls-\d+"/g, '')
    .replace(/ pointer-events="visible"/g, '')
    .replace(/(id="|url\(#|href="#)zr\d+-/g, `$1${idPrefix}`)
    .replace(/<defs >/g, '<defs>')
    .replace(/^<svg /, `<svg role="img" aria-label="${escapeAttribute(label)}" class="chart-svg" preserveAspectRatio="xMidYMid meet" `)
  for (const match of cleaned.matchAll(/<\/?([a-zA-Z][\w:-]*)/g)) {
    if (!ALLOWED_ELEMENTS.has(match[1]!.toLowerCase())) throw new UnsafeChartError(`chart "${prefix}" has a <${match[1]}> element`)
  }
  if (/\son[a-z]+\s*=|javascript:|\sstyle=|<!\[CDATA\[/i.test(cleaned)) throw new UnsafeChartError(`chart "${prefix}" has a script, style or event attribute`)
  return cleaned
}

// Drawing takes ~10 ms of CPU; the same points give the same picture, so recent ones are kept.
// Sorting and paging a report leave its charts unchanged: those swaps reuse the drawing.
const CACHE_SIZE = 200
const drawn = new Map<string, string>()

/** Draws one chart as a CSP-clean SVG string with `role="img"` and the title as its label. */
export function renderChartSvg(input: ChartInput): string {
  const key = JSON.stringify([input.id, input.title, input.kind, input.yLabel ?? '', input.width ?? 0, input.height ?? 0, input.points.map((p) => [p.x, p.series ?? null, String(p.y)])])
  const cached = drawn.get(key)
  if (cached !== undefined) {
    drawn.delete(key)
    drawn.set(key, cached)
    return cached
  }
  const chart = loadEcharts().init(null, null, { renderer: 'svg', ssr: true, width: input.width ?? 720, height: input.height ?? 280 })
  try {
    chart.setOption(option(input))
    const svg = cleanSvg(chart.renderToSVGString(), `chart-${input.id}`, input.title)
    drawn.set(key, svg)
    if (drawn.size > CACHE_SIZE) drawn.delete(drawn.keys().next().value!)
    return svg
  } finally {
    chart.dispose()
  }
}

/** Forgets every kept drawing (benchmarks measuring the cold path). */
export function clearChartCache(): void {
  drawn.clear()
}
