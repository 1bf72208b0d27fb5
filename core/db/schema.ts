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


// ---- metering and billing (migrations/0003_billing.ts) ------------------------------------------
// bigint and numeric columns come back as strings on both drivers: money is never a JS float.

/** A bigint column: read as a decimal string, written as a string, bigint or safe integer. */
type Int8 = ColumnType<string, string | bigint | number, string | bigint | number>
type Int8Default = ColumnType<string, string | bigint | number | undefined, string | bigint | number>
/** A numeric column: read as a decimal string. */
type Numeric = ColumnType<string, string | number, string | number>
type NumericDefault = ColumnType<string, string | number | undefined, string | number>
/** A `date` column: `YYYY-MM-DD`. */
type DateOnly = string

export const SERVICE_CATEGORIES = ['compute', 'memory', 'storage', 'network', 'voice', 'sms', 'licence', 'other'] as const
export type ServiceCategory = (typeof SERVICE_CATEGORIES)[number]
export const METER_AGGREGATIONS = ['sum', 'max', 'last'] as const
export type MeterAggregation = (typeof METER_AGGREGATIONS)[number]
export const PLAN_MODELS = ['payg', 'reserved', 'bundle'] as const
export type PlanModel = (typeof PLAN_MODELS)[number]
export const SUBSCRIPTION_STATUSES = ['active', 'suspended', 'cancelled'] as const
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number]
export const INVOICE_STATUSES = ['draft', 'issued', 'paid', 'overdue', 'void'] as const
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number]
export const INVOICE_LINE_KINDS = ['fixed', 'usage', 'discount', 'credit', 'adjustment'] as const
export type InvoiceLineKind = (typeof INVOICE_LINE_KINDS)[number]
export const CREDIT_KINDS = ['topup', 'usage', 'adjustment', 'expiry', 'accrual'] as const
export type CreditKind = (typeof CREDIT_KINDS)[number]
export const DISCOUNT_TARGETS = ['all', 'service', 'plan', 'meter'] as const
export type DiscountTarget = (typeof DISCOUNT_TARGETS)[number]
export const DISCOUNT_KINDS = ['percent', 'fixed'] as const
export type DiscountKind = (typeof DISCOUNT_KINDS)[number]
export const BILLING_RUN_STATUSES = ['queued', 'running', 'done', 'failed'] as const
export type BillingRunStatus = (typeof BILLING_RUN_STATUSES)[number]

