/**
 * Shared set-up of the chat integration tests (`*.int.test.ts`): a database of its own per
 * test, dropped afterwards, and a registered user in a joined room.
 */
import { randomUUID } from 'node:crypto';
import type { CommandResult } from '@conversa/contracts';
import { openStore } from '@conversa/store';
import type { CommandExecutor } from './commands.js';

export const MONGO_URL = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo';

/** A fresh database name and what to close after the test; `cleanup` drops the database last. */
export function isolatedDatabase() {
  const dbName = `it_${randomUUID().slice(0, 8)}`;
  const closers: (() => Promise<unknown>)[] = [];
  return {
    dbName,
    closeLater: (...fns: (() => Promise<unknown>)[]) => closers.push(...fns),
    async cleanup() {
      const s = await openStore({ url: MONGO_URL, dbName });
      await s.dropDatabase();
      await s.close();
      for (const c of closers.reverse()) await c();
    },
  };
}

/** Registers `username` and joins `roomName` through `executor`: the user's and the room's ids. */
export async function userInRoom(executor: CommandExecutor, username: string, roomName: string): Promise<{ user: string; room: string }> {
  const reg = (await executor.execute({ type: 'user.register', username, displayName: username, passwordHash: HASH })) as CommandResult<'user.register'>;
  if (!reg.ok) throw new Error(reg.error.message);
  const joined = (await executor.execute({ type: 'room.join', actor: reg.value.user.id, name: roomName })) as CommandResult<'room.join'>;
  if (!joined.ok) throw new Error(joined.error.message);
  return { user: reg.value.user.id, room: joined.value.room.id };
}
