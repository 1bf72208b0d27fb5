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

export interface Database {
  organisations: OrganisationTable
  users: UserTable
  sessions: SessionTable
  login_throttle: LoginThrottleTable
}

export type OrganisationRow = Selectable<OrganisationTable>
export type NewOrganisation = Insertable<OrganisationTable>
