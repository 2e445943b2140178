import type { ChatMessage } from './messages.js';

/** The room a pin is asked in, and the reader: enough to mirror the server's rule. */
export interface PinAsker {
  kind: 'PUBLIC' | 'DIRECT' | 'GROUP';
  /** The reader's role in a group; null elsewhere, and for a non-member. */
  myRole: 'OWNER' | 'ADMIN' | 'MEMBER' | null;
  /** The reader's site role (`Query.me.role`). */
  siteRole: 'USER' | 'ADMIN' | null;
  /** The reader is a member (a public room's joiner; always true in a direct room they opened). */
  member: boolean;
}

/**
 * Whether the reader may pin and unpin messages here: the server's rule
 * (services/chat/src/pin-rules.ts, "Group OWNER or ADMIN; public rooms: site ADMIN; direct
 * rooms: either member"), used only to decide which controls to show. The server stays the
 * authority: a refusal is shown as it answers it.
 */
export function canPin(a: PinAsker): boolean {
  switch (a.kind) {
    case 'GROUP':
      return a.myRole === 'OWNER' || a.myRole === 'ADMIN';
    case 'DIRECT':
      return a.member;
    case 'PUBLIC':
      return a.siteRole === 'ADMIN';
  }
}

/** Only a VISIBLE message can be pinned (the server answers BAD_USER_INPUT otherwise). */
export const pinnable = (m: Pick<ChatMessage, 'status'>): boolean => m.status === 'VISIBLE';

/** "Pinned (3)": the room header's control. */
export const pinnedLabel = (n: number): string => `Pinned (${n})`;

/**
 * Whether `pinnedMessages` lists a message for this reader: pinned and VISIBLE, or pinned and
 * HIDDEN for a site admin; a deleted one keeps its pin on the server but is not listed.
 */
export function listed(m: Pick<ChatMessage, 'pinned' | 'status'>, siteAdmin: boolean): boolean {
  return (m.pinned ?? false) && (m.status === 'VISIBLE' || (m.status === 'HIDDEN' && siteAdmin));
}

/** What one message's state did to the list. `reread`: its place is unknown, read the list again. */
export type PinChange = 'added' | 'removed' | 'updated' | 'none' | 'reread';

/**
 * A room's pinned messages as the reader sees them, newest pin first (the server's order), kept
 * up to date from the current state of messages (`messageUpdated`, pages, answers), each of which
 * carries `pinned`. A message newly pinned goes first: its pin is the newest. One that comes back
 * into the list still pinned (unhidden, or listed again after the reader could not see it) has an
 * older pin whose place only the server knows: `reread` asks for the list again.
 *
 * A read of the list (`startRead`, then `reset` with the answer) can be older than updates that
 * arrive while it is on the way: those are held and applied again over the answer, so the last
 * word about each message wins. Applied again, a message listed but missing from the answer (its
 * pin came after the read) goes first.
 */
export class PinnedList {
  #items: ChatMessage[] = [];
  /** Pinned messages left out for their status (deleted, or hidden from a non-admin). */
  readonly #dropped = new Set<string>();
  #reads = 0;
  /** The read on the way (its token), whose answer the held updates are applied over. */
  #open: number | null = null;
  #held: ChatMessage[] = [];

  constructor(private readonly siteAdmin: () => boolean) {}

  /** Newest pin first. */
  get items(): readonly ChatMessage[] {
    return this.#items;
  }

  get size(): number {
    return this.#items.length;
  }

  has(id: string): boolean {
    return this.#items.some((m) => m.id === id);
  }

  /** A read of the list is going out: updates from now on are held for its answer. */
  startRead(): number {
    this.#held = [];
    this.#open = ++this.#reads;
    return this.#open;
  }

  /** The read of `token` got no answer: nothing is held for it any more. */
  readFailed(token: number): void {
    if (this.#open !== token) return;
    this.#open = null;
    this.#held = [];
  }

  /**
   * The server's list (`pinnedMessages`, newest pin first). With the token of `startRead`, the
   * updates held since are applied again over it; the answer of a read that a later one
   * replaced is ignored (false).
   */
  reset(ms: readonly ChatMessage[], token?: number): boolean {
    if (token !== undefined && token !== this.#open) return false;
    const admin = this.siteAdmin();
    // Listed by the server: pinned whatever the copy says (a selection without the field).
    this.#items = ms
      .map((m) => (m.pinned === undefined ? { ...m, pinned: true } : m))
      .filter((m) => listed(m, admin));
    this.#dropped.clear();
    if (token === undefined) return true;
    const held = this.#held;
    this.#open = null;
    this.#held = [];
    for (const m of held) this.#apply(m, undefined, true);
    return true;
  }

  /**
   * The current state of a message; `previous` is the reader's copy before it (the log's), if
   * any: a copy already pinned means this is not a new pin.
   */
  apply(m: ChatMessage, previous?: ChatMessage): PinChange {
    if (this.#open !== null && this.#held.length < 1_000) this.#held.push(m);
    return this.#apply(m, previous, false);
  }

  #apply(m: ChatMessage, previous: ChatMessage | undefined, again: boolean): PinChange {
    const at = this.#items.findIndex((x) => x.id === m.id);
    if (listed(m, this.siteAdmin())) {
      if (at >= 0) {
        this.#items = this.#items.map((x, i) => (i === at ? m : x));
        return 'updated';
      }
      const back = this.#dropped.delete(m.id) || (previous?.pinned ?? false);
      if (back && !again) return 'reread';
      this.#items = [m, ...this.#items];
      return 'added';
    }
    if (m.pinned) this.#dropped.add(m.id);
    else this.#dropped.delete(m.id);
    if (at < 0) return 'none';
    this.#items = this.#items.filter((_, i) => i !== at);
    return 'removed';
  }
}

/**
 * The reader's own pin and unpin requests: a mutation's answer is applied unless the room's
 * stream has said something about that message since the request went out. The stream then
 * brings the pin's own update (or a later one), which is at least as new as the answer; an
 * answer applied after a newer update (someone unpinning right after) would show a stale pin.
 */
export class PinRequests {
  readonly #heard = new Map<string, number>();

  /** The stream brought the message's state. */
  heard(id: string): void {
    this.#heard.set(id, (this.#heard.get(id) ?? 0) + 1);
  }

  /** A request about the message goes out: the token to give `fresh` with its answer. */
  sent(id: string): number {
    return this.#heard.get(id) ?? 0;
  }

  /** Whether the answer to the request sent with `token` is still the newest word. */
  fresh(id: string, token: number): boolean {
    return (this.#heard.get(id) ?? 0) === token;
  }
}
