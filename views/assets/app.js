// Ledgerlite's only script of its own: send the CSRF token with every htmx request.
// No inline scripts anywhere (the CSP allows only scripts from this origin).
document.addEventListener('htmx:config:request', function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]')
  if (meta && event.detail && event.detail.ctx) event.detail.ctx.request.headers['X-CSRF-Token'] = meta.content
})

// Roles matrix (plugins/roles): ticking a row's "All" ticks the row's other boxes too, so the
// matrix shows what "All" includes. Only a convenience: the server checks every permission.
document.addEventListener('change', function (event) {
  var box = event.target
  if (!box || !box.matches || !box.matches('[data-role-matrix] input[data-row-all]') || !box.checked) return
  box.closest('tr').querySelectorAll('input[type="checkbox"]:not(:disabled)').forEach(function (other) { other.checked = true })
})

// Report filter forms (core/reports/routes.tsx): switching the period to "Custom range" starts the
// from/to days at the period shown; switching to a preset clears them (a preset takes no days).
// Runs in the capture phase, before htmx reads the form on the same change event.
document.addEventListener('change', function (event) {
  var select = event.target
  if (!select || !select.matches || !select.matches('select[data-period-select]')) return
  var range = select.form && select.form.querySelector('.custom-range')
  if (!range) return
  range.querySelectorAll('input[data-period-day]').forEach(function (input) {
    if (select.value !== 'custom') input.value = ''
    else if (!input.value) input.value = range.getAttribute(input.getAttribute('data-period-day') === 'from' ? 'data-from' : 'data-to') || ''
  })
}, true)

// Report row actions (core/reports/define.ts `actions`): the header box ticks or clears every row
// box of the table on this page. Only a convenience: the server checks each chosen row.
document.addEventListener('change', function (event) {
  var box = event.target
  if (!box || !box.matches || !box.matches('input[data-select-all]')) return
  var table = box.closest('table')
  if (!table) return
  table.querySelectorAll('tbody input[type="checkbox"][form]').forEach(function (row) { row.checked = box.checked })
})

// Notices of finished report runs (core/reports/run-notice.tsx): the × removes one. Each is shown
// once; the run stays in Generated reports.
document.addEventListener('click', function (event) {
  var button = event.target && event.target.closest && event.target.closest('[data-dismiss-notice]')
  var notice = button && button.closest('.run-notice')
  if (notice) notice.remove()
})
