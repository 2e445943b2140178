import type { CommandType } from '@conversa/contracts';
import type { CommandHandler } from './context.js';
import { register, rename } from './users.js';
import { join, leave, openDirect, setSlowMode } from './rooms.js';
import { send } from './send.js';
import { edit, remove } from './messages.js';
import { hideOrUnhide, mute, unmute } from './moderation.js';
import { markRead, setReceiptsPrivate } from './read-state.js';
import { addMember, createGroup, removeMember, renameRoom, setMemberRole } from './groups.js';
import { blockUser, unblockUser } from './blocks.js';
import { react, unreact } from './reactions.js';
import { pin, unpin } from './pins.js';

/** Every command type's handler: typed over CommandType, so a new command cannot lack one. */
export type CommandHandlers = { readonly [T in CommandType]: CommandHandler<T> };

export const commandHandlers: CommandHandlers = {
  'user.register': register,
  'user.rename': rename,
  'room.join': join,
  'room.leave': leave,
  'room.openDirect': openDirect,
  'room.setSlowMode': setSlowMode,
  'message.send': send,
  'message.edit': edit,
  'message.delete': remove,
  'message.hide': hideOrUnhide,
  'message.unhide': hideOrUnhide,
  'user.mute': mute,
  'user.unmute': unmute,
  'room.markRead': markRead,
  'user.setReceiptsPrivate': setReceiptsPrivate,
  'group.create': createGroup,
  'group.addMember': addMember,
  'group.removeMember': removeMember,
  'group.setRole': setMemberRole,
  'room.rename': renameRoom,
  'user.block': blockUser,
  'user.unblock': unblockUser,
  'message.react': react,
  'message.unreact': unreact,
  'message.pin': pin,
  'message.unpin': unpin,
};
