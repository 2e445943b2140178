/**
 * Runs tasks of one key one after another, tasks of different keys concurrently. The chat
 * worker serializes each room's writes with it, so sequence conflicts only happen between
 * processes.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** Keys with a task queued or running. */
  get size(): number {
    return this.tails.size;
  }
}

/** Runs a task while holding a lock on one key (a document), across whatever scope it spans. */
export interface DocLocks {
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
}

/** Locks that hold within this process only. */
export class LocalLocks implements DocLocks {
  private readonly mutex = new KeyedMutex();
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    return this.mutex.run(key, task);
  }
}

/** No locking: for servers whose single-document updates are atomic (real MongoDB). */
export class NoLocks implements DocLocks {
  run<T>(_key: string, task: () => Promise<T>): Promise<T> {
    return task();
  }
}
