import { Redis } from 'ioredis';
import type { RoomSignal } from '@conversa/contracts';
import type { SignalPublisher } from '../commands.js';

/** A Redis connection that BullMQ can share (no per-request retry limit). */
export function createRedis(url: string, name: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, connectionName: name });
}

export function redisPublisher(redis: Redis, channelOf: (room: string) => string): SignalPublisher {
  return {
    async publish(room, signal: RoomSignal) {
      await redis.publish(channelOf(room), JSON.stringify(signal));
    },
  };
}
