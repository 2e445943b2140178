import { createServer, type Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, handleMetrics } from './metrics.js';
import { createProbeServer, listen, closeServer } from './probes.js';

let server: Server | undefined;
afterEach(async () => {
  if (server) await closeServer(server);
  server = undefined;
});

describe('createMetrics', () => {
  it('renders counters and gauges with the conversa_ prefix and the service label', async () => {
    const m = createMetrics('audit', { processMetrics: false });
    const appended = m.counter('events_total', 'Events.');
    const byRule = m.counter('actions_total', 'Actions.', ['rule', 'kind']);
    let lag = 7;
    m.gauge('lag', 'Lag.', ['group'], () => [{ labels: { group: 'g1' }, value: lag }]);
    appended.inc();
    appended.inc(undefined, 2);
    byRule.inc({ rule: 'flood', kind: 'mute' });
    const { contentType, body } = await m.render();
    expect(contentType).toMatch(/^text\/plain/);
    expect(body).toContain('conversa_events_total{service="audit"} 3');
    expect(body).toContain('conversa_actions_total{rule="flood",kind="mute",service="audit"} 1');
    expect(body).toContain('conversa_lag{group="g1",service="audit"} 7');
    lag = 9;
    expect((await m.render()).body).toContain('conversa_lag{group="g1",service="audit"} 9');
  });

  it('keeps registries apart, so two services can live in one process', async () => {
    const a = createMetrics('a', { processMetrics: false });
    const b = createMetrics('b', { processMetrics: false });
    a.counter('x_total', 'X.').inc();
    b.counter('x_total', 'X.');
    expect((await b.render()).body).toContain('conversa_x_total{service="b"} 0');
  });
});

describe('memory after the newest major GC', () => {
  it('is the live heap a full collection left, from the GC observer, and the heap\'s resident pages', async () => {
    const m = createMetrics('mem');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const value = async (name: string) => {
      const line = (await m.render()).body.split('\n').find((l) => l.startsWith(`${name}{`));
      return line === undefined ? undefined : Number(line.split(' ').pop());
    };
    const before = await value('conversa_nodejs_major_gc_at_seconds');
    gc();
    // The observer runs after the collection, on a later turn of the event loop.
    await expect.poll(() => value('conversa_nodejs_major_gc_at_seconds'), { timeout: 5_000 }).not.toBe(before);
    const live = (await value('conversa_nodejs_heap_after_major_gc_bytes'))!;
    expect(live).toBeGreaterThan(1e6);
    expect(live).toBeLessThan(process.memoryUsage().rss);
    expect(await value('conversa_nodejs_major_gc_at_seconds')).toBeLessThanOrEqual(performance.now() / 1_000);
    const physical = (await value('conversa_nodejs_heap_physical_bytes'))!;
    expect(physical).toBeGreaterThan(live);
    expect(physical).toBeLessThanOrEqual((await value('conversa_nodejs_heap_size_total_bytes'))! * 1.01);
  });
});

describe('/metrics over HTTP', () => {
  it('is served by the probe server next to /healthz, and by handleMetrics in any server', async () => {
    const m = createMetrics('chat');
    m.counter('hits_total', 'Hits.').inc();
    server = createProbeServer({}, () => false, m);
    const port = await listen(server, 0, '127.0.0.1');
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('conversa_hits_total{service="chat"} 1');
    expect(text).toContain('conversa_process_cpu_user_seconds_total');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    await closeServer(server);

    server = createServer((req, res) => {
      if (!handleMetrics(req, res, m)) res.writeHead(404).end();
    });
    const port2 = await listen(server, 0, '127.0.0.1');
    expect((await fetch(`http://127.0.0.1:${port2}/metrics`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port2}/other`)).status).toBe(404);
  });
});
