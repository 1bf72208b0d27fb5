/**
 * The database handle handlers, plugins and jobs receive: every read and write is limited to one
 * organisation's subtree. Organisations are matched on their materialised path; a tenant-owned
 * table is matched on its `org_id`.
 *
 * @example
 * const users = await c.var.db.selectFrom('users').select(['id', 'email']).execute() // own subtree only
 */
import {
  ColumnNode, sql, UpdateQueryNode, WhereNode, type DeleteQueryBuilder, type KyselyPlugin, type PluginTransformQueryArgs,
  type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow, type DeleteResult, type Insertable, type Kysely, type SelectQueryBuilder, type Transaction,
  type UpdateQueryBuilder, type UpdateResult,
} from 'kysely'
import { fromKysely, type PgBoss, type SendOptions } from 'pg-boss'
import { lookupHandle } from '../db/database.ts'
import type { Database, OrganisationRow } from '../db/schema.ts'

/** Who is acting through a handle: written into the audit log with every change. */
export interface Actor {
  readonly userId: number | null
  readonly email: string | null
  readonly orgId: number | null
  readonly requestId?: string | undefined
}

/** A job or the CLI: no person. */
export const SYSTEM_ACTOR: Actor = Object.freeze({ userId: null, email: null, orgId: null })

export interface Scope {
  readonly orgId: number
  /** Path of the scope's root organisation, e.g. `/1/7/`. */
  readonly path: string
}

/** Tables whose rows belong to an organisation through an `org_id` column. */
export type TenantTable<DB> = {
  [K in keyof DB & string]: DB[K] extends { org_id: unknown } ? K : never
}[keyof DB & string]

type Executor<DB> = Kysely<DB> | Transaction<DB>

const internals = new WeakMap<object, { db: Executor<any>; boss: PgBoss | undefined }>()

export class ScopedDb<DB extends Database = Database> {
  readonly scope: Scope
  readonly actor: Actor

  constructor(db: Executor<DB>, scope: Scope, boss?: PgBoss, actor: Actor = SYSTEM_ACTOR) {
    this.scope = Object.freeze({ ...scope })
    this.actor = actor
    internals.set(this, { db, boss })
  }

