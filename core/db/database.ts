/**
 * Opens the database the settings name: PostgreSQL through postgres.js when a URL is given, else
 * the embedded PGlite under the data directory. Both come back as the same {@link AppDatabase}:
 * a Kysely instance, the adapter pg-boss runs its statements through, and `close()`.
 *
 * Values come back alike on both: `int8` and `numeric` as strings (never a float), `date` as
 * `YYYY-MM-DD` strings, `timestamptz` as `Date`, `json`/`jsonb` parsed.
 */
import { mkdirSync } from 'node:fs'
import type { Readable } from 'node:stream'
import { PGlite, types } from '@electric-sql/pglite'
import { CompiledQuery, Kysely, type Compilable } from 'kysely'
import { PostgresJSDialect } from 'kysely-postgres-js'
import { fromPglite, type ConstructorOptions } from 'pg-boss'
import postgres from 'postgres'
import { Mutex } from './lock.ts'
import { PgliteDialect } from './pglite-dialect.ts'
import type { Database } from './schema.ts'

export type DatabaseKind = 'pglite' | 'postgres'

export interface AppDatabase {
  readonly kind: DatabaseKind
  readonly db: Kysely<Database>
  /** How pg-boss reaches this database: its own pool on PostgreSQL, our locked adapter on PGlite. */
  readonly bossOptions: ConstructorOptions
  /** A short description for logs, with no password in it. */
  readonly description: string
  /** PGlite only: a tarball of the data directory, for cloning a migrated template. */
  readonly dump?: () => Promise<Blob>
  close(): Promise<void>
}

export interface OpenDatabaseOptions {
  readonly databaseUrl?: string | undefined
  /** Folder for PGlite's files; `memory://` keeps it in memory (tests). */
  readonly dataDir?: string
  /** Start PGlite from a dumped data directory (tests clone a migrated template this way). */
  readonly loadDataDir?: Blob
  /** Connections in the postgres.js pool. */
  readonly poolSize?: number
  /** PostgreSQL: connections for the CSV export fast path (COPY), besides `poolSize`; default 2, 0 turns it off. */
  readonly copyPoolSize?: number
}

/**
 * Settings of every PostgreSQL connection the app opens (sent at startup, no extra round trip).
 *
 * - `jit`: off. Report statements over all organisations have plan costs above JIT's thresholds,
 *   and compiling them took 2 s (8 s under load) per statement against well under a second of
 *   execution. Nothing the portal runs is long enough to win it back.
 * - `plan_cache_mode`: force_custom_plan. postgres.js prepares every statement; after five runs
 *   PostgreSQL may switch to a generic plan, which cannot see the value of the tenant predicate
 *   (`path like $1`), guesses it matches almost nothing and nests a month of usage inside a loop over
 *   every organisation: the operator's view of a report went from 2 s to never finishing. Planning
 *   each run costs ~0.1-1 ms per statement and always plans for the actual subtree.
 */
const SESSION_SETTINGS = { jit: 'off', plan_cache_mode: 'force_custom_plan' } as const

const embedded = new WeakSet<object>()
const lookupHandles = new WeakMap<object, Kysely<Database>>()

/**
 * The handle for **key lookups whose plan cannot depend on their values** (a session by its id,
 * an API token by its hash): on PostgreSQL a small pool of its own where `plan_cache_mode` is left
 * at `auto`, so PostgreSQL plans such a statement a few times and then reuses a generic plan. The
 * sign-in lookup, on every request, costs ~0.7 ms of planning otherwise. Anything that reads
 * tenant data by a subtree, a period or another range must not use it (see `SESSION_SETTINGS`).
 * Elsewhere (PGlite, a transaction's handle) it is `db` itself.
 */
export function lookupHandle(db: Kysely<Database>): Kysely<Database> {
  return lookupHandles.get(db) ?? db
}

/**
 * A key lookup on {@link lookupHandle} whose statement is built and compiled once per database,
 * then only run with new values: the sign-in lookups, on every request, skip building and
 * compiling the same query tree. `build` gets stand-ins for the values (strings) and puts each
 * into the statement as a parameter; any other parameter it adds stays as compiled.
 *
 * @example
 * const sessionById = compiledLookup((db, id) => db.selectFrom('sessions').selectAll().where('id', '=', id))
 * const row = await sessionById(db, hashToken(token))
 */
