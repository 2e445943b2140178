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
 * throws or does not finish within `timeoutMs`.
 */
export async function reach<T>(
  dependency: string,
  target: string,
  timeoutMs: number,
  connect: () => Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (e) {
    throw new DependencyUnavailableError(dependency, target, e);
  } finally {
    clearTimeout(timer);
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
