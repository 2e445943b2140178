/**
 * The product layer of the web client in a real browser (Debian's Chromium, playwright-core)
 * against the real services with the search indexer: the room list with unread badges and
 * mention markers kept right across two tabs of one person (one `inbox` stream per tab, a read
 * in one tab clears the other's badge, a reconnect re-reads), groups created and grown from the
 * UI, a group's member list with roles and the controls each role allows, "seen by" under the
 * newest message, and search results with the matched words marked and hostile bodies shown as
 * text. Every test has rooms of its own; screenshots go to artifacts/screenshots/.
 */
import type { Locator, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  WAIT_MS,
  at,
  composerFocused,
  message,
  send,
  watch,
  browserSuite,
  type Person,
} from './browser-kit.js';
import { eventually, gqlOk } from './harness.js';

declare const sessionStorage: {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
};

const JOIN = 'mutation($n: String!) { joinRoom(name: $n) { id } }';
const CREATE_GROUP =
  'mutation($n: String!, $m: [ID!]!) { createGroup(name: $n, members: $m) { id } }';
const SEARCH = 'query($q: String!) { search(query: $q) { hits { message { id } } } }';

describe('rooms, groups, receipts and search in Chromium', () => {
  const suite = browserSuite({ system: { searches: 1 } });
  const { tag, shot, person, post } = suite;
  let url: string;
  let base: string;
  let ann: Person;
  let ben: Person;
  let cat: Person;

  /** A second tab of the same person with the same session (sessionStorage is per tab). */
  const secondTab = async (p: Person): Promise<Page> => {
    const session = await p.page.evaluate(() => sessionStorage.getItem('conversa.session'));
    expect(session).toBeTruthy();
    const tab = await p.context.newPage();
    watch(p, tab);
    await tab.goto(`${base}/signin`);
    await tab.evaluate((v) => sessionStorage.setItem('conversa.session', v), session!);
    await tab.goto(`${base}/`);
    await tab.getByRole('heading', { name: `Hello, ${p.name}` }).waitFor();
    return tab;
  };

  /** A room of the lobby's "Your rooms" list. */
  const listed = (page: Page, room: string) =>
    page.locator(`ul.room-list.inbox > li.inbox-item[data-room="${room}"]`);
  const listedIds = (page: Page) =>
    page
      .locator('ul.room-list.inbox > li.inbox-item')
      .evaluateAll((els: { getAttribute(name: string): string | null }[]) =>
        els.map((e) => e.getAttribute('data-room')),
      );
  const gone = (l: Locator) => l.waitFor({ state: 'detached' });
  const text = async (l: Locator) => (await l.textContent())?.trim();

  /** [name, role] of each member, as the member list shows them. */
  const roles = (page: Page) =>
    page
      .locator('.members-panel li.member')
      .evaluateAll((els: { querySelector(s: string): { textContent: string | null } | null }[]) =>
        els.map((e) => [
          e.querySelector('.person-name')?.textContent ?? '',
          e.querySelector('.role')?.textContent ?? '',
        ]),
      );
  const rolesAre = (page: Page, want: string[][]) =>
    eventually(`the member list ${JSON.stringify(want)}`, async () =>
      JSON.stringify(await roles(page)) === JSON.stringify(want) ? true : undefined,
    );

  beforeAll(async () => {
    ({ url, base } = suite.life);
    [ann, ben, cat] = await Promise.all([person('Ann'), person('Ben'), person('Cat')]);
  }, 180_000);

  it('keeps the room list’s badges right in two tabs: read in one, cleared in the other, re-read after a reconnect', async () => {
    const news = `news-${tag}`;
    const quiet = `quiet-${tag}`;
    for (const r of [quiet, news])
      for (const who of [ann, ben]) await gqlOk(url, JOIN, { n: r }, who.account.token);
    const tabA = ann.page;
    // Tab A was open before Ann joined the rooms (they came as ADDED); tab B opens now.
    const tabB = await secondTab(ann);

    // Ben writes three messages in news, one of them mentioning Ann; the quiet room stays older.
    await post(ben, quiet, 'nothing much');
    await post(ben, news, 'first');
    await post(ben, news, `@${ann.account.user.username} have a look`);
    const third = await post(ben, news, 'third');
    for (const tab of [tabA, tabB]) {
      const item = listed(tab, news);
      await item.locator('.unread-badge', { hasText: /^3$/ }).waitFor();
      expect(await text(item.locator('.mention-badge'))).toBe('@');
      expect(await item.locator('.mention-badge').getAttribute('title')).toBe('1 mentioning you');
      expect(await text(item.locator('.preview'))).toBe('Ben: third');
      expect(await text(listed(tab, quiet).locator('.unread-badge'))).toBe('1');
      // Most recent activity first; the top bar counts every room.
      expect(await listedIds(tab)).toEqual([news, quiet]);
      await tab.locator('.topbar .unread-total', { hasText: /^4$/ }).waitFor();
    }
    await shot(tabB, '10-room-list-badges');

    // Tab A opens news and sees its newest message: tab B's badge and marker go away.
    await listed(tabA, news).locator('a').click();
    await at(tabA, new RegExp(`^/room/${news}$`));
    await message(tabA, 'third').waitFor();
    await gone(listed(tabB, news).locator('.unread-badge'));
    expect(await listed(tabB, news).locator('.mention-badge').count()).toBe(0);
    expect(await text(listed(tabB, quiet).locator('.unread-badge'))).toBe('1');
    await tabB.locator('.topbar .unread-total', { hasText: /^1$/ }).waitFor();
    // In the room, the way back says what is unread elsewhere.
    expect(await text(tabA.getByRole('link', { name: 'Back to the lobby' }))).toBe('←1');
    const read = await gqlOk<{ room: { lastReadSeq: number } }>(
      url,
      'query($r: ID!) { room(id: $r) { lastReadSeq } }',
      { r: news },
      ann.account.token,
    );
    expect(read.room.lastReadSeq).toBe(third.seq);

    // A message while tab A shows the room: read there at once, so tab B never keeps a badge.
    await post(ben, news, 'while you look');
    await message(tabA, 'while you look').waitFor();
    await eventually('tab B: news read', async () =>
      (await listed(tabB, news).locator('.preview').textContent()) === 'Ben: while you look' &&
      (await listed(tabB, news).locator('.unread-badge').count()) === 0
        ? true
        : undefined,
    );

    // Both tabs lose the connection; what happens meanwhile is read again when it is back.
    await ann.context.setOffline(true);
    await tabB.locator('.conn', { hasText: 'Reconnecting…' }).waitFor();
    await post(ben, quiet, 'missed one');
    await post(ben, quiet, `missed two @${ann.account.user.username}`);
    await ann.context.setOffline(false);
    await listed(tabB, quiet).locator('.unread-badge', { hasText: /^3$/ }).waitFor();
    expect(await text(listed(tabB, quiet).locator('.mention-badge'))).toBe('@');
    expect(await listedIds(tabB)).toEqual([quiet, news]);
    await tabB.locator('.topbar .unread-total', { hasText: /^3$/ }).waitFor();
    await tabB.close();
  });

  it('creates a group from the lobby and adds people to it from its member list', async () => {
    const name = `Book club ${tag}`;
    await ann.page.goto(`${base}/`);
    await ann.page.getByLabel('Group name', { exact: true }).fill(name);
    await ann.page.getByLabel('People', { exact: true }).fill(`@${ben.account.user.username}`);
    await shot(ann.page, '11-create-group');
    await ann.page.getByRole('button', { name: 'Create group' }).click();
    await at(ann.page, /^\/room\/grp-[^/]+$/);
    const group = new URL(ann.page.url()).pathname.split('/').pop()!;
    // The heading shows the room's id until the room has loaded.
    await ann.page.getByRole('heading', { level: 1, name }).waitFor();
    expect(await text(ann.page.getByRole('heading', { level: 1 }))).toBe(`◆${name}`);
    expect(await text(ann.page.locator('.room-head .badge'))).toBe('group');
    await composerFocused(ann.page);

    // Ben's lobby shows the new group without a reload (ADDED on his inbox stream).
    await ben.page.goto(`${base}/`);
    await listed(ben.page, group).waitFor();
    expect(await text(listed(ben.page, group).locator('.room-name'))).toBe(name);
    await send(ann.page, 'welcome to the club');
    await listed(ben.page, group).locator('.unread-badge', { hasText: /^1$/ }).waitFor();

    // Cat is not in it: the group is not in her list, its address is refused.
    await cat.page.goto(`${base}/room/${group}`);
    await cat.page.getByRole('heading', { name: 'You cannot open this conversation' }).waitFor();
    expect(await text(cat.page.getByRole('alert').first())).toContain('only its members');

    // Ann adds Cat from the member list; an unknown username is named, nothing is added.
    await ann.page.getByLabel('Add people', { exact: true }).fill('nobody_at_all');
    await ann.page.getByRole('button', { name: 'Add', exact: true }).click();
    await ann.page.getByText('No one is called @nobody_at_all.').waitFor();
    await ann.page.getByLabel('Add people', { exact: true }).fill(cat.account.user.username);
    await ann.page.getByRole('button', { name: 'Add', exact: true }).click();
    await rolesAre(ann.page, [
      ['Ann (you)', 'OWNER'],
      ['Ben', 'MEMBER'],
      ['Cat', 'MEMBER'],
    ]);
    await cat.page.goto(`${base}/`);
    await listed(cat.page, group).waitFor();
    await listed(cat.page, group).locator('a').click();
    await message(cat.page, 'welcome to the club').waitFor();
  });

  it('lists a group’s members with their roles, and shows each role only the controls it allows', async () => {
    const crew = (
      await gqlOk<{ createGroup: { id: string } }>(
        url,
        CREATE_GROUP,
        { n: `Crew ${tag}`, m: [ben.account.user.id, cat.account.user.id] },
        ann.account.token,
      )
    ).createGroup.id;
    await ann.page.goto(`${base}/room/${crew}`);
    await ben.page.goto(`${base}/room/${crew}`);
    const all = [
      ['Ann', 'OWNER'],
      ['Ben', 'MEMBER'],
      ['Cat', 'MEMBER'],
    ];
    const asSeenBy = (me: string) => all.map(([n, r]) => [n === me ? `${n} (you)` : n!, r!]);
    await rolesAre(ann.page, asSeenBy('Ann'));
    await rolesAre(ben.page, asSeenBy('Ben'));
    expect(await text(ann.page.locator('#members-heading'))).toBe('Members 3');

    // The OWNER: add, remove, and make admins; never on herself.
    const annPanel = ann.page.locator('.members-panel');
    expect(await annPanel.getByLabel('Add people', { exact: true }).isVisible()).toBe(true);
    for (const label of ['Remove Ben', 'Make Ben an admin', 'Remove Cat', 'Make Cat an admin'])
      expect(await annPanel.getByRole('button', { name: label }).count(), label).toBe(1);
    expect(await annPanel.locator('li.member[data-user] button').count()).toBe(4);

    // A MEMBER: the list, no controls at all.
    const benPanel = ben.page.locator('.members-panel');
    expect(await benPanel.getByLabel('Add people', { exact: true }).isVisible()).toBe(false);
    expect(await benPanel.locator('button:visible').count()).toBe(0);
    await shot(ann.page, '12-member-list');

    // Ann makes Ben an admin: both lists show it (Ben's live, through his inbox stream), and Ben
    // may now add people and remove Cat, but not remove the OWNER nor change roles.
    await annPanel.getByRole('button', { name: 'Make Ben an admin' }).click();
    const withAdmin = [
      ['Ann', 'OWNER'],
      ['Ben', 'ADMIN'],
      ['Cat', 'MEMBER'],
    ];
    await rolesAre(
      ann.page,
      withAdmin.map(([n, r]) => [n === 'Ann' ? 'Ann (you)' : n!, r!]),
    );
    await rolesAre(
      ben.page,
      withAdmin.map(([n, r]) => [n === 'Ben' ? 'Ben (you)' : n!, r!]),
    );
    await benPanel.getByLabel('Add people', { exact: true }).waitFor();
    expect(await benPanel.getByRole('button', { name: 'Remove Cat' }).count()).toBe(1);
    expect(await benPanel.getByRole('button', { name: 'Remove Ann' }).count()).toBe(0);
    expect(await benPanel.getByRole('button', { name: /^Make / }).count()).toBe(0);
    expect(await annPanel.getByRole('button', { name: 'Make Ben a member' }).count()).toBe(1);
    await shot(ben.page, '12b-member-list-admin');

    // Ben removes Cat: gone from both lists.
    await benPanel.getByRole('button', { name: 'Remove Cat' }).click();
    await rolesAre(ann.page, [
      ['Ann (you)', 'OWNER'],
      ['Ben', 'ADMIN'],
    ]);
    await rolesAre(ben.page, [
      ['Ann', 'OWNER'],
      ['Ben (you)', 'ADMIN'],
    ]);
  });

  it('shows “seen by” under the newest message of a small room, live as the others read', async () => {
    const room = `seen-${tag}`;
    for (const who of [ann, ben]) await gqlOk(url, JOIN, { n: room }, who.account.token);
    await ann.page.goto(`${base}/room/${room}`);
    await composerFocused(ann.page);
    await send(ann.page, 'did you see this?');
    await message(ann.page, 'did you see this?').waitFor();
    const annSeen = ann.page.locator('.seen-by');
    expect(await annSeen.isVisible()).toBe(false);

    // Ben opens the room and so reads the message: Ann's page says so, without a reload.
    await ben.page.goto(`${base}/room/${room}`);
    await message(ben.page, 'did you see this?').waitFor();
    await ann.page.locator('.seen-by', { hasText: /^Seen by Ben$/ }).waitFor();
    // Under Ann's own message, on her side.
    expect(await annSeen.getAttribute('class')).toContain('mine');
    // Ben's page: the newest message is Ann's, and Ann wrote it: nobody else has seen it.
    expect(await ben.page.locator('.seen-by').isVisible()).toBe(false);
    await shot(ann.page, '13-seen-by');

    // Ben answers; Ann has the room on screen, so she reads it, and Ben's page says so. The line
    // moves to the newest message: Ann's old one no longer carries it.
    await send(ben.page, 'yes, just now');
    await message(ann.page, 'yes, just now').waitFor();
    await ben.page.locator('.seen-by', { hasText: /^Seen by Ann$/ }).waitFor();
    await eventually('Ann: nobody else has seen Ben’s answer', async () =>
      (await annSeen.isVisible()) ? undefined : true,
    );
  });

  it('searches from the top bar: matched words marked, a body that looks like HTML shown as text', async () => {
    const room = `search-${tag}`;
    for (const who of [ann, ben]) await gqlOk(url, JOIN, { n: room }, who.account.token);
    const hostile = `<b>deployment</b> <img src=x onerror=alert(1)> notes ${tag}`;
    const plain = `The deployment of the new release is on Friday ${tag}`;
    const ids = [(await post(ben, room, plain)).id, (await post(ben, room, hostile)).id];
    // The index is fed by its own consumer: wait until both are searchable.
    await eventually(
      'both messages indexed',
      async () => {
        const d = await gqlOk<{ search: { hits: { message: { id: string } }[] } }>(
          url,
          SEARCH,
          { q: `deplo ${tag}` },
          ann.account.token,
        );
        return ids.every((id) => d.search.hits.some((h) => h.message.id === id)) ? true : undefined;
      },
      30_000,
    );

    await ann.page.goto(`${base}/`);
    await ann.page.getByLabel('Search messages', { exact: true }).fill(`deplo ${tag}`);
    await ann.page.getByLabel('Search messages', { exact: true }).press('Enter');
    await at(ann.page, /^\/search\?q=/);
    await ann.page.getByRole('heading', { name: `Results for “deplo ${tag}”` }).waitFor();
    const hit = (id: string) => ann.page.locator(`li.hit[data-message="${id}"]`);
    await hit(ids[0]!).waitFor();
    await hit(ids[1]!).waitFor();
    const marks = (id: string) =>
      hit(id)
        .locator('.snippet mark')
        .evaluateAll((els: { textContent: string | null }[]) => els.map((e) => e.textContent));

    // The plain one: its words as they are, the matched ones marked.
    expect(await text(hit(ids[0]!).locator('.snippet'))).toBe(plain);
    expect(await marks(ids[0]!)).toEqual(['deployment', tag]);
    expect(await text(hit(ids[0]!).locator('.hit-room'))).toBe(`#${room}`);
    expect(await text(hit(ids[0]!).locator('.author'))).toBe('Ben');

    // The hostile one: every character shown as text, no element made of it, no script run.
    expect(await text(hit(ids[1]!).locator('.snippet'))).toBe(hostile);
    expect(await marks(ids[1]!)).toEqual(['deployment', tag]);
    expect(await hit(ids[1]!).locator('.snippet img, .snippet b, .snippet script').count()).toBe(0);
    expect(ann.dialogs).toEqual([]);
    await shot(ann.page, '14-search-results');

    // A reload of the results' address works (the gateway serves /search), and a hit leads to its room.
    await ann.page.reload();
    await hit(ids[1]!).waitFor();
    await hit(ids[0]!).locator('.hit-room').click();
    await at(ann.page, new RegExp(`^/room/${room}$`));
    await message(ann.page, plain).waitFor({ timeout: WAIT_MS });

    // Nothing found says so.
    await ann.page.getByLabel('Search messages', { exact: true }).fill(`zeppelin${tag}`);
    await ann.page.getByLabel('Search messages', { exact: true }).press('Enter');
    await ann.page.getByText(`No messages match “zeppelin${tag}”.`).waitFor();
  });
});
