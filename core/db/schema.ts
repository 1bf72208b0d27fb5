/**
 * Types of the core tables, as Kysely sees them. Plugins declare their own tables beside their
 * migrations and widen this with an intersection type where they query them.
 */
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'

type CreatedAt = ColumnType<Date, Date | string | undefined, never>
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>

export const ORGANISATION_KINDS = ['operator', 'reseller', 'customer'] as const
export type OrganisationKind = (typeof ORGANISATION_KINDS)[number]
export const ORGANISATION_STATUSES = ['active', 'suspended'] as const
export type OrganisationStatus = (typeof ORGANISATION_STATUSES)[number]

export interface OrganisationTable {
  id: Generated<number>
  parent_id: number | null
  kind: OrganisationKind
  name: string
  /** Materialised path of ids, `/1/7/42/`: "this subtree" is `path like '/1/7/%'`. */
  path: string
  status: ColumnType<OrganisationStatus, OrganisationStatus | undefined, OrganisationStatus>
  billing_email: string | null
  currency: ColumnType<string, string | undefined, string>
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface UserTable {
  id: Generated<number>
  org_id: number
  email: string
  name: string
  password_hash: string
  status: ColumnType<'active' | 'disabled', 'active' | 'disabled' | undefined, 'active' | 'disabled'>
  created_at: CreatedAt
  last_login_at: Date | null
}

export interface SessionTable {
  /** SHA-256 of the cookie's token: a copy of the table does not hand out live sessions. */
  id: string
  user_id: number
  created_at: CreatedAt
  last_seen_at: Date
  expires_at: Date
  ip: string | null
  user_agent: string | null
}

export interface LoginThrottleTable {
  /** `account:<email>` or `address:<ip>` */
  key: string
  failures: number
  window_started_at: Date
  locked_until: Date | null
}

export interface RoleTable {
  id: Generated<number>
  /** The owning organisation; null for a system role (shipped, visible everywhere, read-only). */
  org_id: number | null
  system_key: string | null
  name: string
  description: ColumnType<string, string | undefined, string>
  /** May assign every role it can see (still never one granting more than its holder has). */
  manages_all: ColumnType<boolean, boolean | undefined, boolean>
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface RolePermissionTable {
  role_id: number
  /** A CASL subject (`Invoice`) or `all`. */
  subject: string
  /** A CASL action (`read`) or `manage`. */
  action: string
}

export interface RoleManagesTable {
  role_id: number
  managed_role_id: number
}

export interface UserRoleTable {
  user_id: number
  role_id: number
  created_at: CreatedAt
}

export interface ApiTokenTable {
  id: Generated<number>
  org_id: number
  user_id: number
  name: string
  token_hash: string
  /** The last characters of the token, so a person can tell tokens apart. */
  hint: string
  created_at: CreatedAt
  last_used_at: Date | null
  expires_at: Date | null
  revoked_at: Date | null
}

export interface AuditLogTable {
  id: Generated<string>
  at: CreatedAt
  org_id: number
  actor_user_id: number | null
  actor_email: string | null
  actor_org_id: number | null
  action: string
  subject: string
  subject_id: string | null
  summary: string
  before: ColumnType<unknown, string | null | undefined, never>
  after: ColumnType<unknown, string | null | undefined, never>
  request_id: string | null
}

export interface Database {
  organisations: OrganisationTable
  users: UserTable
  sessions: SessionTable
  login_throttle: LoginThrottleTable
  roles: RoleTable
  role_permissions: RolePermissionTable
  role_manages: RoleManagesTable
  user_roles: UserRoleTable
  api_tokens: ApiTokenTable
  audit_log: AuditLogTable
}

export type OrganisationRow = Selectable<OrganisationTable>
export type NewOrganisation = Insertable<OrganisationTable>
export type UserRow = Selectable<UserTable>
export type RoleRow = Selectable<RoleTable>
export type ApiTokenRow = Selectable<ApiTokenTable>
export type AuditLogRow = Selectable<AuditLogTable>
