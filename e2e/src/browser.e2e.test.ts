/**
 * The web client and GraphiQL in a real browser (Debian's Chromium driven by playwright-core)
 * against the real services, started as processes by the harness. Screenshots of the main
 * screens go to artifacts/screenshots/.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  PASSWORD,
  SHOTS,
  at,
  composerFocused,
  message,
  send,
  signIn,
  watch,
  type Watched,
  browserLifecycle,
} from './browser-kit.js';
import { E2E_JWT_SECRET, gql, gqlOk, register } from './harness.js';

/**
 * The few browser globals read inside pages (this package compiles without the DOM lib).
 * Predicates are functions, not strings: the page's CSP (no 'unsafe-eval') refuses strings.
 */
declare const document: {
  activeElement: { id: string } | null;
  documentElement: { scrollWidth: number; clientWidth: number };
};
declare const sessionStorage: { setItem(key: string, value: string): void };

interface Person extends Watched {
  username: string;
  context: BrowserContext;
  page: Page;
}

describe('the web client and GraphiQL in Chromium', () => {
  const people: Person[] = [];
  const life = browserLifecycle({ watched: people });
  let base: string;
  const tag = randomUUID().slice(0, 6);
  const room = `lounge-${tag}`;
  let ann: Person;
  let ben: Person;
  let dmPath = '';

  const shot = async (page: Page, name: string) => {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
  };

  const person = async (
    name: string,
    opts: Parameters<Browser['newContext']>[0] = {},
  ): Promise<Person> => {
    const context = await life.browser.newContext({
      viewport: { width: 1280, height: 800 },
      ...opts,
    });
    const page = await context.newPage();
    const p: Person = {
      name,
      username: `${name.toLowerCase()}_${tag}`,
      context,
      page,
      dialogs: [],
      problems: [],
    };
    watch(p, page);
    people.push(p);
    return p;
  };

  const signUp = async (p: Person) => {
    await p.page.goto(`${base}/`);
    await at(p.page, /^\/signin/);
    await p.page.getByRole('button', { name: 'Create account' }).first().click();
    await p.page.getByLabel('Username').fill(p.username);
    await p.page.getByLabel('Display name').fill(p.name);
    await p.page.getByLabel('Password').fill(PASSWORD);
    await p.page.locator('form.auth-form').getByRole('button', { name: 'Create account' }).click();
    await p.page.getByRole('heading', { name: `Hello, ${p.name}` }).waitFor();
  };

  const seqsOf = async (page: Page): Promise<number[]> =>
    page
      .locator('ol.messages:not(.pending) > li.msg')
      .evaluateAll((els: { getAttribute(name: string): string | null }[]) =>
        els.map((e) => Number(e.getAttribute('data-seq'))),
      );

  const noHorizontalOverflow = async (page: Page) => {
    const [scroll, client] = await page.evaluate(() => [
      document.documentElement.scrollWidth,
      document.documentElement.clientWidth,
    ]);
    expect(scroll, 'page width').toBeLessThanOrEqual(client);
  };

  beforeAll(async () => {
    base = life.base;
    ann = await person('Ann');
    ben = await person('Ben');
  });

  it('lets two people sign up, join a room and talk both ways', async () => {
    await ann.page.goto(`${base}/`);
    await at(ann.page, /^\/signin/);
    await ann.page.getByRole('heading', { name: 'Welcome' }).waitFor();
    await shot(ann.page, '01-sign-in');
    await Promise.all([signUp(ann), signUp(ben)]);

    // Ann creates the room from the lobby's box; the composer has focus when it opens.
    await ann.page.getByLabel('Join or create a room').fill(room);
    await ann.page.getByLabel('Join or create a room').press('Enter');
    await at(ann.page, new RegExp(`^/room/${room}$`));
    await composerFocused(ann.page);
    await send(ann.page, 'Hi Ben, welcome to the lounge');
    await message(ann.page, 'Hi Ben, welcome to the lounge').waitFor();

    // Ben sees the room among the public ones (and Ann online), joins it the same way.
    await ben.page.reload();
    await ben.page.getByRole('link', { name: new RegExp(room) }).waitFor();
    await ben.page.locator('.people .person', { hasText: 'Ann' }).waitFor();
    await shot(ben.page, '02-lobby');
    await ben.page.getByLabel('Join or create a room').fill(room);
    await ben.page.getByRole('button', { name: 'Join', exact: true }).click();
    await at(ben.page, new RegExp(`^/room/${room}$`));
    await composerFocused(ben.page);

    const fromAnn = message(ben.page, 'Hi Ben, welcome to the lounge');
    await fromAnn.waitFor();
    expect(await fromAnn.locator('.author').textContent()).toBe('Ann');
    expect(await fromAnn.getAttribute('class')).not.toContain('mine');

    // Shift+Enter is a new line; Enter sends.
    await ben.page.locator('#composer').pressSequentially('Thanks Ann!');
    await ben.page.locator('#composer').press('Shift+Enter');
    await ben.page.locator('#composer').pressSequentially('Glad to be here.');
    await ben.page.locator('#composer').press('Enter');
    const fromBen = message(ann.page, 'Glad to be here.');
    await fromBen.waitFor();
    expect(await fromBen.locator('.author').textContent()).toBe('Ben');
    expect(await fromBen.locator('.body').textContent()).toBe('Thanks Ann!\nGlad to be here.');
    expect(await message(ben.page, 'Glad to be here.').getAttribute('class')).toContain('mine');
    expect(await ben.page.locator('#composer').inputValue()).toBe('');

    // Both see who is online in the room and the same log.
    await ann.page.locator('#room-people .person', { hasText: 'Ben' }).waitFor();
    expect(await seqsOf(ann.page)).toEqual([1, 2]);
    expect(await seqsOf(ben.page)).toEqual([1, 2]);

    // Ann edits her message; Ben deletes his: both see it, the deletion as a placeholder.
    const annMsg = message(ann.page, 'Hi Ben, welcome to the lounge');
    await annMsg.hover();
    await annMsg.getByRole('button', { name: /^Edit message/ }).click();
    await ann.page.locator('.edit-field').fill('Hi Ben, welcome to the lounge!');
    await ann.page.locator('.edit-field').press('Enter');
    await message(ben.page, 'Hi Ben, welcome to the lounge!').locator('.edited').waitFor();
    await ben.page.locator('#composer').fill('a message to take back');
    await ben.page.locator('#composer').press('Enter');
    const regret = message(ben.page, 'a message to take back');
    await message(ann.page, 'a message to take back').waitFor();
    await regret.hover();
    await regret.getByRole('button', { name: /^Delete message/ }).click();
    await ben.page.getByRole('button', { name: 'Delete', exact: true }).click();
    await ann.page.locator('li.msg.gone', { hasText: 'message deleted' }).waitFor();
    await ben.page.locator('li.msg.gone', { hasText: 'message deleted' }).waitFor();
    expect(await ann.page.locator('ol.messages:not(.pending)').textContent()).not.toContain(
      'a message to take back',
    );

    // Typing shows up for the other person. Typing signals are best effort (never stored, at
    // most one per 2 s), so Ann types as a person does: on and on, until Ben sees it.
    const typed = ann.page
      .locator('#composer')
      .pressSequentially('a longer sentence, typed at a steady pace', { delay: 120 });
    await ben.page.locator('.typing', { hasText: 'Ann is typing…' }).waitFor();
    await typed;
    await ann.page.locator('#composer').fill('');
    await shot(ann.page, '03-room');
  });

  it('opens a private room from the online list; the other opens it by its link after sign-in; a third person is refused', async () => {
    await ann.page.getByRole('link', { name: 'Back to the lobby' }).click();
    await ann.page.getByRole('button', { name: 'Message Ben' }).click();
    await at(ann.page, /^\/dm\/[^/]+$/);
    dmPath = new URL(ann.page.url()).pathname;
    await composerFocused(ann.page);
    await send(ann.page, 'psst, just between us');
    await message(ann.page, 'psst, just between us').waitFor();
    expect(await ann.page.getByRole('heading', { level: 1 }).textContent()).toContain('Ben');

    // A new tab of Ben's has no session yet: the link leads through sign-in, then straight in.
    const benTab = await ben.context.newPage();
    watch(ben, benTab);
    await benTab.goto(base + dmPath);
    await at(benTab, /^\/signin\?next=/);
    await signIn(benTab, ben.username);
    await at(benTab, new RegExp(`^${dmPath}$`));
    const psst = message(benTab, 'psst, just between us');
    await psst.waitFor();
    expect(await psst.locator('.author').textContent()).toBe('Ann');
    expect(await benTab.getByRole('heading', { level: 1 }).textContent()).toContain('Ann');
    await send(benTab, 'ok, between us');
    await message(ann.page, 'ok, between us').waitFor();
    await shot(ann.page, '04-private-room');
    await benTab.close();

    // Cat signs up and uses the keyboard alone: Tab to the join box, Enter, type, Enter.
    const cat = await person('Cat');
    await signUp(cat);
    for (
      let i = 0;
      i < 10 && !(await cat.page.evaluate(() => document.activeElement?.id === 'join-name'));
      i++
    )
      await cat.page.keyboard.press('Tab');
    await cat.page.keyboard.type(`keys-${tag}`);
    await cat.page.keyboard.press('Enter');
    await composerFocused(cat.page);
    await cat.page.keyboard.type('typed without a mouse');
    await cat.page.keyboard.press('Enter');
    await message(cat.page, 'typed without a mouse').waitFor();

    // Then she tries Ann and Ben's link: a clear refusal, not a blank page.
    await cat.page.goto(base + dmPath);
    await cat.page.getByRole('heading', { name: 'You cannot open this conversation' }).waitFor();
    expect(await cat.page.getByRole('alert').first().textContent()).toContain(
      'belongs to two other people',
    );
    expect(await cat.page.content()).not.toContain('psst');
    await shot(cat.page, '05-refused-link');
    await cat.page.goto(`${base}/room/no-such-room-${tag}`);
    await cat.page.getByRole('heading', { name: 'Room not found' }).waitFor();
    await cat.page.goto(`${base}/what/is/this`);
    await cat.page.getByRole('heading', { name: 'Page not found' }).waitFor();
    await cat.page.getByRole('button', { name: 'Sign out' }).click();
    await at(cat.page, /^\/signin$/);
    await cat.page.goto(`${base}/`);
    await at(cat.page, /^\/signin$/);
    await cat.context.close();
  });

  it('survives the network dropping: shows reconnecting, then misses nothing and doubles nothing', async () => {
    await ann.page.goto(`${base}/room/${room}`);
    await ben.page.goto(`${base}/room/${room}`);
    await message(ben.page, 'Glad to be here.').waitFor();
    await composerFocused(ann.page);
    const before = await seqsOf(ben.page);

    await ben.context.setOffline(true);
    await ben.page.locator('.conn', { hasText: 'Reconnecting…' }).waitFor();
    await shot(ben.page, '06-reconnecting');
    // Ben writes while offline: kept as "not sent", sent once the connection is back.
    await send(ben.page, 'written while offline');
    await ben.page.locator('ol.pending li.failed', { hasText: 'written while offline' }).waitFor();
    const missed = ['missed one', 'missed two', 'missed three'];
    for (const m of missed) {
      await send(ann.page, m);
      await message(ann.page, m).waitFor();
    }
    expect(await message(ben.page, 'missed one').count()).toBe(0);

    await ben.context.setOffline(false);
    for (const m of missed) await message(ben.page, m).waitFor();
    await message(ann.page, 'written while offline').waitFor();
    await message(ben.page, 'written while offline').waitFor();
    await ben.page.locator('.conn:empty').waitFor({ state: 'attached' });
    expect(await ben.page.locator('ol.pending > li').count()).toBe(0);
    for (const m of [...missed, 'written while offline']) {
      expect(await message(ben.page, m).count(), m).toBe(1);
      expect(await message(ann.page, m).count(), m).toBe(1);
    }
    const after = await seqsOf(ben.page);
    const last = before.at(-1)!;
    expect(after).toEqual([...before, last + 1, last + 2, last + 3, last + 4]);
    expect(await seqsOf(ann.page)).toEqual(after);
  });

  it('loads earlier messages when scrolling up, without gaps or doubles', async () => {
    const history = `history-${tag}`;
    const url = life.url;
    // Nine writers of seven messages each: moderation mutes anyone who floods a room.
    const writers = await Promise.all(
      Array.from({ length: 9 }, (_, i) => register(url, `h${i}_${tag}`, `Writer ${i}`)),
    );
    const send =
      'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { seq } }';
    await Promise.all(
      writers.map(async (w, i) => {
        await gqlOk(
          url,
          'mutation($n: String!) { joinRoom(name: $n) { id } }',
          { n: history },
          w.token,
        );
        for (let j = 0; j < 7; j++)
          await gqlOk(url, send, { r: history, b: `old message ${i}.${j}`, c: `h-${j}` }, w.token);
      }),
    );
    const stored = (
      await gqlOk<{ messages: { messages: { seq: number }[] } }>(
        url,
        'query($r: ID!) { messages(room: $r, limit: 200) { messages { seq } } }',
        { r: history },
        writers[0]!.token,
      )
    ).messages.messages.map((m) => m.seq);
    expect(stored).toHaveLength(63);
    await ann.page.goto(`${base}/room/${history}`);
    await ann.page.locator(`li.msg[data-seq="${stored.at(-1)}"]`).waitFor();
    expect(await seqsOf(ann.page)).toEqual(stored.slice(-50));
    // Scrolling to the top fetches the page before the oldest loaded message.
    await ann.page.locator('.log').evaluate((el: { scrollTop: number }) => {
      el.scrollTop = 0;
    });
    await ann.page.locator(`li.msg[data-seq="${stored[0]}"]`).waitFor();
    expect(await seqsOf(ann.page)).toEqual(stored);
    await ann.page.getByText('This is the beginning of #').waitFor();
  });

  it('renders hostile bodies as text and keeps the layout, on a desktop and on a phone', async () => {
    const img = '<img src=x onerror=alert(1)>';
    const script = '<script>alert("xss")</script>';
    const word = 'W'.repeat(4_000);
    await ann.page.goto(`${base}/room/${room}`);
    await composerFocused(ann.page);
    await send(ann.page, img);
    await send(ann.page, script);
    await send(ann.page, word);
    for (const text of [img, script]) {
      const m = message(ben.page, text);
      await m.waitFor();
      expect(await m.locator('.body').textContent()).toBe(text);
      expect(await m.locator('.body img, .body script').count()).toBe(0);
    }
    await message(ben.page, word).waitFor();
    await noHorizontalOverflow(ben.page);
    await noHorizontalOverflow(ann.page);
    expect(ben.dialogs).toEqual([]);
    expect(ann.dialogs).toEqual([]);

    // A phone: Dee signs up on a small touch screen, reads the room, joins it and writes.
    const dee = await person('Dee', {
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    await signUp(dee);
    await dee.page.goto(`${base}/room/${room}`);
    await message(dee.page, word).waitFor();
    await dee.page.getByRole('button', { name: `Join #${room}` }).click();
    await composerFocused(dee.page);
    await send(dee.page, 'Hello from my phone');
    await message(ann.page, 'Hello from my phone').waitFor();
    await noHorizontalOverflow(dee.page);
    await dee.page.getByRole('button', { name: /^Online/ }).click();
    await dee.page.locator('#room-people.open .person', { hasText: 'Ann' }).waitFor();
    await dee.page.getByRole('button', { name: /^Online/ }).click();
    await shot(dee.page, '07-phone-room');
    await dee.context.close();
  });

  it('hides a banned-word message for the others once moderation acts', async () => {
    // Moderation is there (and admin-only): a non-admin's look at its actions is refused.
    const probe = await gql(
      life.url,
      '{ moderationActions { id } }',
      {},
      (await register(life.url, `probe_${tag}`, 'Probe')).token,
    );
    expect(probe.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await ann.page.goto(`${base}/room/${room}`);
    await composerFocused(ann.page);
    await send(ann.page, 'what a load of bullshit');
    await ben.page.locator('li.msg.gone', { hasText: 'message hidden by a moderator' }).waitFor();
    expect(await ben.page.locator('ol.messages:not(.pending)').textContent()).not.toContain(
      'bullshit',
    );
  });

  it('sends a person whose session expired back to sign-in, with the draft kept', async () => {
    const eve = await person('Eve');
    const account = await register(life.url, eve.username, 'Eve');
    await gqlOk(
      life.url,
      'mutation($n: String!) { joinRoom(name: $n) { id } }',
      { n: room },
      account.token,
    );
    // A session token that ends in 6 s, signed like the gateway's own.
    const now = Math.floor(Date.now() / 1000);
    const short = await new SignJWT({ username: account.user.username, role: 'USER' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(account.user.id)
      .setIssuer('conversa')
      .setIssuedAt(now)
      .setExpirationTime(now + 6)
      .sign(new TextEncoder().encode(E2E_JWT_SECRET));
    const session = {
      token: short,
      expiresAt: new Date((now + 6) * 1000).toISOString(),
      user: account.user,
    };
    await eve.page.goto(`${base}/signin`);
    await eve.page.evaluate(
      (value) => sessionStorage.setItem('conversa.session', value),
      JSON.stringify(session),
    );
    await eve.page.goto(`${base}/room/${room}`);
    await composerFocused(eve.page);
    const draft = 'half a thought,\nnot sent yet';
    await eve.page.locator('#composer').fill(draft);

    // The gateway closes the socket (4403) when the token ends: back to sign-in, with a reason.
    await at(eve.page, /^\/signin\?next=%2Froom%2F/, 12_000);
    await eve.page.getByText('Your session has expired').waitFor();
    await shot(eve.page, '08-session-expired');
    await signIn(eve.page, eve.username);
    await at(eve.page, new RegExp(`^/room/${room}$`));
    await composerFocused(eve.page);
    expect(await eve.page.locator('#composer').inputValue()).toBe(draft);
    await eve.context.close();
  });

  it('runs a GraphiQL subscription that receives a message sent from the web page', async () => {
    // Resume after the newest message Ben has: whatever he sends next arrives whether it beats
    // the subscription's start or not (replay, then live), exactly once.
    const after = Math.max(...(await seqsOf(ben.page)));
    const query =
      'subscription OnMessage($room: ID!, $after: Int) { messageAdded(room: $room, after: $after) { seq body author { displayName } } }';
    const variables = JSON.stringify({ room, after });
    // Same tab as Ann's chat: GraphiQL picks up her token for the Authorization header.
    await ann.page.goto(
      `${base}/graphql?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(variables)}`,
    );
    await ann.page.locator('.graphiql-container').waitFor();
    await ann.page
      .locator('.graphiql-query-editor .view-lines', { hasText: 'OnMessage' })
      .waitFor();
    await ann.page.locator('.graphiql-execute-button').click();
    const body = `graphiql-${tag}`;
    await send(ben.page, body);
    await ann.page.locator('.graphiql-response', { hasText: body }).waitFor();
    expect(await ann.page.locator('.graphiql-response').textContent()).toContain('Ben');
    await shot(ann.page, '09-graphiql');
  });
});
