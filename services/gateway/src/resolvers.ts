import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import {
  AppError,
  ErrorCode,
  badInput,
  unauthenticated,
  type MessageView,
  type ModerationAction,
  type RoomView,
  type UserView,
} from '@conversa/contracts';
import { CloseCode } from './ws-protocol.js';
import { GHOST_USER, toRoomView, toUserView, type AuditDoc, type ModerationActionDoc } from '@conversa/store';
import {
  readableRoom,
  requireAdmin,
  requireUser,
  withAuthors,
  type GatewayContext,
} from './context.js';
import {
  AuditLogArgs,
  DisplayNameArgs,
  EditMessageArgs,
  HideMessageArgs,
  IdArgs,
  InboxArgs,
  MarkReadArgs,
  ReceiptsPrivateArgs,
  ModerationActionsArgs,
  MuteUserArgs,
  UserIdArgs,
  JoinRoomArgs,
  LoginArgs,
  MessageAddedArgs,
  MessagesArgs,
  RegisterArgs,
  RoomArgs,
  SendMessageArgs,
  SetSlowModeArgs,
  UsersArgs,
  parseArgs,
} from './validation.js';
import type { RoomPresence } from './room-hub.js';
import { roomSendRefusal } from './rate-limits.js';
import { inboxPage, readReceipts, type RoomState, type RoomWithState } from './read-state.js';
import type { InboxPayload } from './inbox-stream.js';
import { mergeResolvers, withGroupResolvers } from './resolvers-groups.js';
import { threadResolvers } from './resolvers-threads.js';
import { searchQueries } from './resolvers-search.js';
import { withPinResolvers } from './resolvers-pins.js';

type Args = Record<string, unknown>;

const SAME_LOGIN_ERROR = 'invalid username or password';

async function authPayload(ctx: GatewayContext, user: UserView) {
  const { token, expiresAt } = await ctx.services.tokens.sign(user);
  return { token, expiresAt, user };
}

function encodeCursor(doc: AuditDoc): string {
  return Buffer.from(JSON.stringify([doc.at.toISOString(), doc._id])).toString('base64url');
}

function decodeCursor(cursor: string): { at: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    const date = new Date(String(at));
    if (typeof id !== 'string' || Number.isNaN(date.getTime())) throw new Error('shape');
    return { at: date, id };
  } catch {
    throw badInput('after: not a cursor this API returned');
  }
}

/** A stored moderation action as the API shows it (`by` is resolved to a User by its field resolver). */
function actionView(a: ModerationAction | ModerationActionDoc): ModerationAction {
  if ('_id' in a) {
    return {
      id: a._id,
      kind: a.kind,
      target: a.target,
      room: a.room,
      reason: a.reason,
      rule: a.rule,
      by: a.by,
      at: a.at.toISOString(),
      until: a.until ? a.until.toISOString() : null,
    };
  }
  return a;
}

/** Keeps a WebSocket "in the room" for presence while its subscription lives. */
const presenceOf = (ctx: GatewayContext, room: string): RoomPresence | undefined =>
  ctx.connection ? { enter: () => ctx.connection!.enterRoom(room), leave: () => ctx.connection!.leaveRoom(room) } : undefined;

/** The caller's state in a room: known already on an inbox page, else loaded (batched per operation). */
const stateOf = (room: RoomWithState, ctx: GatewayContext): RoomState | Promise<RoomState> => room.state ?? ctx.roomStates.load(room.id);

