/**
 * Pushes CASL rules into SQL. The rules that guard a route with `can()` also filter the rows a
 * query returns, so a list never shows a row that the row's own page would refuse, and never hides
 * one it would allow. The filter is built from `rulesToAST` and evaluates like `ability.can()` on
 * every row, including rows with NULLs.
 */
import { mongoQueryMatcher } from '@casl/ability'
import { rulesToAST } from '@casl/ability/extra'
import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely'
import type { AppAbility } from './ability.ts'

/**
 * Maps each field name that rule conditions may use to the SQL column or expression it reads,
 * e.g. `{ id: 'users.id', status: 'users.status' }`. This is also the whitelist: a condition on
 * any other field throws {@link RuleFieldError}, so a rule cannot read arbitrary columns.
 */
export type RuleFields = Readonly<Record<string, string | Expression<unknown>>>

/** A rule condition that cannot become SQL: a field outside the whitelist, an unsupported operator or value. */
export class RuleFieldError extends Error {
  readonly code = 'LL_ERR_RULE_FIELD'
  constructor(message: string) {
    super(message)
    this.name = 'RuleFieldError'
  }
}

/**
 * The SQL condition that holds for exactly the rows on which `ability.can(action, row)` holds.
 * No rule for the pair gives `false`; an unconditional allow gives `true`.
 *
 * Supported: `$eq` (and plain values), `$ne`, `$in`, `$nin`, `$lt`, `$lte`, `$gt`, `$gte`,
 * `$exists`, and the compounds `and`, `or`, `not`, `nor`. Values are bound parameters.
 *
 * Semantics follow CASL, which compares JavaScript values:
 * - `$eq: null` matches NULL, and `$ne: 5` or `$nin: [5]` match NULL.
 * - `$in` matches NULL only if the list holds `null`.
 * - `$lt`/`$lte`/`$gt`/`$gte` on a NULL give what CASL gives, which is not always false.
 *   JavaScript coerces `null` to 0, so `$lt: 5` matches NULL and `$gt: 5` does not.
 * - `$exists` is about the key, and a column is always there. So `$exists: true` holds
 *   even for NULL. Use `$ne: null` to ask for a value.
 * - A string value orders in the C collation, as JavaScript orders strings. The field must be a
 *   text column.
 * - A rule value must have the column's type. CASL compares `5` and `'5'` differently from SQL.
 *
 * @example
 * const visible = await db.selectFrom('users').selectAll()
 *   .where(rulesToSql(ability, 'read', 'User', { id: 'users.id', status: 'users.status', org_id: 'users.org_id' }))
 *   .execute()
 */
export function rulesToSql(ability: AppAbility, action: string, subjectType: string, fields: RuleFields): Expression<SqlBool> {
  const ast = rulesToAST(ability, action, subjectType)
  // `null` means no rule for the pair grants anything.
  const compiled = ast === null ? false : compile(ast, { fields, subjectType }, false)
  return typeof compiled === 'boolean' ? constant(compiled) : compiled
}

/** The shape of @ucast's `FieldCondition` and `CompoundCondition`, which `rulesToAST` returns. */
interface Condition {
  readonly operator: string
  readonly value: unknown
  readonly field?: unknown
}
/** A compiled condition: SQL, or a constant folded away so `manage all` stays a plain `true`. */
type Compiled = RawBuilder<SqlBool> | boolean

interface Context {
  readonly fields: RuleFields
  readonly subjectType: string
}

const SUPPORTED = '$eq, $ne, $in, $nin, $lt, $lte, $gt, $gte, $exists'
const ORDERINGS = { lt: '<', lte: '<=', gt: '>', gte: '>=' } as const
const COMPLEMENT = { lt: 'gte', lte: 'gt', gt: 'lte', gte: 'lt' } as const
type Ordering = keyof typeof ORDERINGS

/**
 * Compiles `node`, or its negation when `negated`, pushing NOT down to the leaves. Each leaf is
 * then TRUE exactly where CASL says true. Where CASL says false it may be NULL, which AND, OR
 * and WHERE treat as FALSE. A NOT over such a NULL would stay NULL where CASL says true, so no
 * NOT is ever emitted.
 */
function compile(node: Condition, ctx: Context, negated: boolean): Compiled {
  if (isField(node)) return compileField(node, ctx, negated)
  const children = Array.isArray(node.value) ? (node.value as Condition[]) : undefined
  if (!children) throw unsupported(node.operator)
  switch (node.operator) {
    case 'and':
    case 'or': {
      const parts = children.map((child) => compile(child, ctx, negated))
      return (node.operator === 'and') !== negated ? and(parts) : or(parts)
    }
    case 'nor': {
      // nor(a, b) is and(not a, not b).
      const parts = children.map((child) => compile(child, ctx, !negated))
      return negated ? or(parts) : and(parts)
    }
    case 'not': {
      const [child] = children
      if (!child || children.length !== 1) throw unsupported(node.operator)
      return compile(child, ctx, !negated)
    }
    default:
      throw unsupported(node.operator)
  }
}

interface FieldNode {
  readonly operator: string
  readonly field: string
  readonly value: unknown
}

function isField(node: Condition): node is FieldNode {
  return typeof node.field === 'string'
}

