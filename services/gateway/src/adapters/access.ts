import type { RedisPubSub } from 'graphql-redis-subscriptions';
import { parseAccessSignal, type AccessSignal } from '@conversa/contracts';
import type { Logger } from '@conversa/observability';

/**
 * Listens on the namespace's access channel (`Names.accessChannel`, one Redis subscription per
 * gateway process): each revocation is parsed with the contract and handed over; a payload
 * that breaks it is logged and dropped. Returns the function that stops listening.
 */
export async function listenForRevocations(
  pubsub: RedisPubSub,
  channel: string,
  onSignal: (signal: AccessSignal) => void,
  logger: Logger,
): Promise<() => void> {
  const id = await pubsub.subscribe(channel, (raw: unknown) => {
    let signal: AccessSignal;
    try {
      signal = parseAccessSignal(raw);
    } catch (e) {
      logger.warn({ err: e }, 'dropped an access signal that does not match the contract');
      return;
    }
    onSignal(signal);
  });
  return () => pubsub.unsubscribe(id);
}
