export {
  ErrorCode,
  AppError,
  isAppError,
  badInput,
  notFound,
  forbidden,
  conflict,
  unauthenticated,
} from './errors.js';
export { names, NAMESPACE_PATTERN, type Names } from './names.js';
export { mentionsIn, MENTIONS_MAX, type MentionsIn } from './mentions.js';
export {
  LIMITS,
  USERNAME_PATTERN,
  Role,
  RoomKind,
  MessageStatus,
  Id,
  UserView,
  RoomView,
  MessageView,
  roomSlug,
  canReadRoom,
} from './domain.js';
export {
  Command,
  RegisterUser,
  JoinRoom,
  LeaveRoom,
  SendMessage,
  OpenDirectRoom,
  EditMessage,
  DeleteMessage,
  RenameUser,
  HideMessage,
  UnhideMessage,
  MuteUser,
  UnmuteUser,
  MUTE_MINUTES_MAX,
  COMMAND_POLICY,
  CommandValue,
  CommandError,
  parseCommandResult,
  type CommandType,
  type CommandOf,
  type CommandResult,
} from './commands.js';
export {
  DomainEvent,
  EVENT_TYPES,
  TraceContext,
  parseDomainEvent,
  newEvent,
  eventRoom,
  eventRecord,
  type EventRecord,
  type EventType,
  type EventOf,
  type EventData,
} from './events.js';
export { RoomSignal, parseRoomSignal, UserSignal, parseUserSignal, AccessSignal, parseAccessSignal } from './channels.js';
export {
  ModerationAction,
  ModerationKind,
  MODERATION_ACTION_VERSION,
  MODERATION_REASON_MAX,
  parseModerationAction,
  derivedActionId,
} from './moderation.js';
export {
  GENESIS_HASH,
  EMPTY_HEAD,
  ChainVerifier,
  canonicalJson,
  auditEntryHash,
  linkEntries,
  type HashedAuditFields,
  type StoredChainEntry,
  type ChainHead,
  type ChainBreak,
} from './audit-chain.js';
export { formatZodError } from './zod.js';
