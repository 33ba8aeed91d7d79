/**
 * @module @veritee/streams
 * Verifiable stream processing: sensors sign readings (Ed25519 over a Poseidon2
 * digest, with a per-sensor sequence number) and an end marker, a processor groups
 * readings into tumbling or sliding windows and proves each window's aggregate with
 * the streamagg claim (several at once), chaining the results by hash, saving its
 * state for a restart; a consumer verifies signatures, sequence completeness, end
 * markers, the chain, commitments and proofs in one call. Readings travel on an
 * in-process queue, NATS JetStream or Kafka; results go to a file or Kafka.
 *
 * @example
 * const key = generateSensorKey('plug-1');
 * const signed = signReading(key, { seq: 1, ts, value: 1250 });
 * const pipeline = new StreamPipeline({ sensors, window: tumbling('15m'), threshold: 2000, prove, onResult });
 * await pipeline.ingest(signed);
 */
export * from './reading.js';
export * from './tracker.js';
export * from './window.js';
export * from './pipeline.js';
export * from './queue.js';
export * from './kafka.js';
export * from './sink.js';
export * from './state.js';
export * from './runner.js';
export * from './pipeline-file.js';
export * from './verify.js';
export * from './operators/order.js';
