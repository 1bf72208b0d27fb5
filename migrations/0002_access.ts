// Frozen in time: migrations import nothing of the app and take Kysely<any>.
// Roles, their permissions and delegation, role assignments, API tokens and the audit log.
import { sql, type Kysely } from 'kysely'

const SYSTEM_ROLES = [
  {
    key: 'super_admin', name: 'Super Administrator', managesAll: true,
    description: 'Everything, everywhere in the organisation tree. For the operator’s own staff.',
    grants: [['all', 'manage']],
  },
  {
    key: 'reseller_admin', name: 'Reseller Admin', managesAll: true,
    description: 'Everything inside the reseller’s own subtree: its customers, users, roles and reports.',
    grants: [['all', 'manage']],
  },
  {
    key: 'customer_admin', name: 'Customer Admin', managesAll: false,
    description: 'Runs one customer account: reads and exports its data, manages its users and API tokens.',
    grants: [['all', 'read'], ['all', 'export'], ['User', 'manage'], ['ApiToken', 'manage']],
  },
  {
    key: 'auditor', name: 'Auditor', managesAll: false,
    description: 'Read-only access to everything in scope; may export.',
    grants: [['all', 'read'], ['all', 'export']],
  },
] as const

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('roles')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    // null: a system role, shipped with the product and visible in every organisation.
    .addColumn('org_id', 'integer', (c) => c.references('organisations.id').onDelete('restrict'))
    .addColumn('system_key', 'text', (c) => c.unique())
    .addColumn('name', 'text', (c) => c.notNull().check(sql`length(btrim(name)) between 1 and 100`))
    .addColumn('description', 'text', (c) => c.notNull().defaultTo('').check(sql`length(description) <= 1000`))
    .addColumn('manages_all', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('roles_system_has_no_owner', sql`(system_key is null) = (org_id is not null)`)
    .execute()
  await sql`create unique index roles_name on roles (coalesce(org_id, 0), lower(name))`.execute(db)

  await db.schema
    .createTable('role_permissions')
    .addColumn('role_id', 'integer', (c) => c.notNull().references('roles.id').onDelete('cascade'))
    .addColumn('subject', 'text', (c) => c.notNull().check(sql`subject ~ '^([A-Z][A-Za-z0-9]*|all)$'`))
    .addColumn('action', 'text', (c) => c.notNull().check(sql`action ~ '^[a-z][a-z-]*$'`))
    .addPrimaryKeyConstraint('role_permissions_pk', ['role_id', 'subject', 'action'])
    .execute()

  await db.schema
    .createTable('role_manages')
    .addColumn('role_id', 'integer', (c) => c.notNull().references('roles.id').onDelete('cascade'))
    .addColumn('managed_role_id', 'integer', (c) => c.notNull().references('roles.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('role_manages_pk', ['role_id', 'managed_role_id'])
    .execute()
  await db.schema.createIndex('role_manages_managed').on('role_manages').column('managed_role_id').execute()

  await db.schema
    .createTable('user_roles')
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    // restrict: a role cannot disappear from under the users holding it.
    .addColumn('role_id', 'integer', (c) => c.notNull().references('roles.id').onDelete('restrict'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('user_roles_pk', ['user_id', 'role_id'])
    .execute()
  await db.schema.createIndex('user_roles_role').on('user_roles').column('role_id').execute()

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('org_id', 'integer', (c) => c.notNull().references('organisations.id').onDelete('restrict'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull().check(sql`length(btrim(name)) between 1 and 100`))
    // SHA-256 of the secret: a copy of the table opens nothing.
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('hint', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute()
  await db.schema.createIndex('api_tokens_org').on('api_tokens').column('org_id').execute()
  await db.schema.createIndex('api_tokens_user').on('api_tokens').column('user_id').execute()

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // The organisation the change belongs to; no foreign keys: history outlives the rows it names.
    .addColumn('org_id', 'integer', (c) => c.notNull())
    .addColumn('actor_user_id', 'integer')
    .addColumn('actor_email', 'text')
    .addColumn('actor_org_id', 'integer')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('subject_id', 'text')
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('before', 'jsonb')
    .addColumn('after', 'jsonb')
    .addColumn('request_id', 'text')
    .execute()
  await sql`create index audit_log_org_at on audit_log (org_id, at desc, id desc)`.execute(db)
  await sql`create index audit_log_at on audit_log (at desc, id desc)`.execute(db)
  await sql`create index audit_log_actor on audit_log (actor_user_id, at desc, id desc)`.execute(db)

  for (const role of SYSTEM_ROLES) {
    const { id } = await db.insertInto('roles')
      .values({ system_key: role.key, name: role.name, description: role.description, manages_all: role.managesAll })
      .returning('id').executeTakeFirstOrThrow()
    await db.insertInto('role_permissions').values(role.grants.map(([subject, action]) => ({ role_id: id, subject, action }))).execute()
  }
  // A Customer Admin may hand out Customer Admin and Auditor; nothing else.
  await sql`insert into role_manages (role_id, managed_role_id)
    select m.id, r.id from roles m, roles r where m.system_key = 'customer_admin' and r.system_key in ('customer_admin', 'auditor')`.execute(db)
  // Users from before roles existed keep what they could do: the admin role of their organisation's kind.
  await sql`insert into user_roles (user_id, role_id)
    select u.id, r.id from users u join organisations o on o.id = u.org_id
    join roles r on r.system_key = case o.kind when 'operator' then 'super_admin' when 'reseller' then 'reseller_admin' else 'customer_admin' end`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['audit_log', 'api_tokens', 'user_roles', 'role_manages', 'role_permissions', 'roles']) {
    await db.schema.dropTable(table).execute()
  }
}
