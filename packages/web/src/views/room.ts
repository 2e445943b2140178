import type { AppContext, View } from '../app.js';
import { h, nearBottom, replace } from '../dom.js';
import { ApiError, describeError, type GraphQLErrorLike, toApiError } from '../lib/errors.js';
import {
  MessageLog,
  type ChatMessage,
  type LogChange,
  type PendingMessage,
  type Person,
} from '../lib/messages.js';
import { PinRequests, PinnedList, canPin, pinnable } from '../lib/pins.js';
import { paths } from '../lib/routes.js';
import { retryRateLimited } from '../lib/retry.js';
import { SEEN_BY_MAX_MEMBERS, describeSeen, seenBy, type Receipt } from '../lib/seen.js';
import { formatFullTime, formatMessageTime } from '../lib/time.js';
import { TypingTracker, describeTyping, throttleGate } from '../lib/timing.js';
import {
  DELETE,
  EDIT,
  MARK_READ,
  MESSAGE_ADDED,
  MESSAGE_UPDATED,
  NEWEST,
  OLDER,
  ONE_MESSAGE,
  PIN,
  PINNED,
  PRESENCE,
  READ_RECEIPTS,
  ROOM,
  ROOM_MEMBERS,
  ROOM_ONLINE,
  ROOM_READ_BY,
  SEND,
  SET_TYPING,
  TYPING,
  UNPIN,
  type InboxEvent,
  type MemberRole,
  type MessagePage,
  type RoomDetail,
  type SiteRole,
} from '../queries.js';
import { mentionCompletion } from './completion.js';
import { avatar } from './lobby.js';
import {
  Reactions,
  messageBody,
  withReactedByMe,
  type AddedMessage,
  type Place,
} from './message-parts.js';
import { membersPanel, type Membership } from './members.js';
import { pinsPanel } from './pins.js';
import { problemView } from './problem.js';
import { roomIcon } from './room-list.js';
import { replies, threadPanel } from './thread.js';

/** Messages per page (initial load and each "earlier" page). */
const PAGE = 50;
/** At most one setTyping per this window, ms (2 s; the server throttles as well). */
const TYPING_SIGNAL_MS = 2_000;
/** Load earlier messages when scrolled this close to the top, px. */
const TOP_SLACK_PX = 120;
/** Body limit of the API, characters. */
const BODY_MAX = 4_000;

