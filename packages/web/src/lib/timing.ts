/**
 * A gate that opens at most once per `intervalMs`: `setTyping` is sent on the first keystroke
 * and then at most every interval while typing goes on (the server throttles too).
 */
export function throttleGate(intervalMs: number, now: () => number = Date.now): () => boolean {
  let last = -Infinity;
  return () => {
    const t = now();
    if (t - last < intervalMs) return false;
    last = t;
    return true;
  };
}

/** Wait before reconnect attempt `attempt` (0-based), ms: 0.5 s doubling up to 5 s, with up to 20 % jitter. */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(500 * 2 ** Math.max(0, attempt), 5_000);
  return Math.round(base * (1 + 0.2 * random()));
}

/** Remembers who typed recently; a person stops "typing" `ttlMs` after their last signal. */
export class TypingTracker {
  readonly #until = new Map<string, { name: string; until: number }>();

  constructor(private readonly ttlMs = 4_000) {}

  /** Records a typing signal; returns the time at which it lapses. */
  seen(userId: string, name: string, at: number): number {
    const until = at + this.ttlMs;
    this.#until.set(userId, { name, until });
    return until;
  }

  /** Someone who sent a message has stopped typing. */
  stopped(userId: string): void {
    this.#until.delete(userId);
  }

  /** Names of the people typing at `now`, in the order they started. */
  active(now: number): string[] {
    const names: string[] = [];
    for (const [id, v] of this.#until) {
      if (v.until > now) names.push(v.name);
      else this.#until.delete(id);
    }
    return names;
  }
}

/** "Ann is typing…", "Ann and Ben are typing…", "Ann, Ben and 2 others are typing…". */
export function describeTyping(names: readonly string[]): string {
  const [a, b, c] = names;
  if (a === undefined) return '';
  if (b === undefined) return `${a} is typing…`;
  if (c === undefined) return `${a} and ${b} are typing…`;
  if (names.length === 3) return `${a}, ${b} and ${c} are typing…`;
  return `${a}, ${b} and ${names.length - 2} others are typing…`;
}
