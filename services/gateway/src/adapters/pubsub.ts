import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import { parseRoomSignal, parseUserSignal } from '@conversa/contracts';
import type { Logger } from '@conversa/observability';
import type { RoomSignalSource } from '../room-hub.js';
import type { UserSignalSource } from '../inbox-stream.js';

export interface RedisSignals extends RoomSignalSource, UserSignalSource {
  readonly pubsub: RedisPubSub;
  /** The publishing connection, also used for readiness and non-stored signals. */
  readonly publisher: Redis;
  connect(): Promise<void>;
  close(): Promise<void>;
  /** Called each time the subscriber connection is ready again after a drop. */
  onReconnect(listener: () => void): void;
}

/**
 * graphql-redis-subscriptions over two ioredis connections. RedisPubSub counts references per
 * channel, so one gateway process holds one Redis subscription per room however many sockets
 * listen. Every payload is parsed with the contract; a bad one is logged and dropped.
 */
export function createRedisSignals(
  url: string,
  channelOf: (room: string) => string,
  logger: Logger,
  /** Called on each connection error (for metrics). */
  onError: (err: Error) => void = () => undefined,
  /** One person's channel (`Names.userChannel`); without it, `subscribeUser` refuses. */
  userChannelOf?: (user: string) => string,
): RedisSignals {
  const options = { lazyConnect: true, maxRetriesPerRequest: null, enableOfflineQueue: true } as const;
  const publisher = new Redis(url, { ...options, connectionName: 'gateway-pub' });
  const subscriber = new Redis(url, { ...options, connectionName: 'gateway-sub' });
  const pubsub = new RedisPubSub({ publisher, subscriber });
  let firstReady = true;
  const reconnectListeners: (() => void)[] = [];
  subscriber.on('ready', () => {
    if (firstReady) {
      firstReady = false;
      return;
    }
    logger.info('redis subscriber reconnected; resyncing rooms');
    for (const l of reconnectListeners) l();
  });
  subscriber.on('error', (err) => {
    onError(err);
    logger.warn({ err: err.message }, 'redis subscriber error');
  });
  publisher.on('error', (err) => {
    onError(err);
    logger.warn({ err: err.message }, 'redis publisher error');
  });

  return {
    pubsub,
    publisher,
    async connect() {
      await Promise.all([publisher.connect(), subscriber.connect()]);
    },
    async subscribe(room, onSignal) {
      const id = await pubsub.subscribe(channelOf(room), (raw: unknown) => {
        try {
          onSignal(parseRoomSignal(raw));
        } catch (e) {
          logger.warn({ err: e, room }, 'dropped a room signal that does not match the contract');
        }
      });
      return async () => {
        pubsub.unsubscribe(id);
        await Promise.resolve();
      };
    },
    async subscribeUser(user, onSignal) {
      if (!userChannelOf) throw new Error('createRedisSignals: no user channel names given');
      const id = await pubsub.subscribe(userChannelOf(user), (raw: unknown) => {
        try {
          onSignal(parseUserSignal(raw));
        } catch (e) {
          logger.warn({ err: e, user }, 'dropped a user signal that does not match the contract');
        }
      });
      return async () => {
        pubsub.unsubscribe(id);
        await Promise.resolve();
      };
    },
    onReconnect(listener) {
      reconnectListeners.push(listener);
    },
    async close() {
      await pubsub.close();
    },
  };
}