/** A clientMsgId without crypto.randomUUID, which needs a secure context (plain http on a LAN has none). */
function newClientMsgId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return `web-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * One room: the log, who is online and typing, the composer; edits and deletes of your own
 * messages; a group's members with their roles; "seen by" under the newest message of a small
 * room; threads (a panel beside the log; a reply shows in the log as one compact line that
 * opens it), reactions and @mentions with completion; the pinned messages (a list opened from
 * the header, pin and unpin for those the server lets). Reading the newest message (it is on
 * screen in a visible tab) moves the read position, which clears the room's unread badge in
 * every tab of the person's. `via` is the address it was opened by (/room/ or /dm/), for the
 * words of a refusal.
 */
export function roomView(ctx: AppContext, roomId: string, via: 'room' | 'dm' = 'room'): View {
  const me = ctx.session.user;
  const log = new MessageLog();
  const typing = new TypingTracker();
  const typingGate = throttleGate(TYPING_SIGNAL_MS);
  const online = new Map<string, Person>();
  const offs: (() => void)[] = [];
  const rendered = new Map<number, HTMLLIElement>();
  let room: RoomDetail | null = null;
  let member = false;
  /** The person's read position here, as known from the room, markRead and the inbox stream. */
  let readSeq = 0;
  let marking = false;
  /** The others' read positions, by user id (small rooms only). */
  const receipts = new Map<string, Receipt>();
  let small = false;
  let destroyed = false;
  let loadingOlder = false;
  let editing: number | null = null;
  let confirmingDelete: number | null = null;
  let typingTimer: ReturnType<typeof setTimeout> | undefined;
  /** The reader's site role and group role: who may pin (the server decides; this shows controls). */
  let siteRole: SiteRole | null = null;
  let myRole: MemberRole | null = null;
  /** The message the pinned list last showed (highlighted in the log until another one is). */
  let highlighted: string | null = null;
  const pins = new PinnedList(() => siteRole === 'ADMIN');
  const pinRequests = new PinRequests();
  const mayPin = () => room !== null && canPin({ kind: room.kind, myRole, siteRole, member });
  /** Who can be @mentioned here: the room's members, and the authors seen (they are members). */
  const known = new Map<string, Person>();
  const completionDeps = {
    people: () => known.values(),
    me,
    room: () => room?.kind !== 'DIRECT',
  };

  // ---- elements --------------------------------------------------------------------------
  const title = h(
    'h1',
    { class: 'room-title', tabIndex: -1 },
    h('span', { class: 'room-icon', attrs: { 'aria-hidden': 'true' } }, '#'),
    roomId,
  );
  const kindBadge = h('span', { class: 'badge', hidden: true }, 'private');
  const backBadge = h('span', { class: 'unread-badge', hidden: true });
  const peopleCount = h('span', {}, '…');
  const peopleToggle = h(
    'button',
    {
      type: 'button',
      class: 'btn small people-toggle',
      attrs: { 'aria-expanded': 'false', 'aria-controls': 'room-people' },
    },
    'Online ',
    peopleCount,
  );
  const peopleList = h('ul', { class: 'people compact' });
  const members = membersPanel(ctx, roomId, (m) => showMembers(m));
  members.el.hidden = true;
  const aside = h(
    'aside',
    { class: 'room-people', id: 'room-people', attrs: { 'aria-label': 'People' } },
    members.el,
    h('h2', { id: 'online-heading' }, 'Online'),
    peopleList,
  );
  peopleToggle.addEventListener('click', () => {
    const open = aside.classList.toggle('open');
    peopleToggle.setAttribute('aria-expanded', String(open));
  });

  const olderButton = h(
    'button',
    { type: 'button', class: 'btn small', hidden: true },
    'Load earlier messages',
  );
  const logStart = h('p', { class: 'log-start', hidden: true });
  const list = h('ol', { class: 'messages', attrs: { 'aria-label': 'Messages' } });
  const seenLine = h('p', { class: 'seen-by', hidden: true, attrs: { 'aria-live': 'polite' } });
  const pendingList = h('ol', {
    class: 'messages pending',
    attrs: { 'aria-label': 'Messages being sent' },
  });
  const logEl = h(
    'div',
    { class: 'log', tabIndex: 0, attrs: { role: 'log', 'aria-label': `Messages in ${roomId}` } },
    h('div', { class: 'log-top' }, olderButton, logStart),
    list,
    seenLine,
    pendingList,
  );
  const jump = h(
    'button',
    { type: 'button', class: 'btn small jump', hidden: true },
    'New messages ↓',
  );
  const typingLine = h('p', { class: 'typing', attrs: { 'aria-live': 'polite' } });
  const textarea = h('textarea', {
    id: 'composer',
    rows: 1,
    maxLength: BODY_MAX,
    placeholder: 'Write a message…',
    attrs: { 'aria-describedby': 'composer-hint' },
  });
  const completion = mentionCompletion(textarea, completionDeps);
  const sendButton = h('button', { type: 'submit', class: 'btn primary' }, 'Send');
  const counter = h('span', { class: 'counter', attrs: { 'aria-live': 'polite' } });
  const composerError = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const composer = h(
    'form',
    { class: 'composer', on: { submit: (ev) => (ev.preventDefault(), submit()) } },
    h('label', { class: 'sr-only', htmlFor: 'composer' }, 'Message'),
    completion.el,
    h('div', { class: 'composer-row' }, textarea, sendButton),
    h(
      'p',
      { class: 'hint', id: 'composer-hint' },
      h('kbd', {}, 'Enter'),
      ' to send · ',
      h('kbd', {}, 'Shift'),
      '+',
      h('kbd', {}, 'Enter'),
      ' for a new line',
      counter,
    ),
    composerError,
  );
  const joinBar = h('div', { class: 'join-bar', hidden: true });
  const reactions = new Reactions({
    ctx,
    canReact: () => member,
    current: (id) => log.findById(id) ?? thread.findById(id),
    changed: (m) => rerender(m.seq),
    reread: (m) => reread(m),
    error: (text) => (composerError.textContent = text),
  });
  const thread = threadPanel({
    ctx,
    render: (m, isRoot) => renderMessage(m, 'thread', isRoot),
    completion: completionDeps,
    member: () => member,
    reply: (root, text) => sendReply(root, text),
    closed: (root) => threadClosed(root),
    bodyMax: BODY_MAX,
  });
  thread.el.id = 'thread-panel';
  const pinned = pinsPanel({
    me,
    list: pins,
    canPin: mayPin,
    show: (m) => showMessage(m),
    unpin: async (m) => {
      const err = await setPinned(m, false);
      if (err) throw new Error(err);
    },
  });
  const body = h(
    'div',
    { class: 'room-body' },
    h('div', { class: 'log-wrap' }, logEl, jump, pinned.el),
    thread.el,
    aside,
  );
  const el = h(
    'section',
    { class: 'room' },
    h(
      'header',
      { class: 'room-head' },
      h(
        'a',
        { class: 'back', href: paths.lobby(), attrs: { 'aria-label': 'Back to the lobby' } },
        '←',
        backBadge,
      ),
      title,
      kindBadge,
      pinned.toggle,
      peopleToggle,
    ),
    body,
    typingLine,
    composer,
    joinBar,
  );

  textarea.value = ctx.drafts.get(roomId);
  const fit = () => {
    // Grow with the text up to about eight lines (CSSOM: allowed by a CSP without 'unsafe-inline').
    textarea.style.height = 'auto';
    textarea.style.height = `${Math.min(textarea.scrollHeight, 200)}px`;
    const left = BODY_MAX - textarea.value.length;
    counter.textContent = left < 500 ? ` · ${left} characters left` : '';
  };

  // ---- rendering -------------------------------------------------------------------------
  const timeEl = (iso: string) =>
    h('time', { dateTime: iso, title: formatFullTime(iso) }, formatMessageTime(iso, new Date()));

  /**
   * One message where it is shown: in the log (a reply as one compact line that opens its
   * thread), or in the thread panel (its root, with reactions only; its replies in full).
   */
  const renderMessage = (m: ChatMessage, place: Place = 'log', isRoot = false): HTMLLIElement => {
    if (place === 'log' && m.parentId) return replyLine(m);
    const mine = m.author.id === me.id;
    const gone = m.status !== 'VISIBLE';
    const lit = place === 'log' && highlighted === m.id;
    const li = h('li', {
      class: `msg${mine ? ' mine' : ''}${gone ? ' gone' : ''}${isRoot ? ' root' : ''}${lit ? ' highlighted' : ''}`,
      ...(place === 'log' ? { id: `msg-${m.seq}` } : {}),
      attrs: { 'data-seq': m.seq, 'data-message': m.id, 'data-place': place },
    });
    const head = h(
      'div',
      { class: 'msg-head' },
      avatar(m.author),
      h('span', { class: 'author' }, m.author.displayName),
      timeEl(m.createdAt),
    );
    if (m.editedAt && m.status === 'VISIBLE')
      head.append(
        h('span', { class: 'edited', title: `edited ${formatFullTime(m.editedAt)}` }, '(edited)'),
      );
    if (m.pinned && !gone)
      head.append(h('span', { class: 'pin-mark', title: 'Pinned in this room' }, 'Pinned'));
    li.append(head);
    // Editable where it is shown in full: a top-level message in the log, a reply in the panel.
    const editable = mine && !gone && !isRoot && (place === 'log') === !m.parentId;
    if (editing === m.seq && editable) {
      li.append(editForm(m));
      return li;
    }
    li.append(messageBody(m, me));
    const bar = reactions.bar(m, me.id, place);
    if (bar) li.append(bar);
    if (place === 'log' && (m.replyCount ?? 0) > 0) li.append(threadLink(m));
    const acts = actions(m, place, editable, isRoot);
    if (acts) li.append(acts);
    return li;
  };

  /** A reply, in the log: who, the first line of it, and the way to its thread. */
  const replyLine = (m: ChatMessage): HTMLLIElement => {
    const mine = m.author.id === me.id;
    return h(
      'li',
      {
        class: `msg reply-line${mine ? ' mine' : ''}${m.status !== 'VISIBLE' ? ' gone' : ''}`,
        id: `msg-${m.seq}`,
        attrs: { 'data-seq': m.seq, 'data-message': m.id, 'data-place': 'log' },
      },
      h(
        'button',
        {
          type: 'button',
          class: 'reply-open',
          title: 'Open the thread',
          on: { click: () => openThread(m.parentId!) },
        },
        h('span', { class: 'reply-mark', attrs: { 'aria-hidden': 'true' } }, '↳'),
        avatar(m.author),
        h('span', { class: 'author' }, m.author.displayName),
        h('span', { class: 'reply-says' }, 'replied in a thread:'),
        messageBody(m, me, 'span'),
        timeEl(m.createdAt),
      ),
    );
  };

  /** "2 replies · last 10:42" under a thread's root: opens the panel. */
  const threadLink = (m: ChatMessage): HTMLElement =>
    h(
      'button',
      {
        type: 'button',
        class: 'thread-link',
        attrs: {
          'aria-expanded': String(thread.rootId === m.id),
          'aria-controls': 'thread-panel',
          'data-key': 'thread',
        },
        on: { click: () => openThread(m.id) },
      },
      h('span', { class: 'reply-count' }, replies(m.replyCount ?? 0)),
      m.lastReplyAt ? h('span', { class: 'last-reply' }, ' · last ', timeEl(m.lastReplyAt)) : null,
    );

  const actions = (
    m: ChatMessage,
    place: Place,
    editable: boolean,
    isRoot: boolean,
  ): HTMLElement | null => {
    if (editable && confirmingDelete === m.seq) {
      const yes = h(
        'button',
        { type: 'button', class: 'btn small danger', on: { click: () => void remove(m) } },
        'Delete',
      );
      const no = h(
        'button',
        {
          type: 'button',
          class: 'btn small',
          on: { click: () => ((confirmingDelete = null), rerender(m.seq, 'delete')) },
        },
        'Cancel',
      );
      return h(
        'div',
        { class: 'msg-actions confirm' },
        h('span', {}, 'Delete this message?'),
        yes,
        no,
      );
    }
    const buttons: HTMLElement[] = [];
    if (place === 'log' && !m.parentId && !isRoot && m.status === 'VISIBLE' && member)
      buttons.push(
        h(
          'button',
          {
            type: 'button',
            class: 'btn tiny',
            attrs: { 'data-action': 'reply', 'data-key': 'reply' },
            on: { click: () => openThread(m.id) },
          },
          'Reply',
        ),
      );
    const react = reactions.trigger(m, place);
    if (react) buttons.push(react);
    // Where the message is shown in full (as for edits): a top-level one in the log, a reply in the panel.
    if (pinnable(m) && !isRoot && (place === 'log') === !m.parentId && mayPin())
      buttons.push(
        h(
          'button',
          {
            type: 'button',
            class: 'btn tiny',
            attrs: {
              'data-action': m.pinned ? 'unpin' : 'pin',
              'data-key': 'pin',
              'aria-pressed': String(m.pinned ?? false),
            },
            on: {
              click: () =>
                void setPinned(m, !m.pinned).then((err) => {
                  if (err) composerError.textContent = err;
                }),
            },
          },
          m.pinned ? 'Unpin' : 'Pin',
        ),
      );
    if (editable)
      buttons.push(
        h(
          'button',
          {
            type: 'button',
            class: 'btn tiny',
            attrs: {
              'data-action': 'edit',
              'data-key': 'edit',
              'aria-label': `Edit message: ${m.body.slice(0, 40)}`,
            },
            on: {
              click: () => (
                (editing = m.seq),
                (confirmingDelete = null),
                rerender(m.seq, 'edit-field')
              ),
            },
          },
          'Edit',
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'btn tiny',
            attrs: {
              'data-action': 'delete',
              'data-key': 'delete',
              'aria-label': `Delete message: ${m.body.slice(0, 40)}`,
            },
            on: {
              click: () => (
                (confirmingDelete = m.seq),
                (editing = null),
                rerender(m.seq, 'confirm')
              ),
            },
          },
          'Delete',
        ),
      );
    return buttons.length ? h('div', { class: 'msg-actions' }, ...buttons) : null;
  };

  const editForm = (m: ChatMessage): HTMLElement => {
    const field = h('textarea', {
      class: 'edit-field',
      value: m.body,
      maxLength: BODY_MAX,
      rows: 2,
      attrs: { 'aria-label': 'Edit your message' },
    });
    const err = h('p', { class: 'form-error', attrs: { role: 'alert' } });
    const cancel = () => {
      editing = null;
      rerender(m.seq, 'edit');
    };
    const save = async () => {
      const text = field.value.trim();
      if (!text) return;
      if (text === m.body) return cancel();
      try {
        const { editMessage } = await ctx.api.request<{ editMessage: ChatMessage }>(EDIT, {
          id: m.id,
          body: text,
        });
        editing = null;
        applyUpdates([editMessage]);
        rerender(m.seq, 'edit');
      } catch (e) {
        err.textContent = describeError(e);
      }
    };
    field.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') {
        ev.preventDefault();
        cancel();
      } else if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        void save();
      }
    });
    return h(
      'form',
      { class: 'edit', on: { submit: (ev) => (ev.preventDefault(), void save()) } },
      field,
      h(
        'div',
        { class: 'msg-actions visible' },
        h('button', { type: 'submit', class: 'btn small primary' }, 'Save'),
        h('button', { type: 'button', class: 'btn small', on: { click: cancel } }, 'Cancel'),
        h('span', { class: 'hint' }, 'Esc to cancel'),
      ),
      err,
    );
  };

  /** Replaces one message's element in the log (not in the panel). */
  const rerenderLog = (seq: number) => {
    const m = log.get(seq);
    const old = rendered.get(seq);
    if (!m || !old) return;
    const fresh = renderMessage(m);
    old.replaceWith(fresh);
    rendered.set(seq, fresh);
  };

  /**
   * Replaces one message's elements (log and thread panel) and puts focus where the person's
   * action leads; without an action, a control that had focus (a reaction, React) keeps it.
   */
  const rerender = (seq: number, focus?: 'edit' | 'delete' | 'edit-field' | 'confirm') => {
    const active = document.activeElement as HTMLElement | null;
    const holder = active?.closest<HTMLElement>(`[data-seq="${seq}"][data-place]`);
    const key = holder ? active?.dataset.key : undefined;
    const place = holder?.dataset.place;
    rerenderLog(seq);
    thread.rerender(seq);
    const at = (sel: string) => el.querySelector<HTMLElement>(`[data-seq="${seq}"] ${sel}`);
    if (focus === 'edit-field') at('.edit-field')?.focus();
    else if (focus === 'confirm') at('.confirm .danger')?.focus();
    else if (focus === 'edit' || focus === 'delete')
      (at(`[data-action="${focus}"]`) ?? textarea).focus();
    else if (key && place && !holder.isConnected) {
      const again = [
        ...el.querySelectorAll<HTMLElement>(
          `[data-seq="${seq}"][data-place="${place}"] [data-key]`,
        ),
      ].find((e) => e.dataset.key === key);
      again?.focus();
    }
  };

  /**
   * Runs `fn`, which may replace messages' elements: a control of a message that had focus (Pin,
   * a reaction) has it again in the message's new element.
   */
  const keepingFocus = (fn: () => void) => {
    const active = document.activeElement as HTMLElement | null;
    const holder = active?.closest<HTMLElement>('[data-seq][data-place]');
    const key = holder ? active?.dataset.key : undefined;
    fn();
    if (!holder || !key || holder.isConnected) return;
    const { seq, place } = holder.dataset;
    [...el.querySelectorAll<HTMLElement>(`[data-seq="${seq}"][data-place="${place}"] [data-key]`)]
      .find((e) => e.dataset.key === key)
      ?.focus();
  };

  /**
   * The current state of messages (an edit, a deletion, a reply count, reactions, a pin): the
   * log, the thread panel, the pinned list and the reader's pending reaction toggles take it.
   */
  const applyUpdates = (ms: readonly ChatMessage[]) => keepingFocus(() => updateAll(ms));
  const updateAll = (ms: readonly ChatMessage[]) => {
    let pinsChanged = false;
    let reread = false;
    for (const m of ms) {
      const change = pins.apply(m, log.findById(m.id) ?? thread.findById(m.id));
      if (change === 'reread') reread = true;
      else if (change !== 'none') pinsChanged = true;
    }
    if (pinsChanged) pinned.render();
    if (reread) void readPins();
    for (const m of ms) reactions.serverChanged(m);
    thread.updated(ms);
    apply(log.update(ms));
  };

  /** Reads the room's pinned messages again (after a reconnect, or for a pin whose place is unknown). */
  const readPins = async () => {
    const token = pins.startRead();
    try {
      const { pinnedMessages } = await ctx.api.request<{ pinnedMessages: ChatMessage[] }>(PINNED, {
        room: roomId,
      });
      if (destroyed) return;
      if (pins.reset(pinnedMessages, token)) pinned.render();
    } catch {
      pins.readFailed(token); // the next reconnect reads it again
    }
  };

  /**
   * Pins or unpins `m`. The answer is applied unless the stream has said something about the
   * message since the request went out (its own update, or a later one, is then on the way or
   * shown). Resolves with the server's refusal as a sentence, or null.
   */
  const setPinned = async (m: ChatMessage, want: boolean): Promise<string | null> => {
    composerError.textContent = '';
    const token = pinRequests.sent(m.id);
    try {
      const d = await ctx.api.request<{ pinMessage?: ChatMessage; unpinMessage?: ChatMessage }>(
        want ? PIN : UNPIN,
        { id: m.id },
      );
      const answer = d.pinMessage ?? d.unpinMessage;
      if (!destroyed && answer && pinRequests.fresh(m.id, token)) applyUpdates([answer]);
      return null;
    } catch (e) {
      return describeError(e);
    }
  };

  /**
   * Shows a message the pinned list points to: a top-level one scrolled to and highlighted in
   * the log (when loaded), a reply's thread opened. False when it is not loaded here.
   */
  const showMessage = (m: ChatMessage): boolean => {
    if (m.parentId) {
      openThread(m.parentId);
      return true;
    }
    const shown = log.get(m.seq);
    const li = rendered.get(m.seq);
    if (!shown || shown.id !== m.id || !li) return false;
    const before = highlighted ? log.findById(highlighted) : undefined;
    highlighted = m.id;
    if (before) rerenderLog(before.seq);
    rerenderLog(m.seq);
    const fresh = rendered.get(m.seq);
    fresh?.scrollIntoView({ block: 'center' });
    fresh?.setAttribute('tabindex', '-1');
    fresh?.focus({ preventScroll: true });
    return true;
  };

  /** Reads one message again (a reaction toggle that no update confirmed in time). */
  const reread = async (m: ChatMessage) => {
    const { messages } = await ctx.api.request<{ messages: MessagePage }>(ONE_MESSAGE, {
      room: roomId,
      after: m.seq - 1,
    });
    const fresh = messages.messages[0];
    if (destroyed || !fresh || fresh.id !== m.id) return;
    reactions.reread(fresh);
    applyUpdates([fresh]);
    rerender(fresh.seq);
  };

  const apply = (change: LogChange) => {
    const stick = nearBottom(logEl);
    for (const m of change.added) {
      known.set(m.author.id, m.author);
      const li = renderMessage(m);
      rendered.set(m.seq, li);
      // Insert before the first rendered message with a higher seq (usually: append).
      let next: HTMLLIElement | undefined;
      for (let s = m.seq + 1; s <= log.lastSeq; s++) {
        next = rendered.get(s);
        if (next) break;
      }
      list.insertBefore(li, next ?? null);
      if (m.author.id !== me.id) typing.stopped(m.author.id);
      // Writing a message moves its author's read position to it (on the server as well).
      else readSeq = Math.max(readSeq, m.seq);
    }
    for (const m of change.updated) {
      if (editing === m.seq && m.status !== 'VISIBLE') editing = null;
      rerenderLog(m.seq);
    }
    renderPending();
    if (change.added.length) renderLogTop();
    if (change.added.length) {
      renderTyping();
      if (stick || change.added.some((m) => m.author.id === me.id)) scrollToBottom();
      else jump.hidden = false;
    }
    if (change.added.length || change.updated.length) renderSeen();
    markReadIfSeen();
  };

  /** "Seen by …" under the newest message, in rooms small enough for it to say something. */
  const renderSeen = () => {
    const last = log.list().at(-1);
    const text =
      small && last ? describeSeen(seenBy(receipts.values(), last.seq, last.author.id)) : '';
    seenLine.hidden = !text;
    seenLine.textContent = text;
    seenLine.classList.toggle('mine', last?.author.id === me.id);
  };

  /**
   * The person has seen the newest message when it is on screen (the log scrolled to its end)
   * in a tab they can see: move the read position there. One request at a time; a newer
   * message that came meanwhile is marked after it.
   */
  const markReadIfSeen = () => {
    const newest = log.lastSeq;
    if (!member || marking || destroyed || newest <= readSeq) return;
    if (document.visibilityState !== 'visible' || !nearBottom(logEl)) return;
    marking = true;
    ctx.api
      .request<{ markRead: { lastReadSeq: number } }>(MARK_READ, { room: roomId, seq: newest })
      .then((d) => {
        readSeq = Math.max(readSeq, d.markRead.lastReadSeq);
      })
      // Not marked (offline, refused): the next message, scroll or reconnect tries again.
      .catch(() => undefined)
      .finally(() => {
        marking = false;
        if (log.lastSeq > newest) markReadIfSeen();
      });
  };

  const renderPending = () => {
    replace(
      pendingList,
      ...log.pending().map((p: PendingMessage) => {
        const li = h(
          'li',
          { class: `msg mine pending ${p.state}` },
          h(
            'div',
            { class: 'msg-head' },
            avatar(me),
            h('span', { class: 'author' }, me.displayName),
            h(
              'span',
              { class: 'state' },
              p.state === 'sending' ? (p.error ?? 'sending…') : 'not sent',
            ),
          ),
          h('p', { class: 'body' }, p.body),
        );
        if (p.state === 'failed') {
          li.append(
            h(
              'div',
              { class: 'msg-actions visible' },
              h('span', { class: 'form-error' }, p.error ?? ''),
              h(
                'button',
                {
                  type: 'button',
                  class: 'btn small',
                  on: { click: () => send(p.body, p.clientMsgId) },
                },
                'Retry',
              ),
              h(
                'button',
                {
                  type: 'button',
                  class: 'btn small',
                  on: { click: () => (log.removePending(p.clientMsgId), renderPending()) },
                },
                'Discard',
              ),
            ),
          );
        }
        return li;
      }),
    );
  };

  const renderLogTop = () => {
    olderButton.hidden = !log.hasOlder || log.size === 0;
    logStart.hidden = log.hasOlder && log.size > 0;
    logStart.textContent =
      log.size === 0
        ? 'No messages yet. Say hello!'
        : `This is the beginning of ${
            room?.kind === 'DIRECT'
              ? 'your conversation'
              : room?.kind === 'GROUP'
                ? room.name
                : `#${room?.name ?? roomId}`
          }.`;
  };

  const renderPeople = () => {
    const people = [...online.values()];
    if (ctx.live.status === 'online' && !online.has(me.id)) people.push(me);
    people.sort((a, b) =>
      a.id === me.id ? 1 : b.id === me.id ? -1 : a.displayName.localeCompare(b.displayName),
    );
    peopleCount.textContent = String(people.length);
    replace(
      peopleList,
      ...people.map((p) =>
        h(
          'li',
          { class: 'person' },
          h('span', { class: 'dot', attrs: { 'aria-hidden': 'true' } }),
          avatar(p),
          h(
            'span',
            { class: 'person-name' },
            p.displayName,
            p.id === me.id ? h('span', { class: 'handle' }, ' (you)') : null,
          ),
        ),
      ),
    );
  };

  const renderTyping = () => {
    clearTimeout(typingTimer);
    const now = Date.now();
    const names = typing.active(now);
    typingLine.textContent = describeTyping(names);
    if (names.length) typingTimer = setTimeout(renderTyping, 1_000);
  };

  const scrollToBottom = () => {
    logEl.scrollTop = logEl.scrollHeight;
    jump.hidden = true;
  };

  /** The unread messages of the person's other rooms, on the way back to the list. */
  const renderBack = () => {
    const { unread } = ctx.inbox.totals(roomId);
    backBadge.hidden = unread === 0;
    backBadge.textContent = unread > 99 ? '99+' : String(unread);
    backBadge.title = `${unread} unread in your other rooms`;
  };

  const showMembers = (m: Membership) => {
    for (const r of m.memberRoles) known.set(r.user.id, r.user);
    if (room?.kind !== 'GROUP') return;
    const could = mayPin();
    myRole = m.myRole;
    // Made an admin, or a member again: the pin controls follow (the server decides anyway).
    if (mayPin() !== could) {
      for (const seq of [...rendered.keys()]) rerenderLog(seq);
      thread.rerenderAll();
      pinned.render();
    }
    members.el.hidden = false;
    members.render(m);
  };

  // ---- actions ---------------------------------------------------------------------------
  /**
   * Sends run one after another, in the order they were typed: concurrent requests could be
   * stored out of order. Each shows at once as "sending…"; a failure leaves it "not sent".
   */
  let sendChain: Promise<void> = Promise.resolve();
  const send = (text: string, clientMsgId: string = newClientMsgId()) => {
    if (log.getPending(clientMsgId)) log.setPending(clientMsgId, 'sending');
    else
      log.addPending({
        clientMsgId,
        body: text,
        createdAt: new Date().toISOString(),
        state: 'sending',
      });
    renderPending();
    scrollToBottom();
    sendChain = sendChain.then(() => deliver(clientMsgId));
  };

  const deliver = async (clientMsgId: string) => {
    await loaded; // the composer works before the room has loaded
    const p = log.getPending(clientMsgId);
    if (destroyed || !p) return;
    if (log.hasClientMsgId(clientMsgId)) return log.removePending(clientMsgId);
    if (!member) {
      log.setPending(clientMsgId, 'failed', 'Join the room to write here.');
      return renderPending();
    }
    try {
      // RATE_LIMITED (a burst, a slow mode of seconds): wait what the server asks and send the
      // same clientMsgId again; the sends behind it wait in sendChain, so the order holds.
      const { sendMessage } = await retryRateLimited(
        () =>
          ctx.api.request<{ sendMessage: ChatMessage }>(SEND, {
            room: roomId,
            body: p.body,
            clientMsgId,
          }),
        {
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          onWait: (ms) => {
            if (destroyed) return;
            log.setPending(clientMsgId, 'sending', `sending in ${Math.ceil(ms / 1_000)} s…`);
            renderPending();
          },
        },
      );
      if (destroyed) return;
      log.removePending(clientMsgId);
      apply(log.add([sendMessage], { ordered: false }));
    } catch (e) {
      if (destroyed) return;
      log.setPending(
        clientMsgId,
        'failed',
        e instanceof ApiError && e.code === 'NETWORK'
          ? 'No connection: it will be sent when you are back.'
          : describeError(e),
      );
      renderPending();
    }
  };

  const submit = () => {
    const text = textarea.value.trim();
    if (!text) return;
    if (room && !member) {
      composerError.textContent = 'Join the room to write here.';
      return;
    }
    composerError.textContent = '';
    textarea.value = '';
    ctx.drafts.clear(roomId);
    fit();
    textarea.focus();
    send(text);
  };

  /**
   * A reply from the thread panel: sent at once (not behind the log's composer), a rate limit
   * waited out with the same clientMsgId; the stored reply goes into the log too. Rejects with
   * an Error whose message is a sentence for the person.
   */
  const sendReply = async (parentId: string, text: string): Promise<ChatMessage> => {
    await loaded;
    const clientMsgId = newClientMsgId();
    try {
      const { sendMessage } = await retryRateLimited(
        () =>
          ctx.api.request<{ sendMessage: ChatMessage }>(SEND, {
            room: roomId,
            body: text,
            clientMsgId,
            parentId,
          }),
        { sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) },
      );
      if (!destroyed) apply(log.add([sendMessage], { ordered: false }));
      return sendMessage;
    } catch (e) {
      throw new Error(describeError(e), { cause: e });
    }
  };

  /** Opens the thread of a root in the panel beside the log. */
  const openThread = (rootId: string) => {
    const before = thread.rootId;
    thread.open(rootId, log.findById(rootId));
    body.classList.add('with-thread');
    for (const id of [before, rootId]) {
      const m = id ? log.findById(id) : undefined;
      if (m) rerenderLog(m.seq);
    }
  };

  /** The panel closed: the log takes the whole width, focus goes back to the root. */
  const threadClosed = (rootId: string) => {
    body.classList.remove('with-thread');
    const m = log.findById(rootId);
    if (!m) return textarea.focus();
    rerenderLog(m.seq);
    (
      rendered.get(m.seq)?.querySelector<HTMLElement>('.thread-link, [data-action="reply"]') ??
      textarea
    ).focus();
  };

  const remove = async (m: ChatMessage) => {
    try {
      const { deleteMessage } = await ctx.api.request<{ deleteMessage: ChatMessage }>(DELETE, {
        id: m.id,
      });
      confirmingDelete = null;
      applyUpdates([deleteMessage]);
      textarea.focus();
    } catch (e) {
      composerError.textContent = describeError(e);
    }
  };

  const loadOlder = async () => {
    const before = log.firstSeq;
    if (loadingOlder || !log.hasOlder || before === undefined || before <= 1) {
      if (before === 1) log.hasOlder = false;
      renderLogTop();
      return;
    }
    loadingOlder = true;
    olderButton.disabled = true;
    const height = logEl.scrollHeight;
    const top = logEl.scrollTop;
    try {
      const { messages } = await ctx.api.request<{ messages: MessagePage }>(OLDER, {
        room: roomId,
        before,
        limit: PAGE,
      });
      if (destroyed) return;
      log.hasOlder = messages.hasMore;
      apply(log.add(messages.messages, { ordered: false }));
      // Keep the messages in view where they were: the page grew above them.
      logEl.scrollTop = top + (logEl.scrollHeight - height);
    } catch (e) {
      composerError.textContent = describeError(e);
    } finally {
      loadingOlder = false;
      olderButton.disabled = false;
      renderLogTop();
    }
  };

  const retryFailed = () => {
    for (const p of log.pending()) if (p.state === 'failed') send(p.body, p.clientMsgId);
  };

  // ---- wiring ----------------------------------------------------------------------------
  textarea.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      submit();
    }
  });
  textarea.addEventListener('input', () => {
    ctx.drafts.set(roomId, textarea.value);
    fit();
    if (member && textarea.value.trim() && typingGate()) {
      ctx.api.request(SET_TYPING, { room: roomId }).catch(() => undefined);
    }
  });
  olderButton.addEventListener('click', () => void loadOlder());
  jump.addEventListener('click', scrollToBottom);
  logEl.addEventListener('scroll', () => {
    if (nearBottom(logEl)) {
      jump.hidden = true;
      markReadIfSeen();
    }
    if (logEl.scrollTop < TOP_SLACK_PX && log.hasOlder && !loadingOlder && room) void loadOlder();
  });

  const showProblem = (e: unknown) => {
    const code = e instanceof ApiError ? e.code : 'INTERNAL_SERVER_ERROR';
    const v =
      code === 'NOT_FOUND'
        ? problemView(
            'Room not found',
            `There is no room “${roomId}”. Check the link, or create it from the lobby.`,
          )
        : code === 'FORBIDDEN'
          ? problemView(
              'You cannot open this conversation',
              via === 'dm'
                ? 'This private conversation belongs to two other people. Ask one of them to write to you instead.'
                : 'This group is private: only its members can read it. Ask one of them to add you.',
            )
          : problemView('This room could not be opened', describeError(e));
    showPage(v);
  };

  const showPage = (v: View) => {
    el.replaceChildren(...v.el.childNodes);
    el.className = 'problem';
    document.title = `${v.title} · conversa`;
    el.querySelector('h1')?.focus();
    destroyed = true;
    stopLive();
  };

  /** The person's inbox stream, for this room: their read position on other tabs, member changes, removal. */
  const onInbox = (e: InboxEvent) => {
    if (e.room.id !== roomId || !room) return;
    if (e.kind === 'REMOVED') {
      showPage(
        problemView(
          'You are no longer in this room',
          room.kind === 'GROUP'
            ? `You were removed from ${room.name}, or left it. Its messages are no longer shown to you.`
            : `You left ${room.name}.`,
        ),
      );
      return;
    }
    readSeq = Math.max(readSeq, e.room.lastReadSeq);
    if (e.kind !== 'UPDATED' || room.kind !== 'GROUP') return;
    if (e.room.name !== room.name) {
      room = { ...room, name: e.room.name };
      replace(title, roomIcon(room.kind), room.name);
      textarea.placeholder = `Message ${room.name}`;
      document.title = `${room.name} · conversa`;
    }
    void reloadMembers();
  };

  const reloadMembers = async () => {
    try {
      const d = await ctx.api.request<{ room: (Membership & { name: string }) | null }>(
        ROOM_MEMBERS,
        { id: roomId },
      );
      if (destroyed || !d.room) return;
      showMembers(d.room);
    } catch {
      // the next change or reconnect reads them again
    }
  };

  const subscribeAll = () => {
    const refused = (errors: GraphQLErrorLike[]) => showProblem(toApiError(errors));
    offs.push(
      ctx.live.subscribe<{ messageAdded: AddedMessage }>({
        query: MESSAGE_ADDED,
        // Re-evaluated at every reconnect: resume right after the last message seen.
        variables: () => ({ room: roomId, after: log.streamSeq }),
        next: (d) => {
          const m = withReactedByMe(d.messageAdded, me.id);
          apply(log.add([m], { ordered: true }));
          thread.added([m]);
        },
        error: refused,
      }),
      ctx.live.subscribe<{ messageUpdated: ChatMessage }>({
        query: MESSAGE_UPDATED,
        variables: () => ({ room: roomId }),
        next: (d) => {
          pinRequests.heard(d.messageUpdated.id);
          applyUpdates([d.messageUpdated]);
        },
      }),
      ctx.live.subscribe<{ presenceChanged: { online: boolean; user: Person } }>({
        query: PRESENCE,
        variables: () => ({ room: roomId }),
        next: (d) => {
          const { user, online: on } = d.presenceChanged;
          if (on) online.set(user.id, user);
          else if (user.id !== me.id) online.delete(user.id);
          renderPeople();
        },
      }),
      ctx.live.subscribe<{ typing: { user: Person } }>({
        query: TYPING,
        variables: () => ({ room: roomId }),
        next: (d) => {
          typing.seen(d.typing.user.id, d.typing.user.displayName, Date.now());
          renderTyping();
        },
      }),
      ctx.live.onStatus((s, prev) => {
        renderPeople();
        if (s === 'online' && prev === 'reconnecting') void refresh();
      }),
      ctx.inbox.onEvent(onInbox),
      ctx.inbox.onChange(renderBack),
    );
    if (small)
      offs.push(
        ctx.live.subscribe<{ readReceipts: Receipt }>({
          query: READ_RECEIPTS,
          variables: () => ({ room: roomId }),
          next: (d) => {
            const r = d.readReceipts;
            const known = receipts.get(r.user.id);
            if (!known || known.lastReadSeq <= r.lastReadSeq) receipts.set(r.user.id, r);
            renderSeen();
          },
        }),
      );
  };

  const takeReceipts = (list: readonly Receipt[]) => {
    receipts.clear();
    for (const r of list) receipts.set(r.user.id, r);
    renderSeen();
  };

  const stopLive = () => {
    for (const off of offs.splice(0)) off();
  };

  /** After a reconnect: who is here now, and edits or deletions missed while away. */
  const refresh = async () => {
    try {
      const [r, page] = await Promise.all([
        ctx.api.request<{ room: { online: Person[] } | null }>(ROOM_ONLINE, { id: roomId }),
        ctx.api.request<{ messages: MessagePage }>(NEWEST, { room: roomId, limit: PAGE }),
      ]);
      if (destroyed) return;
      online.clear();
      for (const p of r.room?.online ?? []) online.set(p.id, p);
      renderPeople();
      applyUpdates(page.messages.messages);
      void readPins(); // pins and unpins of older messages missed while away
      retryFailed();
      if (room?.kind === 'GROUP') void reloadMembers();
      if (small) {
        const d = await ctx.api.request<{
          room: { lastReadSeq: number; readBy: Receipt[] } | null;
        }>(ROOM_READ_BY, { id: roomId });
        if (destroyed || !d.room) return;
        readSeq = Math.max(readSeq, d.room.lastReadSeq);
        takeReceipts(d.room.readBy);
      }
      markReadIfSeen();
    } catch {
      // the next reconnect tries again
    }
  };

  const load = async () => {
    let data: {
      me: { id: string; role: SiteRole } | null;
      room: RoomDetail | null;
      messages: MessagePage;
      pinnedMessages: ChatMessage[];
    };
    try {
      data = await ctx.api.request(ROOM, { id: roomId, limit: PAGE });
    } catch (e) {
      if (!destroyed) showProblem(e);
      return;
    }
    if (destroyed) return;
    if (!data.room) return showProblem(new ApiError('no such room', 'NOT_FOUND'));
    room = data.room;
    member = room.kind !== 'PUBLIC' || room.members.some((m) => m.id === me.id);
    siteRole = data.me?.role ?? null;
    myRole = room.myRole;
    pins.reset(data.pinnedMessages);
    pinned.render();
    readSeq = room.lastReadSeq;
    small = member && room.members.length <= SEEN_BY_MAX_MEMBERS;
    replace(title, roomIcon(room.kind), room.name);
    kindBadge.hidden = room.kind === 'PUBLIC';
    kindBadge.textContent = room.kind === 'GROUP' ? 'group' : 'private';
    showMembers(room);
    if (small) takeReceipts(room.readBy);
    renderBack();
    logEl.setAttribute('aria-label', `Messages in ${room.name}`);
    textarea.placeholder =
      room.kind === 'PUBLIC' ? `Message #${room.name}` : `Message ${room.name}`;
    document.title = `${room.kind === 'PUBLIC' ? `#${room.name}` : room.name} · conversa`;
    if (location.pathname !== paths.room(room.id, room.kind))
      history.replaceState(null, '', paths.room(room.id, room.kind));
    for (const p of room.members) known.set(p.id, p);
    for (const p of room.online) online.set(p.id, p);
    renderPeople();
    log.hasOlder = data.messages.hasMore;
    apply(log.add(data.messages.messages, { ordered: true }));
    renderLogTop();
    scrollToBottom();
    if (!member) showJoin(room.name);
    subscribeAll();
    markReadIfSeen();
  };

  const showJoin = (name: string) => {
    composer.hidden = true;
    joinBar.hidden = false;
    const b = h('button', { type: 'button', class: 'btn primary' }, `Join #${name}`);
    b.addEventListener('click', () => {
      b.disabled = true;
      ctx.api
        .request(`mutation($name: String!) { joinRoom(name: $name) { id } }`, { name })
        .then(() => {
          member = true;
          joinBar.hidden = true;
          composer.hidden = false;
          textarea.focus();
          markReadIfSeen();
        })
        .catch((e: unknown) => {
          b.disabled = false;
          joinBar.append(
            h('p', { class: 'form-error', attrs: { role: 'alert' } }, describeError(e)),
          );
        });
    });
    replace(joinBar, h('p', {}, 'You are reading this room.'), b);
    b.focus();
  };

  // A tab brought to the front, or a window focused, shows what is on screen: it is read now.
  const onVisible = () => markReadIfSeen();
  document.addEventListener('visibilitychange', onVisible);
  window.addEventListener('focus', onVisible);

  fit();
  const loaded = load();

  return {
    el,
    title: roomId,
    focus: () => textarea.focus(),
    destroy: () => {
      destroyed = true;
      reactions.destroy();
      if (textarea.value) ctx.drafts.set(roomId, textarea.value);
      clearTimeout(typingTimer);
      document.removeEventListener('visibilitychange', onVisible);
      window.removeEventListener('focus', onVisible);
      stopLive();
    },
  };
}
