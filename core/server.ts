/**
 * Serves a runtime over HTTP and shuts it down gracefully on SIGTERM/SIGINT: stop taking
 * requests, let in-flight ones finish, stop pg-boss, close the database, all within 10 s.
 */
import { serve, type ServerType } from '@hono/node-server'
import type { Runtime } from './runtime.ts'

export const SHUTDOWN_LIMIT_MS = 10_000

export interface Serving {
  readonly server: ServerType
  readonly url: string
  shutdown(reason: string): Promise<void>
}

export function listen(runtime: Runtime, port: number, host: string): Promise<Serving> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: runtime.app.fetch, port, hostname: host }, (info) => {
      const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host
      let stopping: Promise<void> | undefined
      resolve({
        server,
        url: `http://${shown}:${info.port}`,
        shutdown(reason) {
          stopping ??= (async () => {
            runtime.log.info('shutting down', { reason })
            const closed = new Promise<void>((done) => server.close(() => done()))
            if ('closeIdleConnections' in server) server.closeIdleConnections()
            // In-flight requests get most of the budget; then connections are cut.
            const cut = setTimeout(() => { if ('closeAllConnections' in server) server.closeAllConnections() }, SHUTDOWN_LIMIT_MS - 3000)
            await closed
            clearTimeout(cut)
            await runtime.close()
            runtime.log.info('stopped')
          })()
          return stopping
        },
      })
    })
    server.once('error', reject)
  })
}

/** Wires SIGTERM/SIGINT to a graceful shutdown, with a hard exit if it overruns the limit. */
export function exitOnSignals(serving: Serving): void {
  const onSignal = (signal: NodeJS.Signals) => {
    const force = setTimeout(() => {
      process.stderr.write(`Ledgerlite did not stop within ${SHUTDOWN_LIMIT_MS / 1000} s; exiting.\n`)
      process.exit(1)
    }, SHUTDOWN_LIMIT_MS)
    force.unref()
    serving.shutdown(signal).then(
      () => process.exit(0),
      (error) => {
        process.stderr.write(`Shutdown failed: ${(error as Error).message}\n`)
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
}
