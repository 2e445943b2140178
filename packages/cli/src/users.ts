import { randomUUID } from 'node:crypto';
import { PasswordHasher } from '@conversa/auth';
import { LIMITS, USERNAME_PATTERN, newEvent, type Role } from '@conversa/contracts';
import type { Config } from '@conversa/config';
import { DuplicateKeyError, openStore, toUserView } from '@conversa/store';

export interface CreateUserInput {
  username: string;
  password: string;
  displayName?: string | undefined;
  role: Role;
}

/**
 * Creates a user straight in the store, with its `user.registered` event in the same document
 * (the chat service's outbox relay publishes it), so it works before any service runs.
 */
export async function createUser(config: Config, input: CreateUserInput): Promise<string> {
  const username = input.username.trim().toLowerCase();
  if (!USERNAME_PATTERN.test(username)) throw new Error('username: 3-32 characters of a-z 0-9 _ . -');
  if (input.password.length < LIMITS.passwordMin) {
    throw new Error(`password: at least ${LIMITS.passwordMin} characters`);
  }
  const displayName = (input.displayName ?? username).trim();
  if (displayName.length === 0 || displayName.length > LIMITS.displayNameMax) {
    throw new Error(`display name: 1-${LIMITS.displayNameMax} characters`);
  }
  const store = await openStore({ url: config.MONGO_URL, dbName: config.MONGO_DB });
  try {
    await store.ensureIndexes();
    const id = randomUUID();
    const view = toUserView({ _id: id, username, displayName, role: input.role });
    await store.users.create({
      _id: id,
      username,
      displayName,
      role: input.role,
      passwordHash: await new PasswordHasher().hash(input.password),
      createdAt: new Date(),
      outbox: [newEvent('user.registered', id, null, { user: view })],
    });
    return id;
  } catch (e) {
    if (e instanceof DuplicateKeyError) throw new Error(`username "${username}" is taken`);
    throw e;
  } finally {
    await store.close();
  }
}
