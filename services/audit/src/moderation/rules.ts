import { z } from 'zod';
import { blockedDomain, findLinks } from './links.js';
import { termMatcher, type TermMatcher } from './terms.js';
import { skeleton } from './text.js';

/**
 * The moderation rules: their configuration (the rules file's schema) and the engine that
 * applies them to messages. Pure: no I/O, the clock comes in with each message.
 */

const ruleId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'a rule id is 1-64 of a-z 0-9 _ . - (it is stored with every action)');

export const RuleActionSpec = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('hide') }).strict(),
  z.object({ kind: z.literal('flag') }).strict(),
  z
    .object({
      kind: z.literal('mute'),
      /** `room`: in the room of the message; `everywhere`: in every room. */
      scope: z.enum(['room', 'everywhere']).default('room'),
      /** Fractions allowed (0.5 = 30 s); at most a year. */
      minutes: z.number().positive().max(525_600),
    })
    .strict(),
]);
export type RuleActionSpec = z.infer<typeof RuleActionSpec>;

const terms = z.array(z.string().min(1).max(200)).max(10_000).default([]);

export const RuleSpec = z.discriminatedUnion('type', [
  z
    .object({
      id: ruleId,
      type: z.literal('banned-words'),
      /** Words and phrases, any language; matched as whole words, dodges included (see terms.ts). */
      words: terms,
      phrases: terms,
      action: RuleActionSpec,
    })
    .strict()
    .refine((r) => r.words.length + r.phrases.length > 0, { message: 'give at least one word or phrase', path: ['words'] }),
  z
    .object({
      id: ruleId,
      type: z.literal('links'),
      /** More links than this in one message fires the rule. */
      maxLinks: z.number().int().min(0).max(1_000).default(3),
      /** Any link to these domains (or their subdomains) fires the rule. */
      blockedDomains: z.array(z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'a domain like example.com')).default([]),
      action: RuleActionSpec,
    })
    .strict(),
  z
    .object({
      id: ruleId,
      type: z.literal('flood'),
      /** More messages than this by one person in one room within the window fires the rule. */
      maxMessages: z.number().int().min(1).max(10_000),
      windowSeconds: z.number().positive().max(86_400),
      action: RuleActionSpec,
    })
    .strict(),
  z
    .object({
      id: ruleId,
      type: z.literal('repetition'),
      /** The same text (folded: case, accents, spacing, repeats) more often than this within the window fires the rule. */
      maxRepeats: z.number().int().min(1).max(10_000),
      windowSeconds: z.number().positive().max(86_400),
      action: RuleActionSpec,
    })
    .strict(),
]);
export type RuleSpec = z.infer<typeof RuleSpec>;

export const RulesFile = z
  .object({
    version: z.literal(1),
    /**
     * Events older than this (by their `occurredAt`) are not moderated, seconds (300): a consumer
     * catching up after downtime must not punish what is long past.
     */
    maxEventAgeSeconds: z.number().positive().default(300),
    /** Authors with the ADMIN role are not moderated (true). */
    exemptAdmins: z.boolean().default(true),
    rules: z.array(RuleSpec),
  })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.rules.forEach((r, i) => {
      if (seen.has(r.id)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `rule id "${r.id}" is used twice` });
      seen.add(r.id);
    });
  });
export type RulesFile = z.infer<typeof RulesFile>;

/** One message as the rules see it. */
export interface MessageFacts {
  /** The domain event's id (a redelivered event is not counted twice). */
  eventId: string;
  /** `posted` counts toward flooding and repetition; `edited` is only checked for words and links. */
  kind: 'posted' | 'edited';
  messageId: string;
  room: string;
  authorId: string;
  authorRole: 'USER' | 'ADMIN';
  body: string;
  /** When it was sent, ms since the epoch (event time: replays decide the same way). */
  at: number;
}

/** A rule fired: what it wants done and why. */
export interface Decision {
  rule: string;
  action: RuleActionSpec;
  /** Said to moderators and, for mutes, to the person. */
  reason: string;
}

interface Stamp {
  at: number;
  eventId: string;
}

/**
 * Recent messages per (room, author), for flooding and repetition. The audit service's
 * consumers form a Kafka group and events are keyed by room, so every event of a room reaches
 * the one consumer that owns the room's partition: this per-room state is complete for the
 * rooms a process owns, and needs no sharing. After a rebalance, the new owner starts with an
 * empty window for the rooms it took over (a flood in progress is seen a window later).
 */
class Windows {
  private readonly byKey = new Map<string, Stamp[]>();

  /** Adds a stamp unless its event is already in (a redelivery); returns the stamps within `windowMs` of it. */
  add(key: string, stamp: Stamp, windowMs: number): Stamp[] {
    const kept = (this.byKey.get(key) ?? []).filter((s) => s.at > stamp.at - windowMs);
    if (!kept.some((s) => s.eventId === stamp.eventId)) kept.push(stamp);
    this.byKey.set(key, kept);
    return kept;
  }

