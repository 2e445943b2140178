/**
 * The pinned list of the web client in a real browser (Debian's Chromium, playwright-core)
 * against the real services, each person with a browser of their own: a group's OWNER pins from
 * the page and a MEMBER's open list shows it live (the exact count, the body as text, newest pin
 * first), with no pin control of the MEMBER's own until the OWNER makes them an ADMIN; an unpin
 * removes it for both; the 51st pin of a room is refused and the page says the server's words;
 * nobody but a site admin pins in a public room. Every test has its own room; screenshots go to
 * artifacts/screenshots/.
 */
import type { Locator, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { composerFocused, message, browserSuite, type Person } from './browser-kit.js';
import { LOAD_RULES_FILE, gqlOk } from './harness.js';

declare const document: { querySelectorAll(s: string): { length: number } };

const CREATE = 'mutation($n: String!, $m: [ID!]!) { createGroup(name: $n, members: $m) { id } }';
const SET_ROLE =
  'mutation($r: ID!, $u: ID!, $role: MemberRole!) { setMemberRole(room: $r, userId: $u, role: $role) { id } }';
const JOIN = 'mutation($n: String!) { joinRoom(name: $n) { id } }';
const PIN = 'mutation($id: ID!) { pinMessage(id: $id) { id pinned } }';
const PINNED = 'query($r: ID!) { pinnedMessages(room: $r) { body pinned author { username } } }';

describe('the pinned list in Chromium', () => {
  // The limit test sends and pins 50-odd times in one room: the per-person send limits and
  // the flood rule (which would hide a burst of one person's messages; their own tests cover
  // them) are lifted, as in pins.e2e.test.ts and the load runs.
  const suite = browserSuite({
    system: {
      env: {
        MODERATION_RULES_FILE: LOAD_RULES_FILE,
        RATE_LIMIT_SEND: '1000000/1s',
        RATE_LIMIT_ROOM_SEND_BURST: '1000000',
        RATE_LIMIT_ROOM_SEND_REFILL: '1000000/1s',
      },
    },
  });
  const { tag, shot, person, post } = suite;
  let url: string;
  let base: string;
  let ann: Person;
  let ben: Person;

  const group = async (name: string) =>
    (
      await gqlOk<{ createGroup: { id: string } }>(
        url,
        CREATE,
        { n: name, m: [ben.account.user.id] },
        ann.account.token,
      )
    ).createGroup.id;

  const open = async (room: string) => {
    for (const who of [ann, ben]) {
      await who.page.goto(`${base}/room/${room}`);
      await composerFocused(who.page);
    }
  };

  const pinnedOnServer = async (room: string) =>
    (
      await gqlOk<{ pinnedMessages: { body: string; pinned: boolean }[] }>(
        url,
        PINNED,
        { r: room },
        ann.account.token,
      )
    ).pinnedMessages.map((m) => m.body);

  /** The header's control, waited for with exactly `n` pins. */
  const countIs = (page: Page, count: number) =>
    page
      .locator('button.pinned-toggle', { hasText: new RegExp(`^Pinned \\(${count}\\)$`) })
      .waitFor();
  const list = (page: Page) => page.locator('#pinned-panel');
  const entries = (page: Page) => list(page).locator('li.pinned-item');
  const entryBodies = (page: Page) =>
    entries(page)
      .locator('.pinned-open .body')
      .evaluateAll((els: { textContent: string | null }[]) => els.map((e) => e.textContent));
  const openList = async (page: Page) => {
    await page.locator('button.pinned-toggle').click();
    await list(page).waitFor();
  };
  /** The message's Pin or Unpin control (its actions show on hover). */
  const pinControl = async (m: Locator) => {
    await m.hover();
    return m.locator('[data-key="pin"]');
  };

  beforeAll(async () => {
    ({ url, base } = suite.life);
    [ann, ben] = await Promise.all([person('Ann'), person('Ben')]);
  }, 180_000);

  it('shows the OWNER’s pins live in the MEMBER’s open list, as text, and an unpin removes them for both', async () => {
    const room = await group(`Pins ${tag}`);
    const hostile = `<img src=x onerror=alert(1)> <b>ship</b> it & "quote"`;
    await post(ann, room, 'the plan: friday');
    await post(ann, room, hostile);
    await open(room);
    const annPlan = message(ann.page, 'the plan: friday');
    const annHostile = message(ann.page, '<b>ship</b>');
    const benPlan = message(ben.page, 'the plan: friday');
    const benHostile = message(ben.page, '<b>ship</b>');
    await benHostile.waitFor();
    await countIs(ann.page, 0);
    await countIs(ben.page, 0);

    // Ben is a MEMBER: his messages' actions have React, and no Pin.
    await benPlan.hover();
    await benPlan.getByRole('button', { name: 'Add a reaction' }).waitFor();
    expect(await benPlan.locator('[data-key="pin"]').count()).toBe(0);
    expect(await benHostile.locator('[data-key="pin"]').count()).toBe(0);
    await openList(ben.page);
    expect(await list(ben.page).locator('.pinned-empty').textContent()).toBe(
      'No pinned messages yet.',
    );

    // Ann pins the HTML-looking message from its actions.
    const pin = await pinControl(annHostile);
    expect(await pin.textContent()).toBe('Pin');
    await pin.click();
    await countIs(ann.page, 1);
    await annHostile.locator('.pin-mark').waitFor();
    // Ben: live, in his open list and on the message, without a reload.
    await countIs(ben.page, 1);
    await benHostile.locator('.pin-mark').waitFor();
    await entries(ben.page).first().waitFor();
    expect(await entryBodies(ben.page)).toEqual([hostile]);
    expect(await entries(ben.page).first().locator('.author').textContent()).toBe('Ann');
    expect(await list(ben.page).locator('img, b, script').count()).toBe(0);
    expect(await list(ben.page).locator('.pinned-empty').isHidden()).toBe(true);
    // Ben may not unpin either.
    expect(await entries(ben.page).locator('[data-action="unpin"]').count()).toBe(0);

    // A second pin goes first: newest pin first, as the server orders them.
    await (await pinControl(annPlan)).click();
    await countIs(ben.page, 2);
    await ben.page.waitForFunction(
      () => document.querySelectorAll('#pinned-panel li.pinned-item').length === 2,
    );
    expect(await entryBodies(ben.page)).toEqual(['the plan: friday', hostile]);
    expect(await pinnedOnServer(room)).toEqual(['the plan: friday', hostile]);
    await shot(ben.page, '18-pinned-list');

    // Choosing an entry closes the list and highlights its message in the log.
    await entries(ben.page).nth(1).locator('button.pinned-open').click();
    await list(ben.page).waitFor({ state: 'hidden' });
    await ben.page
      .locator('ol.messages > li.msg.highlighted', { hasText: '<b>ship</b>' })
      .waitFor();
    expect(await ben.page.locator('ol.messages > li.msg.highlighted').count()).toBe(1);

    // Ann unpins the first from its message: both lists lose it, the marks go.
    const unpin = await pinControl(annHostile);
    expect(await unpin.textContent()).toBe('Unpin');
    await unpin.click();
    await countIs(ann.page, 1);
    await countIs(ben.page, 1);
    await benHostile.locator('.pin-mark').waitFor({ state: 'detached' });
    await openList(ben.page);
    await entries(ben.page).first().waitFor();
    expect(await entryBodies(ben.page)).toEqual(['the plan: friday']);

    // Ann unpins the other from her own list.
    await openList(ann.page);
    await entries(ann.page)
      .first()
      .getByRole('button', { name: /^Unpin/ })
      .click();
    await countIs(ann.page, 0);
    await countIs(ben.page, 0);
    await list(ben.page).locator('.pinned-empty').waitFor();
    expect(await entries(ben.page).count()).toBe(0);
    expect(await pinnedOnServer(room)).toEqual([]);

    // Made an ADMIN of the group, Ben gets the pin control without a reload, and his pin is Ann's news.
    await gqlOk(
      url,
      SET_ROLE,
      { r: room, u: ben.account.user.id, role: 'ADMIN' },
      ann.account.token,
    );
    await benPlan.hover();
    await benPlan.locator('[data-action="pin"]').waitFor();
    await benPlan.locator('[data-action="pin"]').click();
    await countIs(ann.page, 1);
    await annPlan.locator('.pin-mark').waitFor();
    expect(await pinnedOnServer(room)).toEqual(['the plan: friday']);
  });

  it('shows the server’s refusal of a room’s 51st pin, and no pin control in a public room', async () => {
    const room = await group(`Full ${tag}`);
    const sent: { id: string }[] = [];
    for (let i = 1; i <= 51; i++) sent.push(await post(ann, room, `note ${i} of 51`));
    for (const m of sent.slice(0, 50)) await gqlOk(url, PIN, { id: m.id }, ann.account.token);
    await open(room);
    await countIs(ann.page, 50);
    await countIs(ben.page, 50);

    const last = message(ann.page, 'note 51 of 51');
    await last.waitFor();
    const pin = await pinControl(last);
    await pin.click();
    const error = ann.page.locator('form.composer:not(.thread-composer) > .form-error');
    await error.filter({ hasText: 'pinned messages' }).waitFor();
    expect(await error.textContent()).toBe(
      'Id: the room has 50 pinned messages, the most it can hold; unpin one first',
    );
    expect(await last.locator('.pin-mark').count()).toBe(0);
    expect(await (await pinControl(last)).textContent()).toBe('Pin');
    await countIs(ann.page, 50);
    expect((await pinnedOnServer(room)).length).toBe(50);

    // A public room: pins are a site admin's; neither Ann nor Ben sees a control.
    const pub = `pub-${tag}`;
    for (const who of [ann, ben]) await gqlOk(url, JOIN, { n: pub }, who.account.token);
    await post(ben, pub, 'public words');
    await open(pub);
    for (const who of [ann, ben]) {
      const m = message(who.page, 'public words');
      await m.hover();
      await m.getByRole('button', { name: 'Add a reaction' }).waitFor();
      expect(await m.locator('[data-key="pin"]').count()).toBe(0);
      await countIs(who.page, 0);
    }
  });
});
