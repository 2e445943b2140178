export {
  ConversaClient,
  type ConversaClientOptions,
  type ConnectionEvent,
  type Message,
  type RoomInfo,
  type RoomWatch,
  type Session,
  type TokenSource,
  type WatchOptions,
} from './client.js';
export {
  ConversaError,
  fromGraphQLErrors,
  toConversaError,
  SERVER_CODES,
  type ConversaErrorCode,
  type ServerCode,
} from './errors.js';
export {
  DEFAULT_RETRY,
  isRetryable,
  reconnectDelay,
  retryDecision,
  type RetryDecision,
  type RetryPolicy,
} from './retry.js';
export { SeqTracker, type SeqVerdict } from './seq.js';
/** Every operation of src/operations.graphql as a typed document, with its result and variable types. */
export * as operations from './generated/graphql.js';
