/**
 * Status changes on one invoice or a selection, through core/billing (which locks each invoice,
 * checks the transition and writes its audit row in the same transaction). Each invoice is changed
 * on its own: one that cannot change (already paid, void, not in scope) is skipped with the reason,
 * the others go through.
 *
 * @example
 * const outcome = await applyInvoiceAction(c.var.db, 'paid', [12, 13])
 * summarise('paid', outcome) // '2 invoices marked paid.'
 */
import { changeStatus } from '../../core/billing/invoice-actions.ts'
import { HttpProblem } from '../../core/http/problem.ts'
import type { ScopedDb } from '../../core/tenancy/scoped-db.ts'

/** What the selection page offers: `pending` issues a draft (core only moves a draft to issued). */
export const INVOICE_ACTIONS = ['paid', 'pending', 'void'] as const
export type InvoiceAction = (typeof INVOICE_ACTIONS)[number]

export const ACTION_LABELS: Readonly<Record<InvoiceAction, string>> = { paid: 'marked paid', pending: 'marked pending (issued)', void: 'voided' }

/** What a person chooses: the buttons of the selection page and the report's action menu. */
export const ACTION_BUTTONS: Readonly<Record<InvoiceAction, string>> = { paid: 'Mark paid', pending: 'Mark pending', void: 'Void' }

/** At most this many invoices per request: each is its own transaction. */
export const MAX_SELECTION = 500

export interface ActionOutcome {
  readonly changed: string[]
  readonly skipped: Array<{ readonly id: number; readonly reason: string }>
}

/** Applies `action` to each invoice in turn; expected refusals (409, 404) become skipped entries. */
export async function applyInvoiceAction(db: ScopedDb, action: InvoiceAction, ids: readonly number[]): Promise<ActionOutcome> {
  const changed: string[] = []
  const skipped: Array<{ id: number; reason: string }> = []
  for (const id of ids) {
    try {
      const after = await changeStatus(db, id, action === 'pending' ? 'issued' : action, { reference: 'Marked paid from the invoice report' })
      changed.push(after.number)
    } catch (error) {
      if (!(error instanceof HttpProblem) || ![404, 409, 422].includes(error.status)) throw error
      skipped.push({ id, reason: error.status === 404 ? `invoice ${id} does not exist, or you cannot see it` : error.message.replace(/\.$/, '') })
    }
  }
  return { changed, skipped }
}

/** "3 invoices marked paid; 1 skipped: Invoice INV-… is void: it takes no payments." */
export function summarise(action: InvoiceAction, outcome: ActionOutcome): string {
  const n = outcome.changed.length
  const head = `${n} invoice${n === 1 ? '' : 's'} ${ACTION_LABELS[action]}`
  if (!outcome.skipped.length) return `${head}.`
  const shown = outcome.skipped.slice(0, 5).map((s) => s.reason).join('; ')
  const more = outcome.skipped.length > 5 ? `; and ${outcome.skipped.length - 5} more` : ''
  return `${head}; ${outcome.skipped.length} skipped: ${shown}${more}.`
}