export interface ServiceTable {
  id: Generated<number>
  /** The owner: the operator for the shared catalog. */
  org_id: number
  code: string
  name: string
  category: ServiceCategory
  description: ColumnType<string, string | undefined, string>
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface MeterTable {
  id: Generated<number>
  org_id: number
  service_id: number
  /** What usage events name, e.g. `vcpu-hours`. Unique per owner. */
  code: string
  name: string
  unit: string
  aggregation: MeterAggregation
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface PlanTable {
  id: Generated<number>
  org_id: number
  code: string
  name: string
  model: PlanModel
  currency: string
  fixed_fee_minor: Int8Default
  status: ColumnType<'active' | 'retired', 'active' | 'retired' | undefined, 'active' | 'retired'>
  description: ColumnType<string, string | undefined, string>
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface PlanPriceTable {
  id: Generated<number>
  org_id: number
  plan_id: number
  meter_id: number
  /** Price per unit beyond the included quantity, in the plan's currency (major units, numeric). */
  unit_price: Numeric
  included_quantity: NumericDefault
}

export interface CatalogCostTable {
  id: Generated<number>
  org_id: number
  /** Per unit of this meter... */
  meter_id: number | null
  /** ...or per month of a subscription to this plan. */
  plan_id: number | null
  currency: string
  /** Major units, numeric. */
  amount: Numeric
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface ProviderTable {
  id: Generated<number>
  org_id: number
  name: string
  region: ColumnType<string, string | undefined, string>
  cpu_capacity: NumericDefault
  memory_gb: NumericDefault
  storage_gb: NumericDefault
  status: ColumnType<'active' | 'retired', 'active' | 'retired' | undefined, 'active' | 'retired'>
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface SubscriptionTable {
  id: Generated<number>
  org_id: number
  plan_id: number
  provider_id: number | null
  name: string
  starts_on: DateOnly
  ends_on: DateOnly | null
  status: ColumnType<SubscriptionStatus, SubscriptionStatus | undefined, SubscriptionStatus>
  alloc_vcpu: NumericDefault
  alloc_memory_gb: NumericDefault
  alloc_storage_gb: NumericDefault
  alloc_bundles: ColumnType<number, number | undefined, number>
  alloc_licence_seats: ColumnType<number, number | undefined, number>
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface UsageEventTable {
  id: Generated<string>
  org_id: number
  subscription_id: number
  meter_id: number
  quantity: Numeric
  occurred_at: ColumnType<Date, Date | string, Date | string>
  received_at: CreatedAt
  idempotency_key: string
  payload_hash: string
  properties: ColumnType<unknown, string | null | undefined, never>
  source: ColumnType<'api' | 'import' | 'generator', 'api' | 'import' | 'generator' | undefined, never>
}

export interface UsageRollupInboxTable {
  event_id: Int8
  org_id: number
  subscription_id: number
  meter_id: number
  quantity: Numeric
  occurred_at: ColumnType<Date, Date | string, Date | string>
}

interface UsageRollupColumns {
  org_id: number
  subscription_id: number
  meter_id: number
  /** sum: the total; max: the peak; last: the latest event's value. */
  quantity: Numeric
  event_count: Int8
  last_at: ColumnType<Date, Date | string, Date | string>
}
export interface UsageDailyTable extends UsageRollupColumns {
  day: DateOnly
}
export interface UsageMonthlyTable extends UsageRollupColumns {
  /** First day of the month. */
  month: DateOnly
}

export interface InvoiceTable {
  id: Generated<number>
  org_id: number
  number: string
  /** First day of the billed month. */
  period: DateOnly
  currency: string
  status: ColumnType<InvoiceStatus, InvoiceStatus | undefined, InvoiceStatus>
  issued_on: DateOnly | null
  due_on: DateOnly | null
  subtotal_minor: Int8Default
  /** Zero or negative. */
  discount_minor: Int8Default
  /** Zero or negative. */
  credit_minor: Int8Default
  /** subtotal + discount + credit (a check constraint holds it). */
  total_minor: Int8Default
  paid_minor: Int8Default
  paid_at: Date | null
  voided_at: Date | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface InvoiceLineTable {
  id: Generated<string>
  org_id: number
  invoice_id: number
  position: number
  kind: InvoiceLineKind
  description: string
  subscription_id: number | null
  meter_id: number | null
  discount_id: number | null
  quantity: string | null
  included_quantity: string | null
  unit: string | null
  unit_price: string | null
  amount_minor: Int8
}

export interface PaymentTable {
  id: Generated<number>
  org_id: number
  invoice_id: number
  amount_minor: Int8
  currency: string
  paid_on: DateOnly
  method: ColumnType<string, string | undefined, string>
  reference: ColumnType<string, string | undefined, string>
  created_at: CreatedAt
}

export interface BillingRunTable {
  id: Generated<number>
  org_id: number
  period: DateOnly
  status: ColumnType<BillingRunStatus, BillingRunStatus | undefined, BillingRunStatus>
  started_by_user_id: number | null
  invoices_created: ColumnType<number, number | undefined, number>
  invoices_updated: ColumnType<number, number | undefined, number>
  error: string | null
  created_at: CreatedAt
  started_at: Date | null
  finished_at: Date | null
}

export interface CreditEntryTable {
  id: Generated<string>
  org_id: number
  kind: CreditKind
  /** Signed minor units: top-ups and accruals add, usage and expiry subtract. */
  amount_minor: Int8
  currency: string
  occurred_at: ColumnType<Date, Date | string | undefined, Date | string>
  expires_on: DateOnly | null
  expired_at: Date | null
  invoice_id: number | null
  granted_by_org_id: number | null
  description: ColumnType<string, string | undefined, string>
  created_at: CreatedAt
}

export interface DiscountTable {
  id: Generated<number>
  /** The account that gets the discount. */
  org_id: number
  /** The operator or the partner that granted it. */
  granted_by_org_id: number
  description: ColumnType<string, string | undefined, string>
  target: DiscountTarget
  service_id: number | null
  plan_id: number | null
  meter_id: number | null
  kind: DiscountKind
  percent: string | null
  amount_minor: string | null
  currency: string | null
  valid_from: DateOnly
  valid_to: DateOnly | null
  cancelled_at: Date | null
  created_at: CreatedAt
  updated_at: UpdatedAt
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
  services: ServiceTable
  meters: MeterTable
  plans: PlanTable
  plan_prices: PlanPriceTable
  catalog_costs: CatalogCostTable
  providers: ProviderTable
  subscriptions: SubscriptionTable
  usage_events: UsageEventTable
  usage_rollup_inbox: UsageRollupInboxTable
  usage_daily: UsageDailyTable
  usage_monthly: UsageMonthlyTable
  invoices: InvoiceTable
  invoice_lines: InvoiceLineTable
  payments: PaymentTable
  billing_runs: BillingRunTable
  credit_entries: CreditEntryTable
  discounts: DiscountTable
  report_runs: ReportRunTable
  report_run_chunks: ReportRunChunkTable
}

export type OrganisationRow = Selectable<OrganisationTable>
export type NewOrganisation = Insertable<OrganisationTable>
export type UserRow = Selectable<UserTable>
export type RoleRow = Selectable<RoleTable>
export type ApiTokenRow = Selectable<ApiTokenTable>
export type AuditLogRow = Selectable<AuditLogTable>
export type ServiceRow = Selectable<ServiceTable>
export type MeterRow = Selectable<MeterTable>
export type PlanRow = Selectable<PlanTable>
export type PlanPriceRow = Selectable<PlanPriceTable>
export type ProviderRow = Selectable<ProviderTable>
export type SubscriptionRow = Selectable<SubscriptionTable>
export type InvoiceRow = Selectable<InvoiceTable>
export type InvoiceLineRow = Selectable<InvoiceLineTable>
export type PaymentRow = Selectable<PaymentTable>
export type BillingRunRow = Selectable<BillingRunTable>
export type CreditEntryRow = Selectable<CreditEntryTable>
export type DiscountRow = Selectable<DiscountTable>

// ---- report runs (the archive of generated reports) ------------------------------------------

export const REPORT_RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const
export type ReportRunStatus = (typeof REPORT_RUN_STATUSES)[number]

export interface ReportRunTable {
  id: Generated<number>
  org_id: number
  user_id: number | null
  report_id: string
  subject: string
  report_title: string
  name: string
  description: ColumnType<string, string | undefined, string>
  format: 'csv' | 'xlsx' | 'xml'
  query: ColumnType<string, string | undefined, string>
  /** `{ values, summary }`: the resolved parameters and a short human summary. */
  parameters: ColumnType<unknown, string | undefined, string>
  status: ColumnType<ReportRunStatus, ReportRunStatus | undefined, ReportRunStatus>
  cancel_requested: ColumnType<boolean, boolean | undefined, boolean>
  rows_done: Int8Default
  rows_total: Int8 | null
  bytes: Int8Default
  chunks: ColumnType<number, number | undefined, number>
  error: string | null
  job_id: string | null
  attempts: ColumnType<number, number | undefined, number>
  heartbeat_at: Date | null
  created_at: CreatedAt
  started_at: Date | null
  finished_at: Date | null
  expires_at: Date | null
  content_type: string | null
  file_name: string | null
  /** When the requester was shown how the run ended (the page notice); null while a notice is owed. */
  notified_at: ColumnType<Date | null, Date | null | undefined, Date | null>
}

export interface ReportRunChunkTable {
  run_id: number
  org_id: number
  /** The attempt that wrote the chunk: a restarted export never mixes with an earlier one. */
  attempt: number
  seq: number
  data: Uint8Array
}

export type ReportRunRow = Selectable<ReportRunTable>
