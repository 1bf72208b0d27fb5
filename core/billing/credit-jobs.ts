/**
 * Credit expiry: the daily job `core.credit-expiry` and the function it calls.
 *
 * The rule (a simplification of FIFO): when a top-up's `expires_on` has passed, the ledger gets
 * one `expiry` row of -min(the top-up's amount, the account's balance in that currency at that
 * moment), and the top-up is marked `expired_at`. True FIFO would first work out how much of that
 * particular top-up was spent; here spending is not attributed to top-ups, so an expiry takes
 * back at most what the top-up added and never more than what is left, and the balance never
 * goes below zero. Nothing is written when the balance is already zero (the top-up is still
 * marked, so it is looked at once).
 *
 * Idempotent and safe when two runs overlap: each top-up is handled in its own transaction that
 * locks the top-up row and re-checks `expired_at is null` after the lock, so a second run finds
 * nothing to do; the account's ledger lock orders the expiry against other writes.
 */
import { sql } from 'kysely'
import { recordAudit } from '../audit/audit.ts'
import type { JobDefinition } from '../plugins/define.ts'
import type { ScopedDb } from '../tenancy/scoped-db.ts'
import { creditBalance, lockCreditAccount, todayUtc } from './credits.ts'

export interface ExpiryResult {
  /** Top-ups marked expired by this run. */
  readonly expired: number
  /** Expiry rows written (a top-up with nothing left gets none). */
  readonly entries: number
}

/** Expires every top-up whose `expires_on` is before `today` (`YYYY-MM-DD`, UTC) and that is not expired yet. */
export async function expireCredits(sdb: ScopedDb, today = todayUtc()): Promise<ExpiryResult> {
  const due = await sdb.selectFrom('credit_entries')
    .select('credit_entries.id')
    .where('credit_entries.kind', '=', 'topup')
    .where('credit_entries.expired_at', 'is', null)
    .where('credit_entries.expires_on', '<', today)
    .orderBy('credit_entries.id')
    .execute()
  let expired = 0
  let written = 0
  for (const { id } of due) {
    const outcome = await sdb.transaction(async (trx) => {
      const topup = await trx.selectFrom('credit_entries')
        .selectAll()
        .where('credit_entries.id', '=', id)
        .where('credit_entries.expired_at', 'is', null)
        .forUpdate()
        .executeTakeFirst()
      if (!topup) return 'gone' as const
      await lockCreditAccount(trx, topup.org_id, topup.currency)
      const balance = await creditBalance(trx, topup.org_id, topup.currency)
      const amount = BigInt(topup.amount_minor)
      const take = balance < amount ? balance : amount
      let entryId: string | null = null
      if (take > 0n) {
        const insert = await trx.insertInto('credit_entries', {
          org_id: topup.org_id, kind: 'expiry', amount_minor: (-take).toString(), currency: topup.currency,
          granted_by_org_id: topup.granted_by_org_id, description: `Expiry of top-up #${topup.id} (expired on ${topup.expires_on})`,
        })
        entryId = (await insert.returning('id').executeTakeFirstOrThrow()).id
      }
      await trx.updateTable('credit_entries').set({ expired_at: sql<Date>`now()` }).where('credit_entries.id', '=', topup.id).execute()
      await recordAudit(trx, {
        orgId: topup.org_id, action: 'expire', subject: 'Credit', subjectId: topup.id,
        summary: take > 0n
          ? `Top-up #${topup.id} expired: ${take} minor units of ${topup.currency} removed`
          : `Top-up #${topup.id} expired with nothing left to remove`,
        before: { balance_minor: balance.toString() }, after: { expiry_entry_id: entryId, removed_minor: take.toString() },
      })
      return take > 0n ? 'written' as const : 'empty' as const
    })
    if (outcome !== 'gone') expired++
    if (outcome === 'written') written++
  }
  return { expired, entries: written }
}

export const creditExpiryJob: JobDefinition = {
  id: 'core.credit-expiry',
  cron: '20 0 * * *', // daily at 00:20 UTC, once the day has turned
  handler: async (_jobs, { db, log }) => {
    const result = await expireCredits(db)
    log.info('credits expired', { ...result })
  },
}

export const creditJobs: readonly JobDefinition<any>[] = [creditExpiryJob]
