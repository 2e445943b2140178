import type { AppContext } from '../app.js';
import { h, nearBottom, replace } from '../dom.js';
import { describeError } from '../lib/errors.js';
import type { ChatMessage } from '../lib/messages.js';
import { THREAD, type MessagePage } from '../queries.js';
import { mentionCompletion, type CompletionDeps } from './completion.js';

/** Replies per page of a thread (the API's default). */
const THREAD_PAGE = 50;

/** "1 reply", "2 replies". */
export const replies = (n: number) => `${n} ${n === 1 ? 'reply' : 'replies'}`;

export interface ThreadDeps {
  ctx: AppContext;
  /** A message's element in the panel (data-place="thread"); the root's when `root` is set. */
  render: (m: ChatMessage, root: boolean) => HTMLElement;
  completion: CompletionDeps;
  member: () => boolean;
  /**
   * Sends a reply to `root` (the room's send path: same retries, the result merged into the log);
   * resolves with the stored reply, rejects with an Error whose message is a sentence for the person.
   */
  reply: (root: string, body: string) => Promise<ChatMessage>;
  /** The panel closed (by its button or Escape): the room puts focus back. */
  closed: (root: string) => void;
  bodyMax: number;
}

/** A reply typed in the panel that the server has not acknowledged yet. */
interface PendingReply {
  body: string;
  error?: string;
}

/**
 * The thread panel beside a room's log: the root (as the log has it, updated live), its replies
 * (`Query.thread`, paged by seq with `after`, then the room's `messageAdded` for new ones: a
 * reply carries its root's `parentId`), and a reply box. The room feeds it what its streams
 * bring (`added`, `updated`); replies are merged by seq, so a reply that came both in a page and
 * live shows once.
 */
