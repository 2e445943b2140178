/**
 * How loud a kafkajs log line is in conversa's logs. kafkajs logs every error answer of the
 * broker at ERROR before its own code decides what it means; a few of those are expected and
 * handled, and would otherwise print a red ERROR on a clean first start:
 * - `CreateTopics` answering "already exists" for every topic (two services creating the same
 *   topics at once): kafkajs returns normally, so a real creation failure still throws to the
 *   caller of ensureTopics;
 * - a coordinator still loading or not yet elected right after the broker starts: kafkajs
 *   retries.
 */
export type Loudness = 'error' | 'warn' | 'debug';

const EXPECTED_ANSWERS: readonly { request: string; error: RegExp }[] = [
  { request: 'Response CreateTopics', error: /^Topic creation errors$/ },
  { request: 'Response ', error: /^The coordinator is loading|^The group coordinator is not available|^This is not the correct coordinator/ },
];

/** kafkajs levels: 1 ERROR, 2 WARN, 4 INFO, 5 DEBUG (0 NOTHING). */
export function loudness(level: number, message: string, error: unknown): Loudness {
  if (level <= 1) {
    const text = typeof error === 'string' ? error : '';
    if (EXPECTED_ANSWERS.some((a) => message.startsWith(a.request) && a.error.test(text))) return 'debug';
    return 'error';
  }
  return level === 2 ? 'warn' : 'debug';
}
