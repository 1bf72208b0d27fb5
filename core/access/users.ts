/**
 * User management: list, create, edit, disable, enable and reset the password of users in the
 * caller's subtree. Functions take the caller's scoped handle first, like `roles.ts`; a user
 * outside the subtree is "not found".
 *
 * The rules, enforced here whatever a form or the JSON API sends:
 * - a user is created in an organisation of the caller's subtree, with roles the caller manages;
 * - nobody changes their own account here (the ability's inverted `update User {id: self}` rule);
 * - to edit, disable, enable or reset someone, the caller must manage every role they hold: a
 *   Customer Admin cannot reset a Super Administrator who sits in the same organisation;
 * - disabling or resetting a password ends every session of the user at once; API tokens stop
 *   working because `findApiToken` checks the user's status;
 * - a user never moves to another organisation; passwords never reach the audit log.
 *
 * @example
 * const caller = userCaller(c.var)
 * const { user, generatedPassword } = await createUser(c.var.db, caller, userInput.parse(body))
 */
import { randomInt } from 'node:crypto'
import { subject } from '@casl/ability'
import { sql, type Kysely } from 'kysely'
import { z } from 'zod'
import { recordAudit } from '../audit/audit.ts'
import { hashPassword, passwordProblem } from '../auth/password.ts'
import type { Database, OrganisationRow, UserRow } from '../db/schema.ts'
import { HttpProblem, notFound } from '../http/problem.ts'
import { executorOf, type ScopedDb } from '../tenancy/scoped-db.ts'
import type { AppAbility, UserGrants } from './ability.ts'
import { rulesToSql } from './rules-to-sql.ts'
import { managesAllRolesOf, setUserRoles, visibleRoles, type RoleCaller } from './roles.ts'

/** Who is asking: a {@link RoleCaller} plus the request's ability and the caller's own user id. */
export interface UserCaller extends RoleCaller {
  readonly userId: number
  readonly ability: AppAbility
}

/** The caller from a request's `c.var`. */
export function userCaller(vars: { org: OrganisationRow; grants: UserGrants; ability: AppAbility; user: { id: number } | null }): UserCaller {
  if (!vars.user) throw new HttpProblem(401, 'Sign in first.')
  return { org: vars.org, grants: vars.grants, ability: vars.ability, userId: vars.user.id }
}

/** A user as pages and the API show it: never the password hash. */
export type UserRecord = Omit<UserRow, 'password_hash'> & { readonly org_name: string }

export interface RoleRef {
  readonly id: number
  readonly name: string
}

/** A user with the roles the caller can see, and how many others they hold (names withheld). */
export interface UserWithRoles extends UserRecord {
  readonly roles: readonly RoleRef[]
  readonly hiddenRoleCount: number
}

export const USER_STATUSES = ['active', 'disabled'] as const
export type UserStatus = (typeof USER_STATUSES)[number]

const MAX_ID = 2_147_483_647
const validId = (id: number) => Number.isSafeInteger(id) && id > 0 && id <= MAX_ID
const unscoped = (sdb: ScopedDb<any>) => executorOf(sdb) as Kysely<Database>

// ---- input ------------------------------------------------------------------------------------

const email = z.string().trim().toLowerCase().max(320, 'Use at most 320 characters').pipe(z.email('Enter a valid email address'))
const name = z.string().trim().min(1, 'Enter a name').max(200, 'Use at most 200 characters')
const roleIds = z.array(z.coerce.number({ error: 'Choose roles from the list' }).int('Choose roles from the list').positive('Choose roles from the list')).max(100)
/** Empty means "let the server make one". */
const optionalPassword = z.string().max(1024, 'Use at most 1024 characters').optional().transform((v) => (v ? v : undefined))

/** A new user, as the form or the JSON API sends it. Anything else sent is dropped. */
export const userInput = z.object({
  email,
  name,
  orgId: z.coerce.number({ error: 'Choose an organisation' }).int('Choose an organisation').positive('Choose an organisation'),
  roleIds: roleIds.default([]),
  password: optionalPassword,
})
export type UserInput = z.output<typeof userInput>

/** What an edit may change: the name and the roles the caller manages. Never the organisation. */
export const userPatch = z.object({ name: name.optional(), roleIds: roleIds.optional() })
export type UserPatch = z.output<typeof userPatch>

