/** Raised when a dependency cannot be reached at start; main prints its one-line message and exits 1. */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly dependency: string,
    readonly target: string,
    cause: unknown,
  ) {
    super(
      `cannot reach ${dependency} at ${target}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'DependencyUnavailableError';
  }
}

/**
 * Runs `connect` and fails with a DependencyUnavailableError naming the dependency when it
 * throws or does not finish within `timeoutMs`. With `retry`, a `connect` that throws is run
 * again (after 250 ms, doubling to 2 s) until `timeoutMs` has passed: for a dependency that may
 * be starting at the same moment (a service restarted while Kafka restarts), where `connect`
 * is safe to repeat.
 */
export async function reach<T>(
  dependency: string,
  target: string,
  timeoutMs: number,
  connect: () => Promise<T>,
  opts: { retry?: boolean } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 250; ; delay = Math.min(2_000, delay * 2)) {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        connect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), Math.max(0, deadline - Date.now()));
        }),
      ]);
    } catch (e) {
      if (!opts.retry || Date.now() + delay >= deadline) throw new DependencyUnavailableError(dependency, target, e);
    } finally {
      clearTimeout(timer);
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Redacts the password of a URL for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}
