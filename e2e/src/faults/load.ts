/**
 * The fault suite's clients: senders that retry a send with the same clientMsgId until it is
 * acknowledged (as a real client would), and subscribers that resume with `after` whenever
 * their socket drops (and sometimes on purpose), recording every seq they receive.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface Ack {
  id: string;
  room: string;
  seq: number;
  clientMsgId: string;
}

export interface Gateways {
  /** Live gateway base URLs (http://127.0.0.1:port). Faults replace entries. */
  list(): string[];
}

const RETRYABLE = new Set(['UNAVAILABLE', 'OUTCOME_UNKNOWN', 'RATE_LIMITED', 'INTERNAL_SERVER_ERROR']);
const SEND = 'mutation($room: ID!, $body: String!, $c: String!, $p: ID) { sendMessage(room: $room, body: $body, clientMsgId: $c, parentId: $p) { id room seq clientMsgId } }';
const REACT = 'mutation($id: ID!, $e: String!) { react(messageId: $id, emoji: $e) { id } }';
const MARK_READ = 'mutation($r: ID!, $s: Int!) { markRead(room: $r, seq: $s) { lastReadSeq } }';
const DELETE = 'mutation($id: ID!) { deleteMessage(id: $id) { id status } }';

/** Called for each answer that was not a success and is retried (its error code, or `unreachable`). */
export type OnRetry = (code: string) => void;

/**
 * One idempotent GraphQL request (a send with its clientMsgId, an edit to a given body, a react,
 * a join…), retried on whichever gateway is up until it succeeds or `deadline`: refused
 * (saturated, rate-limited: nothing done) and outcome unknown are retried as a client would;
 * any other error throws. Returns the `data`, or undefined at the deadline.
 */
export async function requestUntilDone<T>(gw: Gateways, token: string, query: string, variables: Record<string, unknown>, deadline: number, onRetry?: OnRetry): Promise<T | undefined> {
  let attempt = 0;
  while (Date.now() < deadline) {
    const list = gw.list();
    const base = list[attempt++ % list.length];
    try {
      const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(15_000),
      });
      const json = (await res.json()) as { data?: T | null; errors?: { extensions?: { code?: string } }[] };
      if (json.data && !json.errors?.length) return json.data;
      const code = json.errors?.[0]?.extensions?.code;
      // Refused (saturated, rate-limited: not done) or outcome unknown: a client retries it.
      if (code && !RETRYABLE.has(code)) throw new Error(`request refused: ${JSON.stringify(json.errors)}`);
      onRetry?.(code ?? 'no code');
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('request refused')) throw e;
      /* unreachable gateway, timeout, reset: retry */
      onRetry?.('unreachable');
    }
    await new Promise((r) => setTimeout(r, Math.min(1_000, 100 * attempt)));
  }
  return undefined;
}

/** Sends one message (a reply in `parentId`'s thread if given), retrying the same clientMsgId until acknowledged or `deadline`. */
export async function sendUntilAcked(gw: Gateways, token: string, room: string, body: string, deadline: number, onRetry?: OnRetry, parentId?: string): Promise<Ack | undefined> {
  try {
    const d = await requestUntilDone<{ sendMessage: Ack }>(gw, token, SEND, { room, body, c: randomUUID(), p: parentId ?? null }, deadline, onRetry);
    return d?.sendMessage;
  } catch (e) {
    throw e instanceof Error ? new Error(e.message.replace(/^request refused/, 'send refused')) : e;
  }
}

/** Reacts until acknowledged (idempotent per person, message and emoji); true once it was. */
export async function reactUntilDone(gw: Gateways, token: string, message: string, emoji: string, deadline: number): Promise<boolean> {
  return (await requestUntilDone(gw, token, REACT, { id: message, e: emoji }, deadline)) !== undefined;
}

/** Deletes one's own message until acknowledged (a repeat answers the deleted message). */
export async function deleteUntilDone(gw: Gateways, token: string, id: string, deadline: number): Promise<boolean> {
  return (await requestUntilDone(gw, token, DELETE, { id }, deadline)) !== undefined;
}

/** Marks read up to `seq` until acknowledged; the read position it answered (never lower than before). */
export async function markReadUntilDone(gw: Gateways, token: string, room: string, seq: number, deadline: number): Promise<number | undefined> {
  return (await requestUntilDone<{ markRead: { lastReadSeq: number } }>(gw, token, MARK_READ, { r: room, s: seq }, deadline))?.markRead.lastReadSeq;
}

export interface SubscriberRecord {
  room: string;
  seqs: number[];
  /** When each of `seqs` arrived (Date.now(), same index); resilientSubscriber keeps it. */
  times?: number[];
  /** Deliveries that were not exactly last + 1: a gap or a duplicate. */
  violations: string[];
  resumes: number;
}

/**
 * A subscriber that keeps `messageAdded(room, after: last)` open across drops, on whichever
 * gateway is up. `stop()` ends it.
 */
export function resilientSubscriber(gw: Gateways, token: string, room: string, pickOffset: number) {
  const rec: SubscriberRecord = { room, seqs: [], times: [], violations: [], resumes: 0 };
  let client: Client | undefined;
  let stopped = false;
  let attempt = pickOffset;
  const last = () => rec.seqs.at(-1) ?? 0;

  const connect = () => {
    if (stopped) return;
    const list = gw.list();
    const base = list[attempt++ % list.length]!.replace(/^http/, 'ws');
    const c = createClient({
      url: `${base}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
    });
    client = c;
    let ended = false;
    const reconnect = () => {
      if (ended) return;
      ended = true;
      void c.dispose();
      if (stopped) return;
      rec.resumes++;
      setTimeout(connect, 100);
    };
    c.on('closed', reconnect);
    c.subscribe<{ messageAdded: { seq: number } }>(
      { query: 'subscription($r: ID!, $a: Int) { messageAdded(room: $r, after: $a) { seq } }', variables: { r: room, a: last() } },
      {
        next: (v) => {
          const seq = v.data?.messageAdded.seq;
          if (seq === undefined) return reconnect();
          if (seq !== last() + 1) rec.violations.push(`expected ${last() + 1}, got ${seq}`);
          rec.seqs.push(seq);
          rec.times?.push(Date.now());
        },
        error: reconnect,
        complete: reconnect,
      },
    );
  };
  connect();
  return {
    rec,
    /** Drops the socket on purpose; the subscriber resumes with `after`. */
    bounce() {
      void client?.dispose();
    },
    async stop() {
      stopped = true;
      await client?.dispose();
    },
  };
}
