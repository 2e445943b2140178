import type { AppContext } from '../app.js';
import { h } from '../dom.js';
import { describeError } from '../lib/errors.js';
import { bodyParts } from '../lib/mentions.js';
import { displayBody, type ChatMessage, type Person, type Reaction } from '../lib/messages.js';
import { COMMON_EMOJI, describeReactors, withWanted } from '../lib/reactions.js';
import { REACT, UNREACT } from '../queries.js';

/**
 * A message's body: its text as Text nodes, the mentions the server parsed in styled spans
 * around Text nodes (never HTML), a placeholder for hidden and deleted messages.
 */
export function messageBody(m: ChatMessage, me: Person, tag: 'p' | 'span' = 'p'): HTMLElement {
  const shown = displayBody(m);
  if (shown.placeholder) return h(tag, { class: 'body' }, shown.text);
  return h(
    tag,
    { class: 'body' },
    ...bodyParts(shown.text, m.mentions ?? [], m.mentionsRoom ?? false, me.username).map((p) =>
      p.mention
        ? h('span', { class: `mention mention-${p.mention}` }, p.text)
        : document.createTextNode(p.text),
    ),
  );
}

/** Where a message is shown: the room's log, or the thread panel (a root is in both). */
export type Place = 'log' | 'thread';

/** The selector of a message's element in one place (elements carry data-place, data-message). */
export function where(place: Place, id: string): string {
  return `[data-place="${place}"][data-message="${CSS.escape(id)}"]`;
}

/** A settled toggle's state is re-read when no update has shown it within this, ms (4 s). */
const SETTLE_MS = 4_000;

interface Wanted {
  want: boolean;
  /** The request has been answered (with success): only the server's state is awaited. */
  settled: boolean;
}

export interface ReactionDeps {
  ctx: AppContext;
  /** Whether the reader may react here (a member: reacting is posting). */
  canReact: () => boolean;
  /** The message's current state, as the view holds it. */
  current: (id: string) => ChatMessage | undefined;
  /** Re-render the message wherever it is shown. */
  changed: (m: ChatMessage) => void;
  /** Read the message again from the server and apply it (a toggle no update has confirmed). */
  reread: (m: ChatMessage) => Promise<void>;
  error: (text: string) => void;
}

/**
 * The reaction bar of each message and the reader's toggles. The server's state (the message as
 * the room's pages and `messageUpdated` carry it, coalesced: the latest is applied as it is) is
 * what is shown, with the reader's own toggles on top while they are on the way: a mutation's
 * answer is not applied, since it can be older than an update that came before it. A toggle
 * stays on top until the server's state shows it (or, when no update does in SETTLE_MS, until
 * the message has been read again). Toggles of one emoji on one message go out one after another.
 */
export class Reactions {
  readonly #wanted = new Map<string, Map<string, Wanted>>();
  readonly #chains = new Map<string, Promise<void>>();
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** The picker open, as `place id` (a root shows in the log and in its thread panel). */
  #picking: { place: Place; id: string } | null = null;
  #closed = false;
  readonly #onDocumentDown = (ev: Event) => {
    if (!this.#picking) return;
    const t = ev.target as Element | null;
    if (t?.closest?.('.reaction-picker, [data-key="react"]')) return;
    this.#closePicker();
  };

