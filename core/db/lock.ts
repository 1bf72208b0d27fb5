/**
 * A first-come, first-served mutex. The embedded database has one connection: the Kysely driver
 * and pg-boss both take this lock, so a job enqueued by pg-boss never lands inside an unrelated
 * transaction that happens to be open on that connection.
 */
export class Mutex {
  #tail: Promise<void> = Promise.resolve()

  /** Waits for the lock; call the returned function exactly once to release it. */
  async acquire(): Promise<() => void> {
    let release!: () => void
    const mine = new Promise<void>((resolve) => { release = resolve })
    const previous = this.#tail
    this.#tail = previous.then(() => mine)
    await previous
    let released = false
    return () => {
      if (released) return
      released = true
      release()
    }
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire()
    try {
      return await fn()
    } finally {
      release()
    }
  }
}