  reset(key: string): void {
    this.byKey.delete(key);
  }

  /** Drops stamps older than `windowMs` before `now` everywhere (bounded memory). */
  prune(now: number, windowMs: number): void {
    for (const [k, v] of this.byKey) {
      const kept = v.filter((s) => s.at > now - windowMs);
      if (kept.length === 0) this.byKey.delete(k);
      else this.byKey.set(k, kept);
    }
  }

  get size(): number {
    return this.byKey.size;
  }
}

type Compiled =
  | { type: 'banned-words'; spec: Extract<RuleSpec, { type: 'banned-words' }>; matcher: TermMatcher }
  | { type: 'links'; spec: Extract<RuleSpec, { type: 'links' }> }
  | { type: 'flood'; spec: Extract<RuleSpec, { type: 'flood' }>; windows: Windows }
  | { type: 'repetition'; spec: Extract<RuleSpec, { type: 'repetition' }>; windows: Windows };

/** How many evaluations between two sweeps of old window state. */
const PRUNE_EVERY = 1_000;

/** Applies the rules of a rules file to messages, remembering what flooding and repetition need. */
export class ModerationEngine {
  private readonly rules: Compiled[];
  private evaluations = 0;
  private readonly maxWindowMs: number;

  constructor(readonly config: RulesFile) {
    this.rules = config.rules.map((spec): Compiled => {
      switch (spec.type) {
        case 'banned-words':
          return { type: spec.type, spec, matcher: termMatcher([...spec.words, ...spec.phrases]) };
        case 'links':
          return { type: spec.type, spec };
        case 'flood':
          return { type: spec.type, spec, windows: new Windows() };
        case 'repetition':
          return { type: spec.type, spec, windows: new Windows() };
      }
    });
    this.maxWindowMs = Math.max(0, ...config.rules.map((r) => ('windowSeconds' in r ? r.windowSeconds * 1_000 : 0)));
  }

  /** Whether an event this old (ms) is still moderated. */
  isFresh(at: number, now: number): boolean {
    return now - at <= this.config.maxEventAgeSeconds * 1_000;
  }

  /** The decisions of every rule that fires on this message, in rule order. */
  evaluate(m: MessageFacts): Decision[] {
    if (this.config.exemptAdmins && m.authorRole === 'ADMIN') return [];
    if (++this.evaluations % PRUNE_EVERY === 0) this.prune(m.at);
    const out: Decision[] = [];
    for (const r of this.rules) {
      const reason = this.check(r, m);
      if (reason) out.push({ rule: r.spec.id, action: r.spec.action, reason });
    }
    return out;
  }

  private check(r: Compiled, m: MessageFacts): string | undefined {
    switch (r.type) {
      case 'banned-words': {
        const term = r.matcher.find(m.body);
        return term ? `banned term "${term}"` : undefined;
      }
      case 'links': {
        const hosts = findLinks(m.body);
        for (const h of hosts) {
          const d = blockedDomain(h, r.spec.blockedDomains);
          if (d) return `link to the blocked domain ${d}`;
        }
        return hosts.length > r.spec.maxLinks ? `${hosts.length} links in one message (at most ${r.spec.maxLinks})` : undefined;
      }
      case 'flood': {
        if (m.kind !== 'posted') return undefined;
        const key = `${m.room}\u0000${m.authorId}`;
        const recent = r.windows.add(key, { at: m.at, eventId: m.eventId }, r.spec.windowSeconds * 1_000);
        if (recent.length <= r.spec.maxMessages) return undefined;
        // After a mute, start counting afresh: the burst already in flight must not mute again.
        if (r.spec.action.kind === 'mute') r.windows.reset(key);
        return `${recent.length} messages in ${r.spec.windowSeconds} s (at most ${r.spec.maxMessages})`;
      }
      case 'repetition': {
        if (m.kind !== 'posted') return undefined;
        const text = skeleton(m.body);
        if (text.length === 0) return undefined;
        const key = `${m.room}\u0000${m.authorId}\u0000${text}`;
        const same = r.windows.add(key, { at: m.at, eventId: m.eventId }, r.spec.windowSeconds * 1_000);
        if (same.length <= r.spec.maxRepeats) return undefined;
        if (r.spec.action.kind === 'mute') r.windows.reset(key);
        return `the same text ${same.length} times in ${r.spec.windowSeconds} s (at most ${r.spec.maxRepeats})`;
      }
    }
  }

  private prune(now: number): void {
    for (const r of this.rules) if ('windows' in r) r.windows.prune(now, this.maxWindowMs);
  }

  /** Keys held for flooding and repetition (for tests and metrics). */
  get stateSize(): number {
    let n = 0;
    for (const r of this.rules) if ('windows' in r) n += r.windows.size;
    return n;
  }
}