export function compiledLookup<R>(build: (db: Kysely<Database>, ...values: string[]) => Compilable<R>, valueCount = 1): (db: Kysely<Database>, ...values: unknown[]) => Promise<R | undefined> {
  const standIns = Array.from({ length: valueCount }, (_, i) => `\u0000ll-lookup-value-${i}`)
  const compiled = new WeakMap<object, { sql: string; slots: ReadonlyArray<{ value: number } | { constant: unknown }> }>()
  return async (db, ...values) => {
    if (values.length !== valueCount) throw new Error(`compiledLookup: ${valueCount} value(s) expected, ${values.length} given`)
    const handle = lookupHandle(db)
    let statement = compiled.get(handle)
    if (!statement) {
      const query = build(handle, ...standIns).compile()
      const slots = query.parameters.map((p) => (standIns.includes(p as string) ? { value: standIns.indexOf(p as string) } : { constant: p }))
      if (slots.filter((s) => 'value' in s).length !== valueCount) throw new Error('compiledLookup: each value must appear once in the statement, as a parameter')
      statement = { sql: query.sql, slots }
      compiled.set(handle, statement)
    }
    const parameters = statement.slots.map((s) => ('value' in s ? values[s.value] : s.constant))
    const result = await handle.executeQuery(CompiledQuery.raw(statement.sql, parameters) as CompiledQuery<R>)
    return result.rows[0]
  }
}

/**
 * Whether `db` is the embedded PGlite database: one connection behind a lock, so long reads
 * (export cursors) must give the lock back between chunks instead of holding it throughout.
 */
export function isEmbedded(db: object): boolean {
  return embedded.has(db)
}

/**
 * A connection of the COPY pool, held for one `COPY (...) TO STDOUT`. Release it only after the
 * output stream ended or failed: until then the connection is in COPY mode and can run nothing else.
 */
export interface CopyLease {
  /** Starts the statement and resolves with its output, chunk by chunk, with the socket's backpressure. */
  readable(sqlText: string): Promise<Readable>
  /**
   * Asks the server to stop the running statement (a cancel request); resolves once the request
   * was delivered. The output stream then fails with `57014`: keep reading it until it closes.
   */
  cancel(): Promise<void>
  release(): void
}

/**
 * The connections the CSV export fast path runs its COPY statements on: a small pool of its own,
 * so a COPY never shares a connection with ordinary queries (postgres.js pipelines a query onto a
 * busy connection when the pool is exhausted, and one that lands on a connection in COPY mode
 * fails with COPY_IN_PROGRESS).
 */
export interface CopyPool {
  /**
   * A free connection, or undefined when all are in use: the caller then formats rows in JS
   * rather than wait behind other downloads (a slow client holds its COPY for as long as it reads).
   */
  tryAcquire(): CopyLease | undefined
  /** Connections leased now (tests wait for 0: every COPY ended and was handed back). */
  readonly inUse: number
}

const copyPools = new WeakMap<object, CopyPool>()

/**
 * PostgreSQL only: the COPY pool of the database behind `db`, for parameterless
 * `COPY (...) TO STDOUT` (the CSV export fast path). Undefined for PGlite and for a transaction's handle.
 */
export function copyPoolOf(db: object): CopyPool | undefined {
  return copyPools.get(db)
}

/**
 * The COPY pool: `size` connections, opened on first use and closed when idle for a minute.
 * `max_pipeline: 0` makes postgres.js queue a statement rather than pipeline it onto a busy
 * connection; the lease count keeps even that from happening.
 */
