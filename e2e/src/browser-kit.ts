/**
 * What the browser tests share: Debian's Chromium driven by playwright-core, a watch on each page
 * for dialogs (an XSS would open one), script errors and CSP violations, and the few page
 * actions of a person using the web client. Waits are on page conditions, never on time.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { REPO, gqlOk, register, startSystem, type Session, type System } from './harness.js';

/**
 * The few browser globals read inside pages (this package compiles without the DOM lib).
 * Predicates are functions, not strings: the page's CSP (no 'unsafe-eval') refuses strings.
 */
declare const location: { pathname: string; search: string };
declare const document: { activeElement: { id: string } | null };

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];
export const SHOTS = join(REPO, 'artifacts/screenshots');
/** The password of every account the browser tests make (the harness's `register` uses it too). */
export const PASSWORD = 'correct horse battery';
/** Longest wait for anything on a page, ms: generous for a loaded CI machine. */
export const WAIT_MS = 15_000;

/** Chromium with a profile under a temporary directory of its own; `close` removes both. */
export async function launchChromium(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'conversa-chromium-'));
  // Playwright gives every launch a fresh temporary profile; TMPDIR keeps it under ours.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    env: { ...process.env, TMPDIR: profile },
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** What a page did that a person should never see: dialogs, script errors, CSP refusals. */
export interface Watched {
  name: string;
  dialogs: string[];
  problems: string[];
}

/** Watches a page for dialogs (an XSS would open one), script errors and CSP violations. */
export function watch(p: Watched, page: Page): void {
  page.setDefaultTimeout(WAIT_MS);
  page.on('dialog', (d) => {
    p.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => p.problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text()))
      p.problems.push(`csp: ${m.text()}`);
  });
}

/**
 * Waits until the page's path (plus query) matches: in-page, because the app navigates with
 * the History API, which page.waitForURL can miss when it happens during the initial load.
 */
export const at = (page: Page, re: RegExp, timeout = WAIT_MS) =>
  page.waitForFunction(
    (source) => new RegExp(source).test(location.pathname + location.search),
    re.source,
    { timeout },
  );

export const signIn = async (page: Page, username: string) => {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.locator('form.auth-form').getByRole('button', { name: 'Sign in' }).click();
};

export const composerFocused = (page: Page) =>
  page.waitForFunction(() => document.activeElement?.id === 'composer');

export const send = async (page: Page, text: string) => {
  await page.locator('#composer').fill(text);
  await page.locator('#composer').press('Enter');
};

/** The delivered (not pending) message whose body is exactly `text`. */
export const message = (page: Page, text: string) =>
  page
    .locator('ol.messages:not(.pending) > li.msg')
    .filter({ has: page.locator('p.body', { hasText: text }) });

/** On a failed test, a picture and the text of every open page: they say more than the timeout. */
export async function captureFailure(
  testName: string,
  people: readonly (Watched & { context: BrowserContext })[],
): Promise<void> {
  const slug = testName.replace(/[^a-z0-9]+/gi, '-').slice(0, 40);
  for (const p of people) {
    for (const [i, page] of p.context.pages().entries()) {
      await page
        .screenshot({ path: join(SHOTS, `failed-${slug}-${p.name}-${i}.png`) })
        .catch(() => undefined);
      const text = await page
        .locator('body')
        .innerText()
        .catch(() => '');
      writeFileSync(join(SHOTS, `failed-${slug}-${p.name}-${i}.txt`), `${page.url()}\n\n${text}`);
    }
  }
}

/**
 * The services and Chromium for one describe block, started before its tests (call it first
 * in the block, so its hooks run before the block's own): a picture of every open page after a
 * failed test, and at the end no page of `watched` may have shown a dialog, a script error or
 * a CSP refusal.
 */
export function browserLifecycle(opts: {
  system?: Parameters<typeof startSystem>[0];
  watched: readonly (Watched & { context: BrowserContext })[];
}) {
  let sys: System | undefined;
  let launched: Awaited<ReturnType<typeof launchChromium>> | undefined;
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    [sys, launched] = await Promise.all([startSystem(opts.system), launchChromium()]);
  }, 180_000);
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, opts.watched);
  });
  afterAll(async () => {
    await launched?.close();
    await sys?.stop();
    for (const p of opts.watched) {
      expect(p.dialogs, `${p.name}: dialogs`).toEqual([]);
      expect(p.problems, `${p.name}: page errors`).toEqual([]);
    }
  });
  const started = <T>(v: T | undefined): T => {
    if (v === undefined)
      throw new Error('the browser suite has not started (use it inside tests and hooks)');
    return v;
  };
  return {
    get sys() {
      return started(sys);
    },
    get browser(): Browser {
      return started(launched).browser;
    },
    /** The first gateway's GraphQL endpoint. */
    get url() {
      return started(sys).gateways[0]!.http;
    },
    /** The first gateway's origin, where the web client is served. */
    get base() {
      return `http://127.0.0.1:${started(sys).gateways[0]!.port}`;
    },
  };
}

/** A person with an account and a browser context of their own (the first page is their first tab). */
export interface Person extends Watched {
  account: Session;
  context: BrowserContext;
  page: Page;
}

const SEND_MESSAGE =
  'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { id seq } }';

/**
 * `browserLifecycle` with people who have accounts: `person` registers through the API and
 * signs in through the page, as a person with an account does; `post` sends through the API
 * (each call its own clientMsgId); `shot` saves a screenshot to artifacts/screenshots/.
 */
export function browserSuite(opts: { system?: Parameters<typeof startSystem>[0] } = {}) {
  const people: Person[] = [];
  const life = browserLifecycle({ ...opts, watched: people });
  const tag = randomUUID().slice(0, 6);
  let n = 0;
  return {
    life,
    people,
    tag,
    shot: (page: Page, name: string) =>
      page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false }),
    person: async (name: string): Promise<Person> => {
      const account = await register(life.url, `${name.toLowerCase()}_${tag}`, name);
      const context = await life.browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      const p: Person = { name, account, context, page, dialogs: [], problems: [] };
      watch(p, page);
      people.push(p);
      await page.goto(`${life.base}/signin`);
      await signIn(page, account.user.username);
      await page.getByRole('heading', { name: `Hello, ${name}` }).waitFor();
      return p;
    },
    post: async (who: Person, room: string, body: string) =>
      (
        await gqlOk<{ sendMessage: { id: string; seq: number } }>(
          life.url,
          SEND_MESSAGE,
          { r: room, b: body, c: `c-${tag}-${n++}` },
          who.account.token,
        )
      ).sendMessage,
  };
}