  get #db(): Executor<DB> {
    return internals.get(this)!.db as Executor<DB>
  }

  /** The same handle, typed with a plugin's own tables as well. */
  withTables<Extra>(): ScopedDb<DB & Extra> {
    return this as unknown as ScopedDb<DB & Extra>
  }

  /** `like` pattern matching the scope root and everything below it. */
  get pathPattern(): string {
    return `${this.scope.path}%`
  }

  /** Organisations in scope: the root and its descendants. */
  organisations(): SelectQueryBuilder<DB, 'organisations', {}> {
    return (this.#db as unknown as Kysely<Database>)
      .selectFrom('organisations')
      .where('organisations.path', 'like', this.pathPattern) as unknown as SelectQueryBuilder<DB, 'organisations', {}>
  }

  /**
   * Organisations in scope, read on the key-lookup handle ({@link lookupHandle}, where PostgreSQL
   * may reuse a generic plan): only for finding organisations **by id**, whose plan the subtree
   * cannot change. Anything else reads {@link organisations}.
   */
  organisationsById(ids: readonly number[]): SelectQueryBuilder<DB, 'organisations', {}> {
    return (lookupHandle(this.#db as unknown as Kysely<Database>)
      .selectFrom('organisations')
      .where('organisations.path', 'like', this.pathPattern)
      .where('organisations.id', 'in', ids.length ? ids : [0])) as unknown as SelectQueryBuilder<DB, 'organisations', {}>
  }

  /** One organisation by id if it is in scope, else undefined (callers answer 404). */
  async organisation(id: number): Promise<OrganisationRow | undefined> {
    // Ids are `integer` columns: a larger number would be a database error (a 500), not a miss.
    if (!Number.isSafeInteger(id) || id <= 0 || id > 2_147_483_647) return undefined
    return (await (this.organisationsById([id]) as unknown as SelectQueryBuilder<Database, 'organisations', {}>)
      .selectAll()
      .executeTakeFirst()) as OrganisationRow | undefined
  }

  /** Rows of a tenant-owned table whose organisation is in scope. */
  selectFrom<T extends TenantTable<DB>>(table: T) {
    return (this.#db as Kysely<any>).selectFrom(table as string).where(this.#orgPredicate(table)) as unknown as SelectQueryBuilder<DB, T, {}>
  }

  /**
   * Rows of a shared, tenant-owned table (the catalog) owned by the scope's root, one of its
   * ancestors, or an organisation below it: what a subtree may read but only its owner may change.
   */
  selectShared<T extends TenantTable<DB>>(table: T) {
    return (this.#db as Kysely<any>).selectFrom(table as string).where(this.#sharedPredicate(table)) as unknown as SelectQueryBuilder<DB, T, {}>
  }

  /** Paths of the scope's root and its ancestors: `/1/7/` -> ['/1/', '/1/7/']. */
  get ancestorPaths(): string[] {
    const ids = this.scope.path.split('/').filter(Boolean)
    return ids.map((_, i) => `/${ids.slice(0, i + 1).join('/')}/`)
  }

  /**
   * Updates rows in scope. A `.set({ org_id })` only applies where the new organisation is in
   * scope too: moving a row out of the subtree matches no rows (check the count).
   */
  updateTable<T extends TenantTable<DB>>(table: T) {
    return (this.#db as Kysely<any>).updateTable(table as string).where(this.#orgPredicate(table))
      .withPlugin(new OrgIdTargetGuard(this.pathPattern)) as unknown as UpdateQueryBuilder<DB, T, T, UpdateResult>
  }

  deleteFrom<T extends TenantTable<DB>>(table: T) {
    return (this.#db as Kysely<any>).deleteFrom(table as string).where(this.#orgPredicate(table)) as unknown as DeleteQueryBuilder<DB, T, DeleteResult>
  }

  /** Inserts rows after checking every `org_id` is in scope; throws {@link OutOfScopeError} if not. */
  async insertInto<T extends TenantTable<DB>>(table: T, rows: Insertable<DB[T]> | readonly Insertable<DB[T]>[]) {
    const list = (Array.isArray(rows) ? rows : [rows]) as Array<{ org_id: number }>
    const ids = [...new Set(list.map((r) => Number(r.org_id)))]
    const found = await (this.organisations() as unknown as SelectQueryBuilder<Database, 'organisations', {}>)
      .select('organisations.id').where('organisations.id', 'in', ids.length ? ids : [0]).execute()
    if (found.length !== ids.length) throw new OutOfScopeError()
    return (this.#db as Kysely<DB>).insertInto(table as any).values(list as any)
  }

  /**
   * Runs `fn` in a transaction with a handle of the same scope. Jobs sent through `trx.sendJob`
   * commit or roll back with it. Inside a transaction, this runs `fn` in the same one.
   */
  async transaction<R>(fn: (trx: ScopedDb<DB>) => Promise<R>): Promise<R> {
    const { db, boss } = internals.get(this)!
    if ((db as Transaction<DB>).isTransaction) return fn(this)
    return (db as Kysely<DB>).transaction().execute((trx) => fn(new ScopedDb<DB>(trx, this.scope, boss, this.actor)))
  }

  /** Enqueues a job on this handle's connection: inside a transaction it commits with it. */
  async sendJob(queue: string, data: object, options: SendOptions = {}): Promise<string | null> {
    const { db, boss } = internals.get(this)!
    if (!boss) throw new Error('Jobs are not available on this database handle')
    return boss.send(queue, data, { ...options, db: fromKysely(db) })
  }

  #sharedPredicate(table: string) {
    return sql<boolean>`${sql.ref(`${table}.org_id`)} in (select o.id from organisations o where o.path like ${this.pathPattern} or o.path in (${sql.join(this.ancestorPaths)}))`
  }

  #orgPredicate(table: string) {
    return sql<boolean>`${sql.ref(`${table}.org_id`)} in (select o.id from organisations o where o.path like ${this.pathPattern})`
  }
}

/** Adds "the new org_id is in scope" to any update that sets `org_id`, in the same statement. */
class OrgIdTargetGuard implements KyselyPlugin {
  readonly #pattern: string
  constructor(pattern: string) {
    this.#pattern = pattern
  }

  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    if (!UpdateQueryNode.is(node) || !node.where) return node
    let where = node.where
    for (const update of node.updates ?? []) {
      if (!ColumnNode.is(update.column) || update.column.column.name !== 'org_id') continue
      const value = { toOperationNode: () => update.value }
      where = WhereNode.cloneWithOperation(where, 'And', sql`${value} in (select o.id from organisations o where o.path like ${this.#pattern})`.toOperationNode())
    }
    return { ...node, where }
  }

  async transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return result
  }
}

/** A write named an organisation outside the caller's subtree. Answered as 404. */
export class OutOfScopeError extends Error {
  readonly code = 'LL_ERR_OUT_OF_SCOPE'
  constructor() {
    super('That organisation does not exist, or you cannot see it.')
    this.name = 'OutOfScopeError'
  }
}

/** Core-internal: the unscoped executor behind a handle, for core modules that maintain the tree itself. */
export function executorOf<DB extends Database>(handle: ScopedDb<DB>): Executor<DB> {
  return internals.get(handle)!.db as Executor<DB>
}
