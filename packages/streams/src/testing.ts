/** Test support for the streams package (a real Kafka broker). */
export * from './kafka-broker.js';
