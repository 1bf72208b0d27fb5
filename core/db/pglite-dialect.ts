/**
 * A Kysely dialect for PGlite: one connection behind one {@link Mutex}, with savepoints and
 * cursor-based streaming. The community dialects do not work with kysely 0.29 (DESIGN.md §11).
 */
import type { PGlite, Results } from '@electric-sql/pglite'
import {
  CompiledQuery, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, createQueryId,
  type DatabaseConnection, type Dialect, type Driver, type Kysely, type QueryCompiler, type QueryResult,
  type TransactionSettings,
} from 'kysely'
import type { Mutex } from './lock.ts'

export class PgliteDialect implements Dialect {
  readonly #pglite: PGlite
  readonly #lock: Mutex
  constructor(pglite: PGlite, lock: Mutex) {
    this.#pglite = pglite
    this.#lock = lock
  }
  createAdapter() { return new PostgresAdapter() }
  createDriver(): Driver { return new PgliteDriver(this.#pglite, this.#lock) }
  createQueryCompiler() { return new PostgresQueryCompiler() }
  createIntrospector(db: Kysely<any>) { return new PostgresIntrospector(db) }
}

class PgliteDriver implements Driver {
  readonly #pglite: PGlite
  readonly #lock: Mutex
  constructor(pglite: PGlite, lock: Mutex) {
    this.#pglite = pglite
    this.#lock = lock
  }
  async init() {}
  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.#lock.acquire()
    return new PgliteConnection(this.#pglite, release)
  }
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    const modes = [
      settings.isolationLevel ? `isolation level ${settings.isolationLevel}` : '',
      settings.accessMode ?? '',
    ].filter(Boolean).join(' ')
    await connection.executeQuery(CompiledQuery.raw(`begin${modes ? ' ' + modes : ''}`))
  }
  async commitTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw('commit'))
  }
  async rollbackTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw('rollback'))
  }
  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    await connection.executeQuery(compile(savepointNode('savepoint', name), createQueryId()))
  }
  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    await connection.executeQuery(compile(savepointNode('rollback to', name), createQueryId()))
  }
  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    await connection.executeQuery(compile(savepointNode('release', name), createQueryId()))
  }
  async releaseConnection(connection: DatabaseConnection) {
    ;(connection as PgliteConnection).release()
  }
  async destroy() {}
}

function savepointNode(command: string, name: string) {
  // Kysely's own dialects build these nodes with parseSavepointCommand; it is not exported, so we
  // build the same raw node: the name is an identifier Kysely generated or the caller chose.
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`Invalid savepoint name: ${name}`)
  return CompiledQuery.raw(`${command} ${name}`).query
}

let cursorCounter = 0

class PgliteConnection implements DatabaseConnection {
  readonly #pglite: PGlite
  readonly release: () => void
  constructor(pglite: PGlite, release: () => void) {
    this.#pglite = pglite
    this.release = release
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result: Results<R> = await this.#pglite.query<R>(query.sql, [...query.parameters], { rowMode: 'object' })
    const affected = result.affectedRows
    const isWrite = /^\s*(with\b[\s\S]*?\)\s*)?(insert|update|delete|merge)\b/i.test(query.sql)
    return {
      rows: result.rows,
      ...(isWrite && affected !== undefined ? { numAffectedRows: BigInt(affected) } : {}),
    }
  }

  /**
   * Streams through a server-side cursor, `chunkSize` rows at a time, so a large export never
   * holds its result in memory. Runs inside a transaction (a cursor needs one); if the caller is
   * not in a transaction, one is opened and closed here.
   */
  async *streamQuery<R>(query: CompiledQuery, chunkSize = 1000): AsyncIterableIterator<QueryResult<R>> {
    const name = `ll_cursor_${++cursorCounter}`
    const inTransaction = this.#pglite.isInTransaction()
    if (!inTransaction) await this.#pglite.query('begin')
    let finished = false
    try {
      await this.#pglite.query(`declare ${name} no scroll cursor for ${query.sql}`, [...query.parameters])
      for (;;) {
        const result = await this.#pglite.query<R>(`fetch forward ${Math.max(1, Math.floor(chunkSize))} from ${name}`, [], { rowMode: 'object' })
        if (result.rows.length === 0) break
        yield { rows: result.rows }
      }
      await this.#pglite.query(`close ${name}`)
      finished = true
    } finally {
      if (!inTransaction) await this.#pglite.query(finished ? 'commit' : 'rollback')
    }
  }
}
