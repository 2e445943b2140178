import { z } from 'zod';
import { MessageView, UserView } from './domain.js';

/** Payloads published on a room's Redis channel (see `Names.roomChannel`). */
export const RoomSignal = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('message.added'), message: MessageView }),
  z.object({ kind: z.literal('message.updated'), message: MessageView }),
  z.object({ kind: z.literal('presence'), user: UserView, online: z.boolean() }),
  z.object({ kind: z.literal('typing'), user: UserView }),
]);
export type RoomSignal = z.infer<typeof RoomSignal>;

export function parseRoomSignal(raw: unknown): RoomSignal {
  return RoomSignal.parse(raw);
}