export const passwordInput = z.object({ password: optionalPassword })

const PASSWORD_ALPHABET = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'

/** A password the server makes: 20 characters from an unambiguous alphabet (about 114 bits), in groups of 5. */
export function generatePassword(): string {
  let out = ''
  for (let i = 0; i < 20; i++) {
    if (i > 0 && i % 5 === 0) out += '-'
    out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]
  }
  return out
}

function checkTypedPassword(password: string | undefined): void {
  const problem = password === undefined ? undefined : passwordProblem(password)
  if (problem) throw new HttpProblem(422, 'Check the password.', { password: problem })
}

// ---- reading ----------------------------------------------------------------------------------

export interface UserFilter {
  readonly orgId?: number | undefined
  readonly status?: UserStatus | undefined
  /** Case-insensitive substring of the name or the email. */
  readonly q?: string | undefined
}

function usersQuery(sdb: ScopedDb<any>) {
  return (sdb as ScopedDb).selectFrom('users').innerJoin('organisations as o', 'o.id', 'users.org_id')
}

const USER_COLUMNS = [
  'users.id', 'users.org_id', 'users.email', 'users.name', 'users.status', 'users.created_at', 'users.last_login_at', 'o.name as org_name',
] as const

/** The roles of `userIds` the caller can see, and a count of the others. Ids must be in scope already. */
export async function rolesOfUsers(sdb: ScopedDb<any>, grants: UserGrants, userIds: readonly number[]): Promise<Map<number, { roles: RoleRef[]; hidden: number }>> {
  const out = new Map<number, { roles: RoleRef[]; hidden: number }>(userIds.map((id) => [id, { roles: [], hidden: 0 }]))
  if (userIds.length === 0) return out
  const [held, visible] = await Promise.all([
    unscoped(sdb).selectFrom('user_roles').select(['user_id', 'role_id']).where('user_id', 'in', [...userIds]).execute(),
    visibleRoles(sdb, grants),
  ])
  const byId = new Map(visible.map((r) => [r.id, r]))
  for (const { user_id, role_id } of held) {
    const entry = out.get(user_id)!
    const role = byId.get(role_id)
    if (role) entry.roles.push({ id: role.id, name: role.name })
    else entry.hidden++
  }
  for (const entry of out.values()) entry.roles.sort((a, b) => a.name.localeCompare(b.name))
  return out
}

/** The fields a rule about users may name, and the columns they are read from (rules -> SQL). */
export const USER_RULE_FIELDS = { id: 'users.id', org_id: 'users.org_id', email: 'users.email', status: 'users.status' } as const

/**
 * One page of users in scope matching `filter`, by name, with the total count. The caller's
 * `read User` rules are pushed into the query, so a conditional rule (e.g. a role that may not
 * read disabled users) filters rows in SQL exactly as `ability.can()` would one by one.
 */
export async function listUsers(
  sdb: ScopedDb<any>, caller: { grants: UserGrants; ability: AppAbility }, filter: UserFilter, paging: { limit: number; offset: number },
): Promise<{ users: UserWithRoles[]; total: number }> {
  const { grants } = caller
  let query = usersQuery(sdb).where(rulesToSql(caller.ability, 'read', 'User', USER_RULE_FIELDS))
  if (filter.orgId !== undefined) query = query.where('users.org_id', '=', validId(filter.orgId) ? filter.orgId : 0)
  if (filter.status) query = query.where('users.status', '=', filter.status)
  if (filter.q) {
    const pattern = `%${filter.q.replace(/[\\%_]/g, '\\$&')}%`
    query = query.where(sql<boolean>`(users.name ilike ${pattern} or users.email ilike ${pattern})`)
  }
  const [rows, count] = await Promise.all([
    query.select(USER_COLUMNS).orderBy(sql`lower(users.name)`).orderBy('users.id').limit(paging.limit).offset(paging.offset).execute(),
    query.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ])
  const roles = await rolesOfUsers(sdb, grants, rows.map((r) => r.id))
  return {
    users: rows.map((row) => ({ ...row, roles: roles.get(row.id)!.roles, hiddenRoleCount: roles.get(row.id)!.hidden })),
    total: Number(count.n),
  }
}

