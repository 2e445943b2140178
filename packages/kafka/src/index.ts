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
} from './kafka.js';
