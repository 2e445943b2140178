import type { InboxEvent, InboxRoom } from '../queries.js';

interface Entry {
  room: InboxRoom;
  /** When the room last saw activity, ms since the epoch: the list's order, newest first. */
  activeAt: number;
}

const time = (iso: string | undefined | null): number => {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? 0 : t;
};

/**
 * A person's room list as the `inbox` query and the `inbox` stream describe it (pure). Every
 * event carries the room's whole state for the person, never a delta, so the last one received
 * for a room is its current state. After a (re)connect the schema's procedure makes it exact:
 * subscribe first, then read the pages (`beginRead` … `finishRead`), apply them, then every event
 * received since the read began, in order; the events that came during the read are held back
 * until then (an event older than the pages would otherwise be overwritten by them, or a newer
 * one undone).
 */
export class InboxState {
  readonly #rooms = new Map<string, Entry>();
  #held: InboxEvent[] | null = null;
  #loaded = false;
  #sorted: InboxRoom[] | null = [];

  /** True once a read has completed: the list is the person's whole list. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** A read of the pages starts: events are held back from now until it ends. */
  beginRead(): void {
    // A read started while another was under way: the events since the first one still count.
    this.#held ??= [];
  }

  /** The pages read (in order, all of them): they replace the list, then the held events apply. */
  finishRead(rooms: readonly InboxRoom[]): void {
    this.#rooms.clear();
    for (const room of rooms) this.#rooms.set(room.id, { room, activeAt: activity(room, null) });
    this.#loaded = true;
    this.#replayHeld();
  }

  /** The read failed: the held events apply to the list as it was. */
  abortRead(): void {
    this.#replayHeld();
  }

  /** Applies an event now, or holds it while a read is under way. True when the list changed. */
  apply(e: InboxEvent): boolean {
    if (this.#held) {
      this.#held.push(e);
      return false;
    }
    this.#applyNow(e);
    return true;
  }

  has(id: string): boolean {
    return this.#rooms.has(id);
  }

  get(id: string): InboxRoom | undefined {
    return this.#rooms.get(id)?.room;
  }

  /** The rooms, most recent activity first. */
  rooms(): InboxRoom[] {
    this.#sorted ??= [...this.#rooms.values()]
      .sort((a, b) => b.activeAt - a.activeAt || a.room.name.localeCompare(b.room.name))
      .map((e) => e.room);
    return this.#sorted;
  }

  /** Unread messages and mentions over every room, or every room but `except`. */
  totals(except?: string): { unread: number; mentions: number } {
    let unread = 0;
    let mentions = 0;
    for (const [id, e] of this.#rooms) {
      if (id === except) continue;
      unread += e.room.unread;
      mentions += e.room.mentions;
    }
    return { unread, mentions };
  }

  #replayHeld(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const e of held) this.#applyNow(e);
    this.#sorted = null;
  }

  #applyNow(e: InboxEvent): void {
    this.#sorted = null;
    if (e.kind === 'REMOVED') {
      this.#rooms.delete(e.room.id);
      return;
    }
    const old = this.#rooms.get(e.room.id);
    // Activity never goes back: a deleted newest message leaves the room where it was.
    const activeAt = Math.max(old?.activeAt ?? 0, activity(e.room, e.message));
    this.#rooms.set(e.room.id, { room: e.room, activeAt });
  }
}

/** The newest of: the event's message, the room's last visible message, the room's creation. */
function activity(room: InboxRoom, message: InboxEvent['message']): number {
  return Math.max(
    time(message?.createdAt),
    time(room.lastMessage?.createdAt),
    time(room.createdAt),
  );
}
