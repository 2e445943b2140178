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
  type EventType,
  type EventOf,
  type EventData,
} from './events.js';
export { RoomSignal, parseRoomSignal } from './channels.js';
export { formatZodError } from './zod.js';
