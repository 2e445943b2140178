/** Formats message times as a chat shows them: just the time today, more context further back. */
export interface TimeFormatOptions {
  /** BCP 47 locale; the browser's when undefined. */
  locale?: string;
  /** IANA time zone; the browser's when undefined (tests pin it). */
  timeZone?: string;
}

const DAY_MS = 86_400_000; // 24 h

function parts(date: Date, o: TimeFormatOptions): { y: number; m: number; d: number } {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone: o.timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
  const [y, m, d] = f.format(date).split('-').map(Number);
  return { y: y ?? 0, m: m ?? 0, d: d ?? 0 };
}

function sameDay(a: Date, b: Date, o: TimeFormatOptions): boolean {
  const x = parts(a, o);
  const y = parts(b, o);
  return x.y === y.y && x.m === y.m && x.d === y.d;
}

/**
 * "14:05" today, "Yesterday 14:05", "12 Mar, 14:05" this year, "12 Mar 2024, 14:05" before.
 * An unparseable timestamp gives ''.
 */
export function formatMessageTime(iso: string, now: Date, o: TimeFormatOptions = {}): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const base = { timeZone: o.timeZone } as const;
  const time = new Intl.DateTimeFormat(o.locale, {
    ...base,
    hour: '2-digit',
    minute: '2-digit',
  }).format(date);
  if (sameDay(date, now, o)) return time;
  if (sameDay(date, new Date(now.getTime() - DAY_MS), o)) return `Yesterday ${time}`;
  const withYear = parts(date, o).y !== parts(now, o).y;
  const day = new Intl.DateTimeFormat(o.locale, {
    ...base,
    day: 'numeric',
    month: 'short',
    ...(withYear ? { year: 'numeric' } : {}),
  }).format(date);
  return `${day}, ${time}`;
}

/** The full date and time, for a tooltip: "Tuesday, 12 March 2024 at 14:05:09". */
export function formatFullTime(iso: string, o: TimeFormatOptions = {}): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return new Intl.DateTimeFormat(o.locale, {
    timeZone: o.timeZone,
    dateStyle: 'full',
    timeStyle: 'medium',
  }).format(date);
}
