/**
 * @module @veritee/streams
 * Verifiable stream processing: sensors sign readings (Ed25519 over a Poseidon2
 * digest, with a per-sensor sequence number), a processor groups them into
 * tumbling windows and proves each window's aggregate with the streamagg claim,
 * and a consumer verifies signatures, sequence completeness, commitments and
 * proofs in one call. Readings travel on an in-process queue or NATS JetStream.
 *
 * @example
 * const key = generateSensorKey('plug-1');
 * const signed = signReading(key, { seq: 1, ts, value: 1250 });
 * const pipeline = new StreamPipeline({ sensors, window: { sizeUs: 900e6, originUs: 0 }, threshold: 2000, prove, onResult });
 * await pipeline.ingest(signed);
 */
export * from './reading.js';
export * from './tracker.js';
export * from './window.js';
export * from './pipeline.js';
export * from './queue.js';
export * from './verify.js';
