/**
 * An error with a status and a message that is safe to show. Handlers throw it; the app's error
 * handler renders it as a page, a fragment or JSON. Anything else thrown is a 500 whose details
 * go to the log only.
 */
export class HttpProblem extends Error {
  readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429
  /** Per-field messages for forms and JSON clients. */
  readonly fields: Readonly<Record<string, string>> | undefined
  constructor(status: HttpProblem['status'], message: string, fields?: Record<string, string>) {
    super(message)
    this.name = 'HttpProblem'
    this.status = status
    this.fields = fields
  }
}

export const notFound = (what = 'page') => new HttpProblem(404, `That ${what} does not exist, or you cannot see it.`)