/** One user in scope (no password hash), or undefined: answer 404. */
export async function findUser(sdb: ScopedDb<any>, id: number): Promise<UserRecord | undefined> {
  if (!validId(id)) return undefined
  return usersQuery(sdb).select(USER_COLUMNS).where('users.id', '=', id).executeTakeFirst()
}

/** One user in scope with the roles the caller can see; throws 404 otherwise. */
export async function userDetail(sdb: ScopedDb<any>, grants: UserGrants, id: number): Promise<UserWithRoles> {
  const user = await findUser(sdb, id)
  if (!user) throw notFound('user')
  const roles = (await rolesOfUsers(sdb, grants, [user.id])).get(user.id)!
  return { ...user, roles: roles.roles, hiddenRoleCount: roles.hidden }
}

/**
 * Why the caller may not edit, disable, enable or reset `user`, or undefined when they may.
 * The page shows the reason instead of the buttons; the writes throw it as a 403.
 */
export async function whyNotChangeable(sdb: ScopedDb<any>, caller: UserCaller, user: { id: number }): Promise<string | undefined> {
  if (!caller.ability.can('update', 'User')) return 'You do not have permission to do this.'
  const row = subject('User', { id: user.id })
  if (!caller.ability.can('update', row)) return caller.ability.relevantRuleFor('update', row)?.reason ?? 'You do not have permission to do this.'
  if (!(await managesAllRolesOf(sdb, caller, user.id))) {
    return 'This user holds a role you do not manage; only an administrator who manages all of their roles can change them.'
  }
  return undefined
}

async function changeableUser(sdb: ScopedDb<any>, caller: UserCaller, id: number): Promise<UserRecord> {
  const user = await findUser(sdb, id)
  if (!user) throw notFound('user')
  const why = await whyNotChangeable(sdb, caller, user)
  if (why) throw new HttpProblem(403, why)
  return user
}

async function endSessions(sdb: ScopedDb<any>, userId: number): Promise<number> {
  // Sessions have no org_id: the caller checked the user is in scope before calling this.
  const result = await unscoped(sdb).deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst()
  return Number(result.numDeletedRows)
}

// ---- writing ----------------------------------------------------------------------------------

function duplicateEmail(error: unknown): unknown {
  const { code, constraint_name: constraint, message } = error as { code?: string; constraint_name?: string; message?: string }
  if (code === '23505' && (constraint === 'users_email' || String(message).includes('users_email'))) {
    return new HttpProblem(409, 'A user with this email already exists.', { email: 'This email is already in use' })
  }
  return error
}

/**
 * Creates a user in an organisation of the caller's subtree, with roles the caller manages.
 * Without a typed password the server makes one and returns it, once: show it, never log it.
 */
export async function createUser(sdb: ScopedDb<any>, caller: UserCaller, input: UserInput): Promise<{ user: UserRecord; generatedPassword?: string }> {
  if (!caller.ability.can('create', 'User')) throw new HttpProblem(403, 'You do not have permission to do this.')
  const org = await sdb.organisation(input.orgId)
  if (!org) throw new HttpProblem(422, 'That organisation does not exist, or you cannot see it.', { orgId: 'Choose an organisation from the list' })
  checkTypedPassword(input.password)
  const password = input.password ?? generatePassword()
  const passwordHash = await hashPassword(password)
  const user = await sdb.transaction(async (trx) => {
    let id: number
    try {
      const insert = await trx.insertInto('users', { org_id: org.id, email: input.email, name: input.name, password_hash: passwordHash })
      id = (await insert.returning('id').executeTakeFirstOrThrow()).id
    } catch (error) {
      throw duplicateEmail(error)
    }
    const { added } = await setUserRoles(trx, caller, { id, org_id: org.id }, input.roleIds)
    await recordAudit(trx, {
      orgId: org.id, action: 'create', subject: 'User', subjectId: id, summary: `User ${input.email} created in "${org.name}"`,
      after: { email: input.email, name: input.name, orgId: org.id, status: 'active', roleIds: added.sort((a, b) => a - b) },
    })
    return (await findUser(trx, id))!
  })
  return input.password === undefined ? { user, generatedPassword: password } : { user }
}