function openCopyPool(url: string, size: number): CopyPool & { end(): Promise<void> } {
  let client: postgres.Sql | undefined
  let leased = 0
  return {
    tryAcquire() {
      if (leased >= size) return undefined
      // max_pipeline is a postgres.js option its type declarations leave out.
      const noPipelining = { max_pipeline: 0 }
      client ??= postgres(url, {
        ...noPipelining, max: size, idle_timeout: 60, fetch_types: false, onnotice: () => {},
        connection: { application_name: 'ledgerlite-copy', ...SESSION_SETTINGS },
      })
      const sql = client
      leased++
      let released = false
      let running: postgres.PendingQuery<postgres.Row[]> | undefined
      return {
        readable: (sqlText) => {
          running = sql.unsafe(sqlText)
          return running.readable()
        },
        cancel: async () => {
          // postgres.js 3.4 marks a COPY OUT query inactive once it handed out the stream, and
          // then only records a cancel for later: it is never sent. Marked active again, the
          // query's canceller sends the cancel request at once, on a connection of its own, and
          // resolves when the server took it.
          const query = running as unknown as { active: boolean; canceller: ((q: unknown) => Promise<void>) | null } | undefined
          const canceller = query?.canceller
          if (!query || !canceller) return
          query.canceller = null
          query.active = true
          await canceller(query)
        },
        release() {
          if (released) return
          released = true
          leased--
        },
      }
    },
    get inUse() {
      return leased
    },
    async end() {
      await client?.end({ timeout: 5 })
    },
  }
}

const pgliteParsers = {
  [types.INT8]: (value: string) => value,
  [types.NUMERIC]: (value: string) => value,
  [types.DATE]: (value: string) => value,
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<AppDatabase> {
  const database = options.databaseUrl ? openPostgres(options.databaseUrl, options.poolSize ?? 10, options.copyPoolSize ?? 2) : await openPglite(options)
  // Closing twice (runtime shutdown, then a test's own cleanup) is harmless.
  let closing: Promise<void> | undefined
  return { ...database, close: () => (closing ??= database.close()) }
}

/** Same shapes as PGlite: dates stay 'YYYY-MM-DD' text instead of local-midnight Date objects. */
const PG_TYPES = { date: { to: 1082, from: [1082], serialize: (v: unknown) => String(v), parse: (v: string) => v } }

function openPostgres(url: string, poolSize: number, copyPoolSize: number): AppDatabase {
  const client = postgres(url, {
    max: poolSize,
    onnotice: () => {},
    types: PG_TYPES,
    connection: { application_name: 'ledgerlite', ...SESSION_SETTINGS },
  })
  const db = new Kysely<Database>({ dialect: new PostgresJSDialect({ postgres: client }) })
  const copyPool = openCopyPool(url, copyPoolSize)
  copyPools.set(db, copyPool)
  const lookups = new Kysely<Database>({
    dialect: new PostgresJSDialect({
      postgres: postgres(url, {
        max: Math.max(2, Math.ceil(poolSize / 4)), onnotice: () => {}, idle_timeout: 300, types: PG_TYPES,
        connection: { application_name: 'ledgerlite', jit: 'off' },
      }),
    }),
  })
  lookupHandles.set(db, lookups)
  const parsed = new URL(url)
  return {
    kind: 'postgres',
    db,
    bossOptions: { connectionString: url, max: Math.max(2, Math.min(4, poolSize)), application_name: 'ledgerlite-jobs' },
    description: `PostgreSQL at ${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`,
    async close() {
      await copyPool.end()
      await lookups.destroy()
      await db.destroy()
    },
  }
}

async function openPglite(options: OpenDatabaseOptions): Promise<AppDatabase> {
  const dir = options.dataDir ?? 'memory://'
  if (!dir.startsWith('memory://')) mkdirSync(dir, { recursive: true })
  const pglite = await PGlite.create(dir, {
    parsers: pgliteParsers,
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
  })
  const lock = new Mutex()
  const db = new Kysely<Database>({ dialect: new PgliteDialect(pglite, lock) })
  embedded.add(db)
  const adapter = fromPglite(pglite)
  return {
    kind: 'pglite',
    db,
    bossOptions: {
      backend: 'pglite',
      db: { executeSql: (text, values) => lock.run(() => adapter.executeSql(text, values)) },
    } as ConstructorOptions,
    description: `embedded PGlite in ${dir}`,
    /** A tarball of the data directory (tests clone a migrated template from it). */
    dump: () => lock.run(() => pglite.dumpDataDir('none')),
    async close() {
      await db.destroy()
      await lock.run(() => pglite.close())
    },
  }
}
