/** Body of a benchmark message: the send time for latency, padded to `bytes`. */
export function stamped(bytes: number): string {
  const head = `${Date.now()}|`;
  return head + 'x'.repeat(Math.max(0, bytes - head.length));
}

/** Calls `fire` at `rate` per second for `seconds`, in 10 ms ticks (no drift accumulation). */
export async function paced(rate: number, seconds: number, fire: (i: number) => void): Promise<number> {
  const total = Math.round(rate * seconds);
  const t0 = Date.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * rate) + 1);
    while (sent < due) fire(sent++);
    await new Promise((r) => setTimeout(r, 10));
  }
  return sent;
}
