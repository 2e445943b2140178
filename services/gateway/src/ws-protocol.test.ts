import { describe, expect, it } from 'vitest';
import { closeReason, frames, InvalidMessage, parseClientMessage } from './ws-protocol.js';

const refused = (text: string) => {
  try {
    parseClientMessage(text);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidMessage);
    return (e as Error).message;
  }
  throw new Error(`accepted ${text}`);
};

describe('parseClientMessage', () => {
  it('accepts what a client may send', () => {
    expect(parseClientMessage('{"type":"connection_init","payload":{"authorization":"Bearer x"}}')).toEqual({ type: 'connection_init', payload: { authorization: 'Bearer x' } });
    expect(parseClientMessage('{"type":"ping"}')).toEqual({ type: 'ping' });
    expect(parseClientMessage('{"type":"pong","payload":null}').type).toBe('pong');
    expect(parseClientMessage('{"id":"1","type":"subscribe","payload":{"query":"{ me { id } }","variables":null,"operationName":"Me"}}')).toMatchObject({ id: '1', type: 'subscribe' });
    expect(parseClientMessage('{"id":"1","type":"complete"}')).toEqual({ id: '1', type: 'complete' });
  });

  it('says what it expected and what it got', () => {
    expect(refused('{')).toBe('expected JSON, got unparsable text');
    expect(refused('[]')).toBe('expected an object, got array');
    expect(refused('{"type":3}')).toBe('expected a string type, got number');
    expect(refused('{"type":"connection_init","payload":"x"}')).toBe("expected connection_init's payload to be an object or absent, got string");
    expect(refused('{"type":"subscribe","id":"","payload":{"query":"{a}"}}')).toBe("expected subscribe's id to be a non-empty string, got an empty string");
    expect(refused('{"type":"subscribe","id":"1","payload":{"query":1}}')).toBe('expected payload.query to be a string, got number');
    expect(refused('{"type":"subscribe","id":"1","payload":{"query":"{a}","variables":[]}}')).toBe('expected payload.variables to be an object or absent, got array');
    expect(refused('{"type":"complete"}')).toBe("expected complete's id to be a non-empty string, got undefined");
  });

  it('refuses the server-to-client types', () => {
    for (const type of ['next', 'error', 'connection_ack']) expect(refused(JSON.stringify({ type, id: '1', payload: {} }))).toMatch(/^expected connection_init, ping, pong, subscribe or complete/);
  });
});

describe('frames', () => {
  it('writes the server frames graphql-ws reads', () => {
    expect(JSON.parse(frames.ack)).toEqual({ type: 'connection_ack' });
    expect(JSON.parse(frames.pong({ t: 1 }))).toEqual({ type: 'pong', payload: { t: 1 } });
    expect(JSON.parse(frames.pong())).toEqual({ type: 'pong' });
    expect(JSON.parse(frames.next('a"b', '{"data":{"x":1}}'))).toEqual({ id: 'a"b', type: 'next', payload: { data: { x: 1 } } });
    expect(JSON.parse(frames.error('1', [{ message: 'no' }]))).toEqual({ id: '1', type: 'error', payload: [{ message: 'no' }] });
    expect(JSON.parse(frames.complete('1'))).toEqual({ id: '1', type: 'complete' });
  });

  it('keeps a close reason within a control frame (123 bytes)', () => {
    expect(closeReason('short', 'fallback')).toBe('short');
    expect(closeReason('é'.repeat(62), 'fallback')).toBe('fallback');
  });
});