export const resolvers = mergeResolvers(withPinResolvers(withGroupResolvers({
  DateTime: DateTimeResolver,
  JSON: JSONResolver,

  Query: {
    ...searchQueries,
    me: async (_: unknown, __: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const u = await ctx.services.store.users.findById(p.id);
      return u ? toUserView(u) : null;
    },
    users: async (_: unknown, args: Args, ctx: GatewayContext) => {
      requireUser(ctx);
      const a = parseArgs(UsersArgs, args);
      if (a.online == null) return (await ctx.services.store.users.list()).map(toUserView);
      const online = new Set(await ctx.services.presence.onlineUsers());
      if (a.online) {
        return (await ctx.services.store.users.findByIds([...online])).map(toUserView).sort((a, b) => a.username.localeCompare(b.username));
      }
      return (await ctx.services.store.users.list()).filter((u) => !online.has(u._id)).map(toUserView);
    },
    rooms: async (_: unknown, __: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const [pub, direct, groups] = await Promise.all([
        ctx.services.store.rooms.listPublic(),
        ctx.services.store.rooms.listDirect(p.id),
        ctx.services.store.groups.groupsOf(p.id),
      ]);
      return [...pub, ...direct, ...groups].map(toRoomView);
    },
    room: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const { id } = parseArgs(IdArgs, args);
      try {
        return toRoomView(await readableRoom(ctx, id));
      } catch (e) {
        if (e instanceof AppError && e.code === ErrorCode.NOT_FOUND) return null;
        throw e;
      }
    },
    messages: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const a = parseArgs(MessagesArgs, args);
      await readableRoom(ctx, a.room);
      const page = await ctx.services.store.messages.page(a.room, {
        limit: a.limit,
        ...(a.before != null ? { before: a.before } : {}),
        ...(a.after != null ? { after: a.after } : {}),
      });
      return { messages: await withAuthors(ctx.services.store, page.messages), hasMore: page.hasMore };
    },
    auditLog: async (_: unknown, args: Args, ctx: GatewayContext) => {
      requireAdmin(ctx);
      const a = parseArgs(AuditLogArgs, args);
      const docs = await ctx.services.store.audit.page({
        limit: a.limit,
        ...(a.room ? { room: a.room } : {}),
        ...(a.actor ? { actor: a.actor } : {}),
        ...(a.type ? { type: a.type } : {}),
        ...(a.since ? { since: a.since } : {}),
        ...(a.until ? { until: a.until } : {}),
        ...(a.after ? { after: decodeCursor(a.after) } : {}),
        newestFirst: a.order === 'NEWEST_FIRST',
      });
      const actorIds = [...new Set(docs.flatMap((d) => (d.actor ? [d.actor] : [])))];
      const actors = new Map((await ctx.services.store.users.findByIds(actorIds)).map((u) => [u._id, toUserView(u)]));
      const last = docs.at(-1);
      return {
        events: docs.map((d) => ({
          id: d._id,
          type: d.type,
          room: d.room,
          actor: d.actor ? (actors.get(d.actor) ?? null) : null,
          at: d.at,
          data: d.data,
        })),
        nextCursor: docs.length === a.limit && last ? encodeCursor(last) : null,
      };
    },
    inbox: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(InboxArgs, args);
      return inboxPage(ctx.services.store, p.id, { after: a.after ?? undefined, limit: a.limit });
    },
    moderationActions: async (_: unknown, args: Args, ctx: GatewayContext) => {
      requireAdmin(ctx);
      const a = parseArgs(ModerationActionsArgs, args);
      let after: { at: Date; id: string } | undefined;
      if (a.after) {
        const prev = await ctx.services.store.moderation.findAction(a.after);
        if (!prev) throw badInput('after: not the id of a moderation action');
        after = { at: prev.at, id: prev._id };
      }
      const docs = await ctx.services.store.moderation.actionsPage({
        limit: a.limit,
        ...(a.target ? { target: a.target } : {}),
        ...(after ? { after } : {}),
      });
      return docs.map(actionView);
    },
  },

  Mutation: {
    register: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const a = parseArgs(RegisterArgs, args);
      await ctx.services.limits.hit('auth', ctx.address);
      const passwordHash = await ctx.services.hasher.hash(a.password);
      const { user } = await ctx.services.bus.execute({
        type: 'user.register',
        username: a.username,
        displayName: a.displayName ?? a.username,
        passwordHash,
        role: 'USER',
      });
      return authPayload(ctx, user);
    },
    login: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const a = parseArgs(LoginArgs, args);
      await ctx.services.limits.hit('auth', ctx.address);
      // Locked out (too many failures for this name or from this address): refused before the
      // password is even checked, so guessing on during a lockout learns nothing.
      await ctx.services.logins.check(a.username, ctx.address);
      const user = await ctx.services.store.users.findByUsername(a.username);
      const ok = await ctx.services.hasher.verify(user?.passwordHash, a.password);
      if (!ok || !user) {
        await ctx.services.logins.failed(a.username, ctx.address);
        throw unauthenticated(SAME_LOGIN_ERROR);
      }
      await ctx.services.logins.succeeded(a.username);
      return authPayload(ctx, toUserView(user));
    },
    joinRoom: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(JoinRoomArgs, args);
      await ctx.services.limits.hit('join', p.id);
      const { room } = await ctx.services.bus.execute({ type: 'room.join', actor: p.id, name: a.name });
      return room;
    },
    leaveRoom: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(RoomArgs, args);
      const { left } = await ctx.services.bus.execute({ type: 'room.leave', actor: p.id, room: a.room });
      return left;
    },
    sendMessage: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(SendMessageArgs, args);
      await ctx.services.limits.hit('send', p.id);
      // Answered before the command is queued: the per-room bucket, and slow mode (admins exempt).
      const slowModeSeconds = p.role === 'ADMIN' ? 0 : await ctx.services.slowModes.get(a.room);
      const refused = await ctx.services.roomSends.take(p.id, a.room, a.clientMsgId, slowModeSeconds * 1_000);
      if (refused) throw roomSendRefusal(refused, slowModeSeconds);
      const { message } = await ctx.services.bus.execute({
        type: 'message.send',
        actor: p.id,
        room: a.room,
        body: a.body,
        clientMsgId: a.clientMsgId,
        ...(a.parentId != null ? { parentId: a.parentId } : {}),
      });
      return message;
    },
    openDirectRoom: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(UserIdArgs, args);
      await ctx.services.limits.hit('join', p.id);
      const { room } = await ctx.services.bus.execute({ type: 'room.openDirect', actor: p.id, peer: a.userId });
      return room;
    },
    editMessage: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(EditMessageArgs, args);
      await ctx.services.limits.hit('send', p.id);
      const { message } = await ctx.services.bus.execute({ type: 'message.edit', actor: p.id, id: a.id, body: a.body });
      return message;
    },
    deleteMessage: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(IdArgs, args);
      const { message } = await ctx.services.bus.execute({ type: 'message.delete', actor: p.id, id: a.id });
      return message;
    },
    setTyping: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(RoomArgs, args);
      await ctx.services.limits.hit('typing', p.id);
      await readableRoom(ctx, a.room);
      // Not stored and not a command: a throttled signal straight onto the room's channel.
      if (await ctx.services.typingAllowed(a.room, p.id)) {
        const u = await ctx.services.store.users.findById(p.id);
        if (u) await ctx.services.publish(a.room, { kind: 'typing', user: toUserView(u) });
      }
      return true;
    },
    setDisplayName: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(DisplayNameArgs, args);
      const { user } = await ctx.services.bus.execute({ type: 'user.rename', actor: p.id, displayName: a.displayName });
      return user;
    },
    hideMessage: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireAdmin(ctx);
      const a = parseArgs(HideMessageArgs, args);
      const { message } = await ctx.services.bus.execute({ type: 'message.hide', actor: p.id, id: a.id, reason: a.reason });
      return message;
    },
    unhideMessage: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireAdmin(ctx);
      const a = parseArgs(IdArgs, args);
      const { message } = await ctx.services.bus.execute({ type: 'message.unhide', actor: p.id, id: a.id });
      return message;
    },
    muteUser: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireAdmin(ctx);
      const a = parseArgs(MuteUserArgs, args);
      const { action } = await ctx.services.bus.execute({
        type: 'user.mute',
        actor: p.id,
        user: a.userId,
        minutes: a.minutes,
        reason: a.reason,
        room: null,
      });
      return actionView(action);
    },
    setSlowMode: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireAdmin(ctx);
      const a = parseArgs(SetSlowModeArgs, args);
      const { room } = await ctx.services.bus.execute({ type: 'room.setSlowMode', actor: p.id, room: a.room, seconds: a.seconds });
      ctx.services.slowModes.forget(a.room);
      return room;
    },
    setReceiptsPrivate: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(ReceiptsPrivateArgs, args);
      const { user } = await ctx.services.bus.execute({ type: 'user.setReceiptsPrivate', actor: p.id, private: a.private });
      return user;
    },
    markRead: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(MarkReadArgs, args);
      const { room } = await ctx.services.bus.execute({ type: 'room.markRead', actor: p.id, room: a.room, seq: a.seq });
      return room;
    },
    unmuteUser: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireAdmin(ctx);
      const a = parseArgs(UserIdArgs, args);
      const { action } = await ctx.services.bus.execute({ type: 'user.unmute', actor: p.id, user: a.userId });
      return actionView(action);
    },
  },

  Subscription: {
    messageAdded: {
      subscribe: async (_: unknown, args: Args, ctx: GatewayContext) => {
        const a = parseArgs(MessageAddedArgs, args);
        await readableRoom(ctx, a.room);
        return ctx.services.hubs.messages(a.room, a.after, presenceOf(ctx, a.room), {
          maxPending: ctx.services.maxPendingPerSubscription,
          onSlow: () => ctx.closeSocket?.(CloseCode.SlowConsumer, 'slow consumer: too many messages pending; reconnect and resume with after'),
        });
      },
      resolve: (m: MessageView) => m,
    },
    messageUpdated: {
      subscribe: async (_: unknown, args: Args, ctx: GatewayContext) => {
        const a = parseArgs(RoomArgs, args);
        await readableRoom(ctx, a.room);
        return ctx.services.hubs.signals(a.room, 'message.updated', presenceOf(ctx, a.room));
      },
      resolve: (s: { message: MessageView }) => s.message,
    },
    presenceChanged: {
      subscribe: async (_: unknown, args: Args, ctx: GatewayContext) => {
        const a = parseArgs(RoomArgs, args);
        await readableRoom(ctx, a.room);
        return ctx.services.hubs.signals(a.room, 'presence', presenceOf(ctx, a.room));
      },
      resolve: (s: { user: UserView; online: boolean }) => ({ user: s.user, online: s.online }),
    },
    inbox: {
      subscribe: (_: unknown, __: Args, ctx: GatewayContext) => {
        const p = requireUser(ctx);
        return ctx.services.inbox.open(p.id, p.username, () =>
          ctx.closeSocket?.(CloseCode.SlowConsumer, 'slow consumer: too many inbox events pending; reconnect, subscribe and read inbox again'),
        );
      },
      resolve: (e: InboxPayload) => e,
    },
    readReceipts: {
      subscribe: async (_: unknown, args: Args, ctx: GatewayContext) => {
        const p = requireUser(ctx);
        const a = parseArgs(RoomArgs, args);
        await readableRoom(ctx, a.room);
        // The others' positions only, and never a private member's.
        return ctx.services.hubs.signals(a.room, 'read', presenceOf(ctx, a.room), (s) => s.user.id !== p.id && !s.private);
      },
      resolve: (s: { user: UserView; lastReadSeq: number; at: string }) => ({ user: s.user, lastReadSeq: s.lastReadSeq, at: s.at }),
    },
    typing: {
      subscribe: async (_: unknown, args: Args, ctx: GatewayContext) => {
        const p = requireUser(ctx);
        const a = parseArgs(RoomArgs, args);
        await readableRoom(ctx, a.room);
        return ctx.services.hubs.signals(a.room, 'typing', presenceOf(ctx, a.room), (s) => s.user.id !== p.id);
      },
      resolve: (s: { user: UserView }, args: Args) => ({ user: s.user, room: args.room }),
    },
  },

  User: {
    online: (u: UserView, _: Args, ctx: GatewayContext) => ctx.online.load(u.id),
  },

  Message: {
    // Admins read what a moderator hid (never what its author deleted); everyone else gets ''.
    // Synchronous unless a look-up is needed: a subscription event then executes without a
    // promise (fan-out renders it once per group, see fanout.ts).
    body: (m: MessageView, _: Args, ctx: GatewayContext): string | Promise<string> => {
      if (m.status !== 'HIDDEN' || ctx.principal?.role !== 'ADMIN') return m.body;
      return ctx.services.store.messages.findById(m.id).then((doc) => doc?.body ?? '');
    },
  },

  ModerationAction: {
    by: async (a: ModerationAction, _: Args, ctx: GatewayContext) => {
      if (!a.by) return null;
      const u = await ctx.services.store.users.findById(a.by);
      return u ? toUserView(u) : { ...GHOST_USER, id: a.by };
    },
  },

  Room: {
    // A private room is named after the other person, as each of the two sees it.
    name: async (room: RoomView, _: Args, ctx: GatewayContext) => {
      if (room.kind !== 'DIRECT') return room.name;
      const doc = await ctx.services.store.rooms.findById(room.id);
      const other = doc?.pair.find((id) => id !== ctx.principal?.id) ?? doc?.pair[0];
      const u = other ? await ctx.services.store.users.findById(other) : null;
      return u?.displayName ?? room.name;
    },
    members: async (room: RoomView, _: Args, ctx: GatewayContext) => {
      const doc = await ctx.services.store.rooms.findById(room.id);
      const ids = doc?.kind === 'DIRECT' ? doc.pair : await ctx.services.store.rooms.memberIds(room.id);
      return (await ctx.services.store.users.findByIds(ids)).map(toUserView);
    },
    online: async (room: RoomView, _: Args, ctx: GatewayContext) => {
      const ids = await ctx.services.presence.inRoom(room.id);
      return (await ctx.services.store.users.findByIds(ids)).map(toUserView);
    },
    lastSeq: (room: RoomView, _: Args, ctx: GatewayContext) => ctx.services.store.messages.lastSeq(room.id),
    lastReadSeq: async (room: RoomWithState, _: Args, ctx: GatewayContext) => (await stateOf(room, ctx)).lastReadSeq,
    unread: async (room: RoomWithState, _: Args, ctx: GatewayContext) => (await stateOf(room, ctx)).unread,
    mentions: async (room: RoomWithState, _: Args, ctx: GatewayContext) => (await stateOf(room, ctx)).mentions,
    readBy: async (room: RoomView, _: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      return readReceipts(ctx.services.store, room.id, p.id);
    },
    lastMessage: async (room: RoomWithState, _: Args, ctx: GatewayContext) => {
      const { last } = await stateOf(room, ctx);
      if (!last) return null;
      return 'author' in last ? last : (await withAuthors(ctx.services.store, [last]))[0];
    },
  },
})), threadResolvers);