  constructor(private readonly deps: ReactionDeps) {
    document.addEventListener('pointerdown', this.#onDocumentDown);
  }

  /** What the bar shows for `m`: the server's reactions with the reader's toggles on top. */
  shown(m: ChatMessage) {
    const wanted = this.#wanted.get(m.id);
    const base = m.reactions ?? [];
    if (!wanted?.size) return base;
    return withWanted(base, new Map([...wanted].map(([e, w]) => [e, w.want])));
  }

  /** The server's state of `m` has changed: toggles it now shows are no longer needed on top. */
  serverChanged(m: ChatMessage): void {
    const wanted = this.#wanted.get(m.id);
    if (!wanted) return;
    for (const [emoji, w] of wanted) {
      const mine = m.reactions?.find((r) => r.emoji === emoji)?.reactedByMe ?? false;
      if (w.settled && mine === w.want) wanted.delete(emoji);
    }
    if (!wanted.size) this.#drop(m.id);
  }

  /** The message was read again after its toggles settled: that state is newer than them. */
  reread(m: ChatMessage): void {
    const wanted = this.#wanted.get(m.id);
    if (!wanted) return;
    for (const [emoji, w] of wanted) if (w.settled) wanted.delete(emoji);
    if (!wanted.size) this.#drop(m.id);
  }

  /** The bar under a message: its reactions, most used first; null when it has none. */
  bar(m: ChatMessage, me: string, place: Place): HTMLElement | null {
    if (m.status !== 'VISIBLE') return null;
    const reactions = this.shown(m);
    const picker = this.#isPicking(m.id, place) ? this.#picker(m, place) : null;
    if (!reactions.length && !picker) return null;
    const can = this.deps.canReact();
    return h(
      'div',
      { class: 'reactions', attrs: { role: 'group', 'aria-label': 'Reactions' } },
      ...reactions.map((r) => {
        const who = describeReactors(r, me);
        return h(
          'button',
          {
            type: 'button',
            class: `reaction${r.reactedByMe ? ' mine' : ''}`,
            title: who,
            disabled: !can,
            attrs: {
              'aria-pressed': String(r.reactedByMe),
              'aria-label': `${r.emoji} ${r.count}: ${who}`,
              'data-emoji': r.emoji,
              'data-key': `reaction-${r.emoji}`,
            },
            on: { click: () => this.toggle(m.id, r.emoji) },
          },
          h('span', { class: 'emoji', attrs: { 'aria-hidden': 'true' } }, r.emoji),
          h('span', { class: 'count', attrs: { 'aria-hidden': 'true' } }, r.count),
        );
      }),
      picker,
    );
  }

  /** The "React" button of a message's actions: opens the picker under it. */
  trigger(m: ChatMessage, place: Place): HTMLElement | null {
    if (m.status !== 'VISIBLE' || !this.deps.canReact()) return null;
    const open = this.#isPicking(m.id, place);
    return h(
      'button',
      {
        type: 'button',
        class: 'btn tiny',
        attrs: {
          'data-action': 'react',
          'data-key': 'react',
          'aria-expanded': String(open),
          'aria-label': 'Add a reaction',
        },
        on: {
          click: () => {
            const before = this.#picking;
            this.#picking = open ? null : { place, id: m.id };
            const other = before && before.id !== m.id ? this.deps.current(before.id) : undefined;
            if (other) this.deps.changed(other);
            this.deps.changed(m);
            if (!open)
              queueMicrotask(() =>
                document
                  .querySelector<HTMLButtonElement>(`${where(place, m.id)} .reaction-picker button`)
                  ?.focus(),
              );
          },
        },
      },
      'React',
    );
  }

  /** Toggles the reader's own reaction: what the bar shows now decides react or unreact. */
  toggle(id: string, emoji: string): void {
    const m = this.deps.current(id);
    if (!m || this.#closed) return;
    const mine = this.shown(m).find((r) => r.emoji === emoji)?.reactedByMe ?? false;
    const w: Wanted = { want: !mine, settled: false };
    let wanted = this.#wanted.get(id);
    if (!wanted) this.#wanted.set(id, (wanted = new Map<string, Wanted>()));
    wanted.set(emoji, w);
    this.deps.changed(m);
    const key = `${id}\n${emoji}`;
    const run = (this.#chains.get(key) ?? Promise.resolve()).then(() => this.#send(id, emoji, w));
    this.#chains.set(key, run);
    void run.finally(() => {
      if (this.#chains.get(key) === run) this.#chains.delete(key);
    });
  }

  destroy(): void {
    this.#closed = true;
    document.removeEventListener('pointerdown', this.#onDocumentDown);
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  async #send(id: string, emoji: string, w: Wanted): Promise<void> {
    try {
      await this.deps.ctx.api.request(w.want ? REACT : UNREACT, { id, emoji });
      if (this.#closed) return;
      w.settled = true;
      const m = this.deps.current(id);
      if (!m) return;
      this.serverChanged(m);
      if (this.#wanted.get(id)?.get(emoji) === w) this.#settleLater(id);
    } catch (e) {
      if (this.#closed) return;
      const wanted = this.#wanted.get(id);
      if (wanted?.get(emoji) === w) wanted.delete(emoji);
      if (wanted && !wanted.size) this.#drop(id);
      this.deps.error(describeError(e));
      const m = this.deps.current(id);
      if (m) this.deps.changed(m);
    }
  }

  /** No update has shown a settled toggle yet: read the message again if none does soon. */
  #settleLater(id: string): void {
    if (this.#timers.has(id)) return;
    this.#timers.set(
      id,
      setTimeout(() => {
        this.#timers.delete(id);
        const m = this.deps.current(id);
        if (!m || this.#closed || !this.#wanted.has(id)) return;
        this.deps.reread(m).catch(() => undefined);
      }, SETTLE_MS),
    );
  }

  #drop(id: string): void {
    this.#wanted.delete(id);
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
  }

  #isPicking(id: string, place: Place): boolean {
    return this.#picking?.id === id && this.#picking.place === place;
  }

  #picker(m: ChatMessage, place: Place): HTMLElement {
    const shown = this.shown(m);
    return h(
      'div',
      {
        class: 'reaction-picker',
        attrs: { role: 'group', 'aria-label': 'Pick a reaction' },
        on: {
          keydown: (ev) => {
            if (ev.key !== 'Escape') return;
            ev.preventDefault();
            ev.stopPropagation();
            this.#closePicker(place);
          },
        },
      },
      ...COMMON_EMOJI.map((emoji) => {
        const mine = shown.find((r) => r.emoji === emoji)?.reactedByMe ?? false;
        return h(
          'button',
          {
            type: 'button',
            class: `pick${mine ? ' mine' : ''}`,
            attrs: {
              'aria-pressed': String(mine),
              'aria-label': mine ? `Take back ${emoji}` : `React with ${emoji}`,
              'data-emoji': emoji,
              'data-key': `pick-${emoji}`,
            },
            on: {
              click: () => {
                this.#picking = null;
                this.toggle(m.id, emoji);
              },
            },
          },
          emoji,
        );
      }),
    );
  }

  /** Closes the picker; with `refocus` (Escape), focus goes back to the React button under it. */
  #closePicker(refocus?: Place): void {
    const open = this.#picking;
    this.#picking = null;
    const m = open ? this.deps.current(open.id) : undefined;
    if (!m) return;
    this.deps.changed(m);
    if (refocus)
      document
        .querySelector<HTMLButtonElement>(`${where(refocus, m.id)} [data-key="react"]`)
        ?.focus();
  }
}

/** A message as `messageAdded` gives it: reactions without the per-viewer `reactedByMe`. */
export type AddedMessage = Omit<ChatMessage, 'reactions'> & {
  reactions?: Omit<Reaction, 'reactedByMe'>[];
};

/** A message of `messageAdded` with `reactedByMe` from the reactors it names. */
export function withReactedByMe(m: AddedMessage, me: string): ChatMessage {
  const { reactions, ...rest } = m;
  const out: ChatMessage = rest;
  if (reactions)
    out.reactions = reactions.map((r) => ({ ...r, reactedByMe: r.users.some((u) => u.id === me) }));
  return out;
}
