// Ledgerlite's only script of its own: send the CSRF token with every htmx request.
// No inline scripts anywhere (the CSP allows only scripts from this origin).
document.addEventListener('htmx:config:request', function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]')
  if (meta && event.detail && event.detail.ctx) event.detail.ctx.request.headers['X-CSRF-Token'] = meta.content
})
