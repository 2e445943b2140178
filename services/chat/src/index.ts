export { createChat, type ChatService } from './chat.js';
export { CommandExecutor, type SignalPublisher, type CommandDeps } from './commands.js';
export { OutboxRelay } from './outbox-relay.js';
export { directRoomId, publicRoomId, normalizeBody } from './domain.js';
export { ModerationApplier, toModerationAction, type MuteTimers } from './moderation.js';
export { chatModerationHandler, decodeAction } from './moderation-consumer.js';
