/**
 * Threads, reactions and @mentions of the web client in a real browser (Debian's Chromium,
 * playwright-core) against the real services, two people each with a browser of their own: a
 * reply shows live in the other's open thread panel and the root's count follows; a reaction's
 * count is the same for both while each sees only their own highlight; typing "@be" offers Ben,
 * choosing inserts his username, and the sent message marks the mention while markup stays text.
 * Every test has its own room; screenshots go to artifacts/screenshots/.
 */
import type { Locator, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { composerFocused, message, send, browserSuite, type Person } from './browser-kit.js';
import { gqlOk } from './harness.js';

declare const document: { activeElement: { id: string } | null };

const JOIN = 'mutation($n: String!) { joinRoom(name: $n) { id } }';
const THREAD =
  'query($root: ID!) { thread(root: $root) { messages { body parentId author { username } } } }';
const REACTIONS =
  'query($r: ID!) { messages(room: $r) { messages { id reactions { emoji count reactedByMe } } } }';
const MENTIONS =
  'query($r: ID!) { messages(room: $r) { messages { body mentionsRoom mentions { username } } } }';

describe('threads, reactions and mentions in Chromium', () => {
  const suite = browserSuite();
  const { tag, shot, person, post } = suite;
  let url: string;
  let base: string;
  let ann: Person;
  let ben: Person;

  /** Both join `room` (through the API) and open it in their pages. */
  const openRoom = async (room: string) => {
    for (const who of [ann, ben]) await gqlOk(url, JOIN, { n: room }, who.account.token);
    for (const who of [ann, ben]) {
      await who.page.goto(`${base}/room/${room}`);
      await composerFocused(who.page);
    }
  };

  const text = async (l: Locator) => (await l.textContent())?.trim();
  const panel = (page: Page) => page.locator('aside.thread-panel');
  /** A reply as the open thread panel shows it. */
  const panelReply = (page: Page, body: string) =>
    panel(page)
      .locator('ol.thread-replies:not(.pending) > li.msg')
      .filter({ has: page.locator('p.body', { hasText: body }) });

  /** The reaction of `emoji` under a message, waited for with exactly this count and highlight. */
  const reactionIs = (m: Locator, emoji: string, count: number, mine: boolean) =>
    m
      .locator(`.reactions button.reaction[data-emoji="${emoji}"][aria-pressed="${mine}"]`)
      .filter({ has: m.page().locator('.count', { hasText: new RegExp(`^${count}$`) }) })
      .waitFor();
  const emojiOrder = (m: Locator) =>
    m
      .locator('.reactions button.reaction')
      .evaluateAll((els: { getAttribute(n: string): string | null }[]) =>
        els.map((e) => e.getAttribute('data-emoji')),
      );

  beforeAll(async () => {
    ({ url, base } = suite.life);
    [ann, ben] = await Promise.all([person('Ann'), person('Ben')]);
  }, 180_000);

  it('shows Ben’s replies live in Ann’s open thread, the root’s count going 1 then 2', async () => {
    const room = `thread-${tag}`;
    await openRoom(room);
    await send(ann.page, 'shall we ship on friday?');
    const annRoot = message(ann.page, 'shall we ship on friday?');
    const benRoot = message(ben.page, 'shall we ship on friday?');
    await benRoot.waitFor();

    // Ann opens her message's thread before anyone replied: the reply box has the focus.
    await annRoot.hover();
    await annRoot.getByRole('button', { name: 'Reply', exact: true }).click();
    await panel(ann.page).waitFor();
    await ann.page.waitForFunction(() => document.activeElement?.id === 'thread-composer');
    expect(await text(panel(ann.page).locator('.thread-divider'))).toBe('No replies yet');
    expect(await text(panel(ann.page).locator('.thread-root p.body'))).toBe(
      'shall we ship on friday?',
    );

    // Ben replies from his own panel.
    await benRoot.hover();
    await benRoot.getByRole('button', { name: 'Reply', exact: true }).click();
    await ben.page.getByLabel('Reply in thread').fill('yes');
    await ben.page.getByLabel('Reply in thread').press('Enter');
    await panelReply(ben.page, 'yes').waitFor();

    // Ann: the reply in her panel without a reload, the count 1 there and under the root.
    await panelReply(ann.page, 'yes').waitFor();
    await panel(ann.page)
      .locator('.thread-count', { hasText: /^1 reply$/ })
      .waitFor();
    await annRoot.locator('.thread-link .reply-count', { hasText: /^1 reply$/ }).waitFor();
    // In the log, the reply is one compact line that leads to the thread, not a message of its own.
    const line = ann.page.locator('ol.messages > li.reply-line', { hasText: 'yes' });
    expect(await text(line.locator('.author'))).toBe('Ben');
    expect(await text(line.locator('.reply-says'))).toBe('replied in a thread:');
    expect(await message(ann.page, 'yes').count()).toBe(0);

    await ben.page.getByLabel('Reply in thread').fill('or monday');
    await ben.page.getByLabel('Reply in thread').press('Enter');
    await panelReply(ann.page, 'or monday').waitFor();
    await panel(ann.page)
      .locator('.thread-count', { hasText: /^2 replies$/ })
      .waitFor();
    await annRoot.locator('.thread-link .reply-count', { hasText: /^2 replies$/ }).waitFor();
    await benRoot.locator('.thread-link .reply-count', { hasText: /^2 replies$/ }).waitFor();
    expect(
      await panel(ann.page)
        .locator('ol.thread-replies:not(.pending) > li.msg p.body')
        .evaluateAll((els: { textContent: string | null }[]) => els.map((e) => e.textContent)),
    ).toEqual(['yes', 'or monday']);
    await shot(ann.page, '15-thread-panel');

    // Ann answers in the thread: it is a reply of the root on the server, and Ben sees it live.
    await ann.page.getByLabel('Reply in thread').fill('friday it is');
    await ann.page.getByLabel('Reply in thread').press('Enter');
    await panelReply(ben.page, 'friday it is').waitFor();
    await annRoot.locator('.thread-link .reply-count', { hasText: /^3 replies$/ }).waitFor();
    const rootId = await annRoot.getAttribute('data-message');
    const t = await gqlOk<{
      thread: { messages: { body: string; parentId: string; author: { username: string } }[] };
    }>(url, THREAD, { root: rootId }, ann.account.token);
    expect(t.thread.messages.map((m) => [m.body, m.parentId, m.author.username])).toEqual([
      ['yes', rootId, ben.account.user.username],
      ['or monday', rootId, ben.account.user.username],
      ['friday it is', rootId, ann.account.user.username],
    ]);

    // Escape closes the panel and gives the focus back to the root's thread link.
    await ann.page.getByLabel('Reply in thread').press('Escape');
    await panel(ann.page).waitFor({ state: 'hidden' });
    expect(await annRoot.locator('.thread-link').getAttribute('aria-expanded')).toBe('false');
    // A compact line opens its thread again.
    await line.locator('button.reply-open').click();
    await panelReply(ann.page, 'friday it is').waitFor();
  });

  it('counts a reaction the same for both, each highlighted only for whoever reacted', async () => {
    const room = `react-${tag}`;
    await openRoom(room);
    const posted = await post(ben, room, 'react to this');
    const annMsg = message(ann.page, 'react to this');
    const benMsg = message(ben.page, 'react to this');
    await annMsg.waitFor();
    await benMsg.waitFor();

    // Ann adds 👍 from the picker.
    await annMsg.hover();
    await annMsg.getByRole('button', { name: 'Add a reaction' }).click();
    await annMsg.getByRole('button', { name: 'React with 👍' }).click();
    await reactionIs(annMsg, '👍', 1, true);
    await reactionIs(benMsg, '👍', 1, false);

    // Ben clicks Ann's 👍: his own is added; both see 2, each highlighted.
    await benMsg.locator('button.reaction[data-emoji="👍"]').click();
    await reactionIs(benMsg, '👍', 2, true);
    await reactionIs(annMsg, '👍', 2, true);

    // Ben adds 🎉 from the picker, then Ann does too.
    await benMsg.hover();
    await benMsg.getByRole('button', { name: 'Add a reaction' }).click();
    await benMsg.getByRole('button', { name: 'React with 🎉' }).click();
    await reactionIs(annMsg, '🎉', 1, false);
    await annMsg.locator('button.reaction[data-emoji="🎉"]').click();
    await reactionIs(annMsg, '🎉', 2, true);
    await reactionIs(benMsg, '🎉', 2, true);
    await shot(ann.page, '16-reactions');

    // Ann takes her 👍 back: 1 for both, Ann not highlighted, Ben still; the most used first.
    await annMsg.locator('button.reaction[data-emoji="👍"]').click();
    await reactionIs(annMsg, '👍', 1, false);
    await reactionIs(benMsg, '👍', 1, true);
    expect(await emojiOrder(annMsg)).toEqual(['🎉', '👍']);
    expect(await emojiOrder(benMsg)).toEqual(['🎉', '👍']);
    expect(await annMsg.locator('button.reaction[data-emoji="👍"]').getAttribute('title')).toBe(
      'Ben reacted with 👍',
    );

    // The server agrees, for each of them.
    const asSeenBy = async (who: Person) =>
      (
        await gqlOk<{
          messages: {
            messages: {
              id: string;
              reactions: { emoji: string; count: number; reactedByMe: boolean }[];
            }[];
          };
        }>(url, REACTIONS, { r: room }, who.account.token)
      ).messages.messages.find((m) => m.id === posted.id)!.reactions;
    expect(await asSeenBy(ann)).toEqual([
      { emoji: '🎉', count: 2, reactedByMe: true },
      { emoji: '👍', count: 1, reactedByMe: false },
    ]);
    expect(await asSeenBy(ben)).toEqual([
      { emoji: '🎉', count: 2, reactedByMe: true },
      { emoji: '👍', count: 1, reactedByMe: true },
    ]);
    // Reloaded, the page shows the same (from the room's page, not from the live updates).
    await ann.page.reload();
    await reactionIs(message(ann.page, 'react to this'), '👍', 1, false);
    await reactionIs(message(ann.page, 'react to this'), '🎉', 2, true);
  });

  it('completes @be to Ben, marks the mention in the sent message, and keeps markup as text', async () => {
    const room = `mention-${tag}`;
    await openRoom(room);
    const composer = ann.page.locator('#composer');
    await composer.pressSequentially('@be');
    const options = ann.page.locator('#composer-mentions [role="option"]');
    await options.first().waitFor();
    expect(await composer.getAttribute('aria-expanded')).toBe('true');
    expect(
      await options.evaluateAll((els: { getAttribute(n: string): string | null }[]) =>
        els.map((e) => e.getAttribute('data-username')),
      ),
    ).toEqual([ben.account.user.username]);
    expect(await text(options.first())).toBe(`BBen@${ben.account.user.username}`);
    await shot(ann.page, '17-mention-completion');

    // Enter chooses (it does not send): "@ben_<tag> " with the caret after it.
    await composer.press('Enter');
    expect(await composer.inputValue()).toBe(`@${ben.account.user.username} `);
    expect(await composer.getAttribute('aria-expanded')).toBe('false');
    // @room is offered too; Tab chooses it.
    await composer.pressSequentially('and @ro');
    await ann.page.locator('#composer-mentions [role="option"][data-username="room"]').waitFor();
    await composer.press('Tab');
    const hostile = `<b>look</b> <img src=x onerror=alert(1)> @nobody_${tag}`;
    await composer.pressSequentially(hostile);
    const body = `@${ben.account.user.username} and @room ${hostile}`;
    expect(await composer.inputValue()).toBe(body);
    await composer.press('Enter');

    // Both pages: the whole body as text, the two mentions marked, the unknown name not.
    for (const [who, benKind] of [
      [ann, 'user'],
      [ben, 'me'],
    ] as const) {
      const m = message(who.page, '<b>look</b>');
      await m.waitFor();
      expect(await m.locator('p.body').textContent()).toBe(body);
      const marks = await m
        .locator('p.body .mention')
        .evaluateAll((els: { textContent: string | null; className: string }[]) =>
          els.map((e) => [e.textContent, e.className]),
        );
      expect(marks).toEqual([
        [`@${ben.account.user.username}`, `mention mention-${benKind}`],
        ['@room', 'mention mention-room'],
      ]);
      expect(await m.locator('p.body b, p.body img, p.body script').count()).toBe(0);
    }
    await shot(ben.page, '17b-mention-shown');
    const stored = await gqlOk<{
      messages: {
        messages: { body: string; mentionsRoom: boolean; mentions: { username: string }[] }[];
      };
    }>(url, MENTIONS, { r: room }, ann.account.token);
    expect(stored.messages.messages).toEqual([
      { body, mentionsRoom: true, mentions: [{ username: ben.account.user.username }] },
    ]);
    expect(ann.dialogs).toEqual([]);
  });
});