/** Changes a user's name and/or the roles the caller manages (others they hold are kept). */
export async function updateUser(sdb: ScopedDb<any>, caller: UserCaller, id: number, patch: UserPatch): Promise<UserRecord> {
  return sdb.transaction(async (trx) => {
    const user = await changeableUser(trx, caller, id)
    if (patch.name !== undefined && patch.name !== user.name) {
      await trx.updateTable('users').set({ name: patch.name }).where('users.id', '=', id).execute()
      await recordAudit(trx, {
        orgId: user.org_id, action: 'update', subject: 'User', subjectId: id, summary: `User ${user.email} renamed`,
        before: { name: user.name }, after: { name: patch.name },
      })
    }
    if (patch.roleIds !== undefined) {
      const { added, removed } = await setUserRoles(trx, caller, user, patch.roleIds)
      if (added.length || removed.length) {
        await recordAudit(trx, {
          orgId: user.org_id, action: 'assign', subject: 'User', subjectId: id, summary: `Roles of ${user.email} changed`,
          after: { added: added.sort((a, b) => a - b), removed: removed.sort((a, b) => a - b) },
        })
      }
    }
    return (await findUser(trx, id))!
  })
}

/**
 * Disables or enables a user. Disabling deletes all their sessions in the same transaction: the
 * next request with their cookie is signed out, and their API tokens answer 401.
 */
export async function setUserStatus(sdb: ScopedDb<any>, caller: UserCaller, id: number, status: UserStatus): Promise<UserRecord> {
  return sdb.transaction(async (trx) => {
    const user = await changeableUser(trx, caller, id)
    if (user.status === status) return user
    await trx.updateTable('users').set({ status }).where('users.id', '=', id).execute()
    const ended = status === 'disabled' ? await endSessions(trx, id) : 0
    await recordAudit(trx, {
      orgId: user.org_id, action: status === 'disabled' ? 'disable' : 'enable', subject: 'User', subjectId: id,
      summary: `User ${user.email} ${status === 'disabled' ? `disabled; ${ended} session(s) ended` : 'enabled'}`,
      before: { status: user.status }, after: { status },
    })
    return { ...user, status }
  })
}

/**
 * Sets a new password (typed, or made by the server and returned once) and ends every session
 * of the user. The audit row says that it happened, never what the password is.
 */
export async function resetPassword(sdb: ScopedDb<any>, caller: UserCaller, id: number, typed: string | undefined): Promise<{ user: UserRecord; generatedPassword?: string }> {
  checkTypedPassword(typed)
  // Checked before hashing too: scrypt is expensive, a refused caller should not get to run it.
  await changeableUser(sdb, caller, id)
  const password = typed ?? generatePassword()
  const passwordHash = await hashPassword(password)
  const user = await sdb.transaction(async (trx) => {
    const target = await changeableUser(trx, caller, id)
    await trx.updateTable('users').set({ password_hash: passwordHash }).where('users.id', '=', id).execute()
    const ended = await endSessions(trx, id)
    await recordAudit(trx, {
      orgId: target.org_id, action: 'reset-password', subject: 'User', subjectId: id,
      summary: `Password of ${target.email} reset${typed === undefined ? ' (generated)' : ''}; ${ended} session(s) ended`,
    })
    return target
  })
  return typed === undefined ? { user, generatedPassword: password } : { user }
}

/** Organisations a user may be created in or filtered by: the caller's subtree, depth first. */
export async function organisationChoices(sdb: ScopedDb<any>): Promise<{ id: number; name: string; depth: number }[]> {
  const rows = await (sdb as ScopedDb).organisations().select(['organisations.id', 'organisations.name', 'organisations.path']).execute()
  const rootDepth = sdb.scope.path.split('/').length
  // Depth first with siblings by name: sort on the chain of ancestor names, not on ids.
  const byId = new Map(rows.map((r) => [r.id, r]))
  const key = (path: string) => path.split('/').filter(Boolean).map((id) => byId.get(Number(id))?.name.toLowerCase() ?? '').join('\u0000')
  return rows
    .map((r) => ({ id: r.id, name: r.name, depth: r.path.split('/').length - rootDepth, key: key(r.path) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id - b.id))
    .map(({ id, name, depth }) => ({ id, name, depth }))
}

/** A zod failure as the 422 problem to answer, with the first message of each field. */
export function inputProblem(error: z.ZodError, message = 'Check the highlighted fields.'): HttpProblem {
  const fields: Record<string, string> = {}
  for (const issue of error.issues) fields[String(issue.path[0] ?? 'form')] ??= issue.message
  return new HttpProblem(422, message, fields)
}