export function threadPanel(deps: ThreadDeps) {
  const { ctx } = deps;
  let rootId: string | null = null;
  let root: ChatMessage | null = null;
  const byseq = new Map<number, ChatMessage>();
  const els = new Map<number, HTMLElement>();
  /** The last seq of the pages read so far: the next page starts after it. */
  let cursor = 0;
  let hasMore = false;
  let loading = false;
  let generation = 0;
  const pending: PendingReply[] = [];

  const heading = h('h2', { id: 'thread-heading', tabIndex: -1 }, 'Thread');
  const count = h('span', { class: 'thread-count' });
  const closeButton = h(
    'button',
    { type: 'button', class: 'btn ghost small', attrs: { 'aria-label': 'Close thread' } },
    '✕',
  );
  const rootBox = h('ul', { class: 'thread-root', attrs: { 'aria-label': 'Thread start' } });
  const divider = h('p', { class: 'thread-divider' });
  // Not `.messages`: that is the room's log (the browser tests and styles read it so).
  const list = h('ol', { class: 'thread-replies', attrs: { 'aria-label': 'Replies' } });
  const more = h('button', { type: 'button', class: 'btn small' }, 'Show more replies');
  const moreItem = h('li', { class: 'thread-more', hidden: true }, more);
  const pendingList = h('ol', {
    class: 'thread-replies pending',
    attrs: { 'aria-label': 'Replies being sent' },
  });
  const status = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const scroller = h('div', { class: 'thread-scroll' }, rootBox, divider, list, pendingList);
  const field = h('textarea', {
    id: 'thread-composer',
    rows: 1,
    maxLength: deps.bodyMax,
    placeholder: 'Reply…',
    attrs: { 'aria-label': 'Reply in thread' },
  });
  const completion = mentionCompletion(field, deps.completion);
  const send = h('button', { type: 'submit', class: 'btn primary small' }, 'Reply');
  const form = h(
    'form',
    {
      class: 'composer thread-composer',
      on: { submit: (ev) => (ev.preventDefault(), submit()) },
    },
    completion.el,
    h('div', { class: 'composer-row' }, field, send),
    status,
  );
  const el = h(
    'aside',
    {
      class: 'thread-panel',
      hidden: true,
      attrs: { 'aria-labelledby': 'thread-heading' },
      on: {
        keydown: (ev) => {
          if (ev.key === 'Escape' && !ev.defaultPrevented) {
            ev.preventDefault();
            close();
          }
        },
      },
    },
    h('header', { class: 'thread-head' }, heading, count, closeButton),
    scroller,
    form,
  );
  closeButton.addEventListener('click', () => close());
  more.addEventListener('click', () => void loadMore());
  field.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      submit();
    }
  });
  field.addEventListener('input', () => {
    field.style.height = 'auto';
    field.style.height = `${Math.min(field.scrollHeight, 160)}px`;
  });

  const renderHead = () => {
    const n = root?.replyCount ?? 0;
    count.textContent = root ? replies(n) : '';
    divider.textContent = root ? (n ? replies(n) : 'No replies yet') : '';
    divider.hidden = !root;
  };

  const renderRoot = () => {
    if (root) replace(rootBox, deps.render(root, true));
    else
      replace(
        rootBox,
        h(
          'li',
          { class: 'hint' },
          'This thread started further up in the room: scroll up to see it.',
        ),
      );
    renderHead();
  };

  /** Puts a reply's element in seq order (before the first shown reply with a higher seq). */
  const place = (m: ChatMessage) => {
    const fresh = deps.render(m, false);
    const old = els.get(m.seq);
    els.set(m.seq, fresh);
    if (old) return old.replaceWith(fresh);
    list.insertBefore(fresh, firstAfter(m.seq));
  };

  /** The shown reply with the lowest seq above `seq` (null: none, insert at the end). */
  const firstAfter = (seq: number): HTMLElement | null => {
    let best: number | undefined;
    for (const s of els.keys()) if (s > seq && (best === undefined || s < best)) best = s;
    return best === undefined ? null : (els.get(best) ?? null);
  };

  const renderMore = () => {
    moreItem.hidden = !hasMore;
    // The next page goes between the replies read so far and those that came live.
    if (hasMore) list.insertBefore(moreItem, firstAfter(cursor));
    else moreItem.remove();
  };

  const renderPending = () => {
    replace(
      pendingList,
      ...pending.map((p, i) =>
        h(
          'li',
          { class: `msg mine pending ${p.error ? 'failed' : 'sending'}` },
          h('p', { class: 'body' }, p.body),
          h(
            'div',
            { class: 'msg-actions visible' },
            h('span', { class: p.error ? 'form-error' : 'state' }, p.error ?? 'sending…'),
            p.error
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'btn small',
                    on: { click: () => (pending.splice(i, 1), renderPending()) },
                  },
                  'Discard',
                )
              : null,
          ),
        ),
      ),
    );
  };

  const take = (ms: readonly ChatMessage[]) => {
    const stick = nearBottom(scroller);
    for (const m of ms) {
      if (m.parentId !== rootId) continue;
      byseq.set(m.seq, m);
      place(m);
    }
    renderMore();
    if (stick) scroller.scrollTop = scroller.scrollHeight;
  };

  const loadMore = async () => {
    if (!rootId || loading) return;
    loading = true;
    more.disabled = true;
    const g = generation;
    try {
      const { thread } = await ctx.api.request<{ thread: MessagePage }>(THREAD, {
        root: rootId,
        limit: THREAD_PAGE,
        ...(cursor ? { after: cursor } : {}),
      });
      if (g !== generation) return;
      hasMore = thread.hasMore;
      cursor = Math.max(cursor, thread.messages.at(-1)?.seq ?? cursor);
      take(thread.messages);
      status.textContent = '';
    } catch (e) {
      if (g === generation) status.textContent = describeError(e);
    } finally {
      if (g === generation) {
        loading = false;
        more.disabled = false;
        renderMore();
      }
    }
  };

  const submit = () => {
    const text = field.value.trim();
    const id = rootId;
    if (!text || !id) return;
    if (!deps.member()) {
      status.textContent = 'Join the room to write here.';
      return;
    }
    status.textContent = '';
    field.value = '';
    field.dispatchEvent(new Event('input'));
    const p: PendingReply = { body: text };
    pending.push(p);
    renderPending();
    scroller.scrollTop = scroller.scrollHeight;
    deps.reply(id, text).then(
      (m) => {
        if (rootId !== id) return;
        pending.splice(pending.indexOf(p), 1);
        renderPending();
        take([m]);
        scroller.scrollTop = scroller.scrollHeight;
      },
      (e: unknown) => {
        if (rootId !== id) return;
        p.error = e instanceof Error ? e.message : describeError(e);
        renderPending();
        // The text is not lost: back in the box when the box is empty.
        if (!field.value) field.value = p.body;
      },
    );
  };

  function close(): void {
    const id = rootId;
    if (!id) return;
    completion.close();
    rootId = null;
    root = null;
    generation++;
    el.hidden = true;
    deps.closed(id);
  }

  return {
    el,
    get rootId() {
      return rootId;
    },
    /** Opens the thread of `id` (its root message when the log has it) and reads its replies. */
    open(id: string, rootMessage: ChatMessage | undefined) {
      if (rootId === id) {
        field.focus();
        return;
      }
      generation++;
      rootId = id;
      root = rootMessage ?? null;
      byseq.clear();
      els.clear();
      list.replaceChildren();
      pending.length = 0;
      renderPending();
      cursor = 0;
      hasMore = false;
      loading = false;
      status.textContent = '';
      field.value = '';
      renderRoot();
      el.hidden = false;
      field.focus();
      void loadMore();
    },
    close,
    /** New messages of the room: replies of the open thread are shown. */
    added(ms: readonly ChatMessage[]) {
      if (rootId) take(ms.filter((m) => m.parentId === rootId));
    },
    /** The current state of messages (edits, deletions, counts, reactions). */
    updated(ms: readonly ChatMessage[]) {
      for (const m of ms) {
        if (m.id === rootId) {
          root = m;
          renderRoot();
        } else if (byseq.has(m.seq) && m.parentId === rootId) take([m]);
      }
    },
    /** The message as the panel holds it (a reply older than the log's pages lives only here). */
    get(seq: number): ChatMessage | undefined {
      return root?.seq === seq ? root : byseq.get(seq);
    },
    findById(id: string): ChatMessage | undefined {
      if (root?.id === id) return root;
      for (const m of byseq.values()) if (m.id === id) return m;
      return undefined;
    },
    /** Renders one message again where the panel shows it. */
    rerender(seq: number) {
      if (root?.seq === seq) renderRoot();
      else {
        const m = byseq.get(seq);
        if (m) place(m);
      }
    },
    /** Renders the root and every reply again (the reader's rights changed: their controls follow). */
    rerenderAll() {
      if (!rootId) return;
      renderRoot();
      for (const m of byseq.values()) place(m);
    },
    get replyField() {
      return field;
    },
  };
}

export type ThreadPanel = ReturnType<typeof threadPanel>;