function compileField(node: FieldNode, ctx: Context, negated: boolean): Compiled {
  const column = columnOf(node.field, ctx)
  const { operator, value, field } = node
  switch (operator) {
    case 'eq':
    case 'ne':
      return equals(column, scalarOrNull(value, node), negated !== (operator === 'ne'))
    case 'in':
    case 'nin':
      if (!Array.isArray(value)) throw badValue(node, 'an array')
      return within(column, value.map((item) => scalarOrNull(item, node)), negated !== (operator === 'nin'))
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      return ordered(column, operator, comparable(node), negated)
    case 'exists':
      // CASL asks whether the row has the key; a selected column always has one, even when NULL.
      if (typeof value !== 'boolean') throw badValue(node, 'a boolean')
      return value !== negated
    default:
      throw unsupported(operator, field)
  }
}

function columnOf(field: string, ctx: Context): Expression<unknown> {
  // `hasOwn`, not `in`: a rule must not reach `constructor` or `__proto__` through the prototype.
  const column = Object.hasOwn(ctx.fields, field) ? ctx.fields[field] : undefined
  if (column === undefined) {
    const allowed = Object.keys(ctx.fields).join(', ')
    throw new RuleFieldError(`A rule for ${ctx.subjectType} has a condition on "${field}", which cannot be used in SQL (allowed fields: ${allowed}).`)
  }
  return typeof column === 'string' ? sql.ref(column) : column
}

type Scalar = string | number | bigint | boolean | Date

function equals(column: Expression<unknown>, value: Scalar | null, negated: boolean): Compiled {
  if (value === null) return negated ? sql<SqlBool>`${column} is not null` : sql<SqlBool>`${column} is null`
  // CASL says `null !== 5`, so the negation must hold for NULL; `<>` alone would give NULL there.
  return negated ? sql<SqlBool>`${column} is distinct from ${value}` : sql<SqlBool>`${column} = ${value}`
}

function within(column: Expression<unknown>, list: ReadonlyArray<Scalar | null>, negated: boolean): Compiled {
  const values = list.filter((item): item is Scalar => item !== null)
  const withNull = values.length !== list.length
  // NULL is kept out of the SQL list: `x not in (1, null)` is never true.
  const inList: Compiled = values.length > 0 ? sql<SqlBool>`${column} in (${sql.join(values)})` : false
  if (!negated) return or([inList, withNull && sql<SqlBool>`${column} is null`])
  const notInList: Compiled = values.length > 0 ? sql<SqlBool>`${column} not in (${sql.join(values)})` : true
  return withNull
    ? and([sql<SqlBool>`${column} is not null`, notInList])
    : or([sql<SqlBool>`${column} is null`, notInList])
}

function ordered(column: Expression<unknown>, operator: Ordering, value: string | number | bigint | Date, negated: boolean): Compiled {
  // JavaScript coerces null to 0 in `<`, so CASL's answer for a NULL depends on the value. We ask
  // CASL's own matcher instead of copying its comparison. The key is fixed: a dotted field name
  // would be read as a path.
  const nullMatches = mongoQueryMatcher({ v: { [`$${operator}`]: value } })({ v: null })
  const op = ORDERINGS[negated ? COMPLEMENT[operator] : operator]
  const lhs = typeof value === 'string' ? sql`${column} collate "C"` : column
  const comparison = sql<SqlBool>`${lhs} ${sql.raw(op)} ${value}`
  return nullMatches !== negated ? or([comparison, sql<SqlBool>`${column} is null`]) : comparison
}

function scalarOrNull(value: unknown, node: FieldNode): Scalar | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'bigint') return value
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value
  throw badValue(node, 'a string, finite number, boolean, Date or null')
}

function comparable(node: FieldNode): string | number | bigint | Date {
  const value = scalarOrNull(node.value, node)
  if (value === null || typeof value === 'boolean') throw badValue(node, 'a string, number or Date')
  return value
}

function and(parts: readonly Compiled[]): Compiled {
  if (parts.includes(false)) return false
  const sqlParts = parts.filter((part): part is RawBuilder<SqlBool> => part !== true)
  if (sqlParts.length <= 1) return sqlParts[0] ?? true
  return sql<SqlBool>`(${sql.join(sqlParts, sql` and `)})`
}

function or(parts: readonly Compiled[]): Compiled {
  if (parts.includes(true)) return true
  const sqlParts = parts.filter((part): part is RawBuilder<SqlBool> => part !== false)
  if (sqlParts.length <= 1) return sqlParts[0] ?? false
  return sql<SqlBool>`(${sql.join(sqlParts, sql` or `)})`
}

function constant(value: boolean): RawBuilder<SqlBool> {
  return value ? sql<SqlBool>`true` : sql<SqlBool>`false`
}

function unsupported(operator: string, field?: string): RuleFieldError {
  const where = field === undefined ? '' : ` on "${field}"`
  return new RuleFieldError(`The rule operator "$${operator}"${where} cannot be used in SQL (supported: ${SUPPORTED}, and, or, not, nor).`)
}

function badValue(node: FieldNode, expected: string): RuleFieldError {
  return new RuleFieldError(`The rule condition "$${node.operator}" on "${node.field}" needs ${expected}, got ${describeValue(node.value)}.`)
}

function describeValue(value: unknown): string {
  if (value instanceof RegExp) return 'a regular expression'
  if (Array.isArray(value)) return 'an array'
  return value === null ? 'null' : typeof value
}
