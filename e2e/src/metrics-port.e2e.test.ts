import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startSystem, type System } from './harness.js';

/** METRICS_PORT (issue 14): the gateway's /metrics on a port of its own, not on the public one. */
describe('gateway METRICS_PORT', () => {
  let sys: System;
  let metricsPort: number;

  beforeAll(async () => {
    metricsPort = await freePort();
    sys = await startSystem({ chats: 0, audits: 0, env: { METRICS_PORT: String(metricsPort) } });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('serves /metrics on METRICS_PORT only; the public port keeps the API and the probes', async () => {
    const pub = `http://127.0.0.1:${sys.gateways[0]!.port}`;
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^conversa_graphql_operations_total|conversa_process_/m);
    expect((await fetch(`${pub}/metrics`)).status).toBe(404);
    expect((await fetch(`${pub}/healthz`)).status).toBe(200);
    // The metrics port serves nothing else.
    expect((await fetch(`http://127.0.0.1:${metricsPort}/graphql`)).status).toBe(404);
  });
});
