/**
 * One subscriber's stream, as small as it can be: a queue that exists only while values wait,
 * one pending pull at most, and the producer's cleanup. It replaces a Repeater per
 * subscription (whose executor stays suspended for the stream's whole life, with its own
 * promises and closures): tens of thousands of idle subscriptions each hold one of these.
 *
 * The producer (`setup`) runs on the first pull, as a Repeater's executor does, so that a
 * consumer can set `handoff` before anything is delivered. It resolves with the cleanup to run
 * when the stream ends, however it ends (`return`, `finish`, a failed setup).
 */
export class LiveStream<T> implements AsyncIterableIterator<T> {
  /** A consumer that takes values directly (see room-hub.ts' Handoff); set before the first pull. */
  handoff: ((value: T) => void) | undefined = undefined;
  private queue: T[] | undefined = undefined;
  private pull: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined = undefined;
  private drain: (() => void) | undefined = undefined;
  private state: 'idle' | 'starting' | 'running' | 'ended' = 'idle';
  private error: Error | undefined = undefined;
  private started: Promise<void> | undefined = undefined;
  private cleanup: (() => Promise<void>) | undefined = undefined;
  private cleaned: Promise<void> | undefined = undefined;

  constructor(private readonly setup: (stream: LiveStream<T>) => Promise<() => Promise<void>>) {}

  /** Values pushed and not pulled yet. */
  get pending(): number {
    return this.queue?.length ?? 0;
  }

  /**
   * True while the consumer waits in `next()` with nothing queued: it has handled every value it
   * pulled (it asked for the next one), so a value handed to it directly now cannot overtake
   * one it is still handling. `pending === 0` is not that: a value just pulled may still be
   * rendering (the hub's Handoff relies on this; see room-hub.ts).
   */
  get waiting(): boolean {
    return this.pull !== undefined;
  }

  /** True once the stream ended (nothing pushed now is delivered). */
  get closed(): boolean {
    return this.state === 'ended';
  }

  /** Delivers a value to the waiting pull, or queues it. */
  push(value: T): void {
    if (this.state === 'ended') return;
    const p = this.pull;
    if (p) {
      this.pull = undefined;
      p.resolve({ done: false, value });
      return;
    }
    (this.queue ??= []).push(value);
  }

  /** Resolves once every queued value was pulled (or the stream ended): a producer's backpressure. */
  drained(): Promise<void> {
    if (this.pending === 0 || this.state === 'ended') return Promise.resolve();
    return new Promise((resolve) => (this.drain = resolve));
  }

  /** The producer ends the stream: what is queued is still delivered, then done. */
  finish(): void {
    if (this.state === 'ended') return;
    this.end();
  }

  next(): Promise<IteratorResult<T>> {
    const q = this.queue;
    if (q && q.length > 0) {
      const value = q.shift() as T;
      if (q.length === 0) {
        this.queue = undefined;
        this.releaseDrain();
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.error !== undefined) {
      const e = this.error;
      this.error = undefined;
      return Promise.reject(e);
    }
    if (this.state === 'ended') return Promise.resolve({ done: true, value: undefined });
    if (this.state === 'idle') this.start();
    return new Promise((resolve, reject) => (this.pull = { resolve, reject }));
  }

  /** The consumer ends the stream; resolves once the producer's cleanup ran. */
  async return(): Promise<IteratorResult<T>> {
    this.queue = undefined;
    if (this.state !== 'ended') this.end();
    await this.started;
    await this.cleaned;
    return { done: true, value: undefined };
  }

  async throw(e: unknown): Promise<IteratorResult<T>> {
    await this.return();
    throw e instanceof Error ? e : new Error('stream thrown into', { cause: e });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private start(): void {
    this.state = 'starting';
    this.started = this.setup(this).then(
      (cleanup) => {
        this.cleanup = cleanup;
        if (this.state === 'ended') this.runCleanup();
        else this.state = 'running';
      },
      (e: unknown) => {
        // Set-up failed (it cleaned up after itself): the waiting pull gets the error.
        const err = e instanceof Error ? e : new Error('the stream could not start', { cause: e });
        const p = this.pull;
        this.pull = undefined;
        this.state = 'ended';
        if (p) p.reject(err);
        else this.error = err;
      },
    );
  }

  private end(): void {
    const wasRunning = this.state === 'running';
    this.state = 'ended';
    this.releaseDrain();
    // A pull waits only when nothing is queued: it ends now.
    const p = this.pull;
    this.pull = undefined;
    p?.resolve({ done: true, value: undefined });
    // Starting: the cleanup runs once the set-up is done (start() sees the state).
    if (wasRunning) this.runCleanup();
  }

  private runCleanup(): void {
    const c = this.cleanup;
    this.cleanup = undefined;
    if (c) this.cleaned = c();
  }

  private releaseDrain(): void {
    const d = this.drain;
    this.drain = undefined;
    d?.();
  }
}
