/**
 * A seeded pseudo-random generator for the data generator: the same seed gives the same sequence
 * on every machine, so generated data is reproducible. Never `Math.random`.
 *
 * @example
 * const rng = new Random(42).fork('subscriptions')
 * rng.int(1, 3)      // 1, 2 or 3, the same every run
 */

/** FNV-1a over the text: a 32-bit seed from a label, so forks of one seed are independent streams. */
export function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

/** sfc32 (Chris Doty-Humphrey's small fast counter): 128 bits of state, good enough for test data. */
export class Random {
  readonly seed: number
  #a: number
  #b: number
  #c: number
  #d: number

  constructor(seed: number) {
    this.seed = seed >>> 0
    this.#a = 0x9e3779b9
    this.#b = 0x243f6a88
    this.#c = 0xb7e15162
    this.#d = this.seed
    // Discard the first outputs: they still look like the seed.
    for (let i = 0; i < 12; i++) this.next32()
  }

  /** An independent generator for one concern: adding draws in one place does not shift another. */
  fork(label: string | number): Random {
    return new Random(hash32(`${this.seed}:${label}`))
  }

  next32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0
    this.#d = (this.#d + 1) >>> 0
    this.#a = this.#b ^ (this.#b >>> 9)
    this.#b = (this.#c + (this.#c << 3)) >>> 0
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0
    this.#c = (this.#c + t) >>> 0
    return t
  }

  /** In [0, 1). */
  next(): number {
    return this.next32() / 4294967296
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  chance(probability: number): boolean {
    return this.next() < probability
  }

  pick<T>(items: readonly T[]): T {
    if (!items.length) throw new RangeError('pick from an empty list')
    return items[Math.floor(this.next() * items.length)]!
  }

  /** One of `items` with the given relative weights. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((sum, [, w]) => sum + w, 0)
    let r = this.next() * total
    for (const [item, w] of items) {
      if ((r -= w) < 0) return item
    }
    return items[items.length - 1]![0]
  }
}
