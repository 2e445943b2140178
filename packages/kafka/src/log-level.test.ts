import { describe, expect, it } from 'vitest';
import { loudness } from './log-level.js';

describe('loudness of kafkajs log lines', () => {
  it('quiets the error answers kafkajs handles itself', () => {
    expect(loudness(1, 'Response CreateTopics(key: 19, version: 3)', 'Topic creation errors')).toBe('debug');
    expect(loudness(1, 'Response InitProducerId(key: 22, version: 1)', "The coordinator is loading and hence can't process requests for this group")).toBe('debug');
    expect(loudness(1, 'Response GroupCoordinator(key: 10, version: 2)', 'The group coordinator is not available')).toBe('debug');
  });

  it('keeps every other error an error, and maps the rest', () => {
    expect(loudness(1, 'Response Produce(key: 0, version: 7)', 'The request included a message larger than the max message size the server will accept')).toBe('error');
    expect(loudness(1, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092', undefined)).toBe('error');
    expect(loudness(2, 'anything', undefined)).toBe('warn');
    expect(loudness(4, 'anything', undefined)).toBe('debug');
  });
});
