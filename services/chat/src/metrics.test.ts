import { describe, expect, it } from 'vitest';
import { createChatMetrics, outcomeOf } from './metrics.js';

describe('chat metrics', () => {
  it('tells a refusal from a success by the job result', () => {
    expect(outcomeOf({ ok: true, value: {} })).toBe('ok');
    expect(outcomeOf({ ok: false, error: { code: 'FORBIDDEN', message: 'no' } })).toBe('refused');
    expect(outcomeOf(undefined)).toBe('ok');
  });

  it('counts jobs by command and outcome, failures included, and reads the gauges at scrape', async () => {
    let published = 4;
    const cm = createChatMetrics({
      queueCounts: () => Promise.resolve({ waiting: 2, active: 1 }),
      outboxPending: () => Promise.resolve(3),
      published: () => published,
    });
    await cm.timeJob('message.send', () => Promise.resolve({ ok: true, value: 1 }));
    await cm.timeJob('message.send', () =>
      Promise.resolve({ ok: false, error: { code: 'FORBIDDEN', message: 'no' } }),
    );
    await expect(
      cm.timeJob('room.join', () => Promise.reject(new Error('database blip'))),
    ).rejects.toThrow('database blip');
    published = 9;
    const text = (await cm.metrics.render()).body;
    for (const line of [
      'conversa_command_jobs_total{command="message.send",outcome="ok",service="chat"} 1',
      'conversa_command_jobs_total{command="message.send",outcome="refused",service="chat"} 1',
      'conversa_command_jobs_total{command="room.join",outcome="failed",service="chat"} 1',
      'conversa_command_job_duration_seconds_count{service="chat",command="room.join",outcome="failed"} 1',
      'conversa_command_queue_depth{state="waiting",service="chat"} 2',
      'conversa_outbox_pending_documents{service="chat"} 3',
      'conversa_outbox_published_events_total{service="chat"} 9',
      'conversa_dependency_errors_total{dependency="kafka",op="produce",service="chat"} 0',
    ]) {
      expect(text).toContain(line);
    }
  });
});
