/**
 * Server-drawn charts: every kind renders an SVG with role="img" and its title as the label;
 * labels from user data come out escaped; nothing the CSP would block (style attributes, <style>)
 * is left; ids are unique per chart; the allowlist refuses markup it does not know.
 */
import { createRequire } from 'node:module'
import { sep } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { cleanSvg, renderChartSvg, seriesOf, UnsafeChartError } from '../../core/reports/chart.ts'
import { CHART_KINDS } from '../../core/reports/define.ts'

const test = suite('report charts')
const EVIL = '<script>alert(1)</script>'

test('ECharts is loaded by the first chart drawn, not by importing the module', () => {
  const cache = createRequire(import.meta.url).cache
  const loaded = () => Object.keys(cache).some((path) => path.includes(`${sep}node_modules${sep}echarts${sep}`))
  assert.not.ok(loaded(), 'not loaded on import')
  assert.ok(renderChartSvg({ id: 'first', title: 'First', kind: 'bar', points: [{ x: 'a', y: '1' }] }).startsWith('<svg'))
  assert.ok(loaded(), 'loaded once a chart was drawn')
})

test('each kind draws a labelled, CSP-clean SVG', () => {
  for (const kind of CHART_KINDS) {
    const svg = renderChartSvg({ id: `t-${kind}`, title: `Usage ${kind}`, kind, yLabel: 'GB', points: [
      { x: '2026-01-01', series: 'Alpha', y: '1.5' }, { x: '2026-01-02', series: 'Alpha', y: '3' }, { x: '2026-01-01', series: 'Beta', y: '2' },
    ] })
    assert.ok(svg.startsWith(`<svg role="img" aria-label="Usage ${kind}"`), kind)
    assert.not.match(svg, / style=/, `${kind}: no style attribute`)
    assert.not.match(svg, /<style/, `${kind}: no style element`)
    assert.match(svg, /<path /, `${kind}: something is drawn`)
    assert.match(svg, 'font-family="sans-serif"', `${kind}: fonts kept as attributes`)
  }
})

test('labels from user data are escaped, in the axis, the legend and the label', () => {
  const svg = renderChartSvg({ id: 'evil', title: `Title ${EVIL}"`, kind: 'bar', points: [{ x: EVIL, series: `"${EVIL}`, y: '1' }, { x: 'b&c', series: 'x', y: '2' }] })
  assert.not.match(svg, '<script')
  assert.match(svg, '&lt;script&gt;alert(1)&lt;/script&gt;')
  assert.match(svg, 'aria-label="Title &lt;script&gt;alert(1)&lt;/script&gt;&quot;"')
  assert.match(svg, 'b&amp;c')
  const pie = renderChartSvg({ id: 'evil-pie', title: 'Share', kind: 'pie', points: [{ x: EVIL, y: '3' }, { x: 'Other', y: '1' }] })
  assert.not.match(pie, '<script')
})

test('ids are prefixed per chart, so two charts on a page do not share a clip path', () => {
  const points = [{ x: 'a', y: '1' }, { x: 'b', y: '2' }]
  const one = renderChartSvg({ id: 'one', title: 'One', kind: 'line', points })
  const two = renderChartSvg({ id: 'two', title: 'Two', kind: 'line', points })
  const ids = (svg: string) => [...svg.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]!)
  assert.ok(ids(one).length > 0)
  assert.ok(ids(one).every((id) => id.startsWith('chart-one-')), ids(one).join())
  assert.equal(ids(one).filter((id) => ids(two).includes(id)), [])
  assert.not.match(one, /url\(#zr/)
})

test('the allowlist refuses scripts, event handlers and unknown elements', () => {
  const wrap = (inner: string) => `<svg width="1" height="1">${inner}</svg>`
  assert.throws(() => cleanSvg(wrap('<script>x</script>'), 'p', 'l'), (e: unknown) => e instanceof UnsafeChartError)
  assert.throws(() => cleanSvg(wrap('<path onclick="x()"/>'), 'p', 'l'), (e: unknown) => e instanceof UnsafeChartError)
  assert.throws(() => cleanSvg(wrap('<foreignObject></foreignObject>'), 'p', 'l'), (e: unknown) => e instanceof UnsafeChartError)
  assert.match(cleanSvg(wrap('<text style="font-size:12px;color:red;">a</text>'), 'p', 'l'), '<text font-size="12px">a</text>')
})

test('series: points grouped by series, gaps stay gaps, values summed per x', () => {
  const { xs, series } = seriesOf([{ x: 'a', series: 's', y: '1' }, { x: 'b', series: 't', y: '2.5' }, { x: 'a', series: 's', y: 2 }])
  assert.equal(xs, ['a', 'b'])
  assert.equal(series, [{ name: 's', values: [3, null] }, { name: 't', values: [null, 2.5] }])
})

test.run()
