/**
 * Shared types of the cross-tenant matrix (test/http/cross-tenant.test.ts). Each area of the app
 * classifies its routes in its own file here (`routes`), and says how to make the entity a `:id`
 * names for a given organisation (`params`), so areas can grow without touching one big table.
 */
import type { Kysely } from 'kysely'
import type { Database } from '../../../core/db/schema.ts'
import type { Tree } from '../fixture.ts'

export type OrgKey = keyof Tree
export type TargetKind = 'own' | 'sibling' | 'parent' | 'child'
export type ActorKey = 'operator' | 'resellerA' | 'resellerB' | 'customerA' | 'auditor' | 'custom'

export interface Case {
  readonly actor: ActorKey
  readonly target: TargetKind | 'none'
}

export interface RouteSpec {
  /** The entity the `:id` in the path names, taken from the target organisation (a key of some area's `params`). */
  readonly param?: string
  /** Make a new entity for each case (the request changes or removes it). */
  readonly fresh?: boolean
  /** The permission the route's guard checks; undefined: any signed-in user. */
  readonly needs?: readonly [action: string, subject: string]
  /** Public routes answer the same to everyone. */
  readonly public?: boolean
  /** Body for unsafe methods: form fields, or JSON for /api. */
  readonly body?: Record<string, unknown>
  /** Status when the actor may use the route and the target is in scope. */
  readonly ok: number | readonly number[] | ((c: Case) => number | readonly number[])
  /**
   * Statuses for a permitted actor on a sibling or parent target; default 404. Shared rows (the
   * catalog) are readable from below, so their GET routes say `[200]` here.
   */
  readonly outside?: (c: Case) => number | readonly number[]
  /** Query string to add. */
  readonly query?: string
  /**
   * A concrete path to request instead of the pattern, for a `:id` that is not an organisation's
   * entity (a report id such as `organisations.accounts`).
   */
  readonly path?: string
}

export interface ParamContext {
  readonly db: Kysely<Database>
  readonly tree: Tree
  /** The organisation the entity must belong to. */
  readonly org: OrgKey
  /** A new entity is wanted (the request changes or removes it); else a stable one may be reused. */
  readonly fresh: boolean
  /** A number unique to this call, for unique names. */
  readonly sequence: number
}

export type ParamMaker = (ctx: ParamContext) => Promise<number>

/** What an area adds to the matrix. `setup` runs once after the tree and its members exist. */
export interface MatrixArea {
  readonly routes: Readonly<Record<string, RouteSpec>>
  readonly params?: Readonly<Record<string, ParamMaker>>
  readonly setup?: (db: Kysely<Database>, tree: Tree) => Promise<void>
  /** Strings naming an organisation's entities that must never reach actors outside its subtree. */
  readonly secrets?: (org: OrgKey, tree: Tree) => readonly string[]
}
