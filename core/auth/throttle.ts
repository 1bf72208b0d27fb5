/**
 * Login throttling, per account and per client address, kept in the database so every instance
 * counts the same failures. An unknown account is counted like a known one, so the answers never
 * tell which emails exist.
 */
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'

export interface ThrottlePolicy {
  readonly maxFailures: number
  readonly windowSeconds: number
  readonly lockSeconds: number
}

export const ACCOUNT_POLICY: ThrottlePolicy = { maxFailures: 5, windowSeconds: 15 * 60, lockSeconds: 15 * 60 }
export const ADDRESS_POLICY: ThrottlePolicy = { maxFailures: 30, windowSeconds: 15 * 60, lockSeconds: 15 * 60 }

export interface ThrottleKey {
  readonly key: string
  readonly policy: ThrottlePolicy
}

export const accountKey = (email: string): ThrottleKey => ({ key: `account:${email.trim().toLowerCase()}`, policy: ACCOUNT_POLICY })
export const addressKey = (address: string): ThrottleKey => ({ key: `address:${address}`, policy: ADDRESS_POLICY })

/** When the earliest lock among `keys` ends, or undefined when none is locked. */
export async function lockedUntil(db: Kysely<Database>, keys: readonly ThrottleKey[]): Promise<Date | undefined> {
  const rows = await db.selectFrom('login_throttle')
    .select('locked_until')
    .where('key', 'in', keys.map((k) => k.key))
    .where('locked_until', '>', sql<Date>`now()`)
    .execute()
  const times = rows.map((r) => r.locked_until!.getTime())
  return times.length ? new Date(Math.max(...times)) : undefined
}

export async function recordFailure(db: Kysely<Database>, keys: readonly ThrottleKey[]): Promise<void> {
  for (const { key, policy } of keys) {
    const windowStart = sql<Date>`now() - make_interval(secs => ${policy.windowSeconds})`
    await db.insertInto('login_throttle')
      .values({ key, failures: 1, window_started_at: sql`now()`, locked_until: null })
      .onConflict((oc) => oc.column('key').doUpdateSet({
        failures: sql`case when login_throttle.window_started_at < ${windowStart} then 1 else login_throttle.failures + 1 end`,
        window_started_at: sql`case when login_throttle.window_started_at < ${windowStart} then now() else login_throttle.window_started_at end`,
      }))
      .execute()
    await db.updateTable('login_throttle')
      .set({ locked_until: sql`now() + make_interval(secs => ${policy.lockSeconds})`, failures: 0, window_started_at: sql`now()` })
      .where('key', '=', key)
      .where('failures', '>=', policy.maxFailures)
      .execute()
  }
}

/** After a good login: forget the account's failures (the address keeps its count). */
export async function clearFailures(db: Kysely<Database>, key: ThrottleKey): Promise<void> {
  await db.deleteFrom('login_throttle').where('key', '=', key.key).execute()
}
