/**
 * What the browser tests share: Debian's Chromium driven by playwright-core, a watch on each page
 * for dialogs (an XSS would open one), script errors and CSP violations, and the few page
 * actions of a person using the web client. Waits are on page conditions, never on time.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO } from './harness.js';

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
