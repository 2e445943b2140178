export {
  KafkaAdapter,
  type KafkaOptions,
  type OutgoingRecord,
  type IncomingRecord,
  type IncomingBatch,
  type BatchHandler,
  type EventProducer,
  type EventConsumer,
  type TopicSpec,
  type ConsumerOptions,
  type FollowOptions,
  type Follower,
} from './kafka.js';
export {
  DeadLetterQueue,
  DLQ_REASON_MAX,
  toDeadLetter,
  decodeJsonRecord,
  splitRecords,
  type Decoded,
  type DeadLetter,
} from './dead-letter.js';
