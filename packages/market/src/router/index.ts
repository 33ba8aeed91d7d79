/**
 * @module router
 * One public endpoint in front of many attested provers (issue 14): the router
 * (router.ts), the sealed prover it fronts (sealed-prover.ts), the client that proves
 * through it end to end (client.ts) and the bytes they agree on (protocol.ts).
 */
export * from './protocol.js';
export { buildSealedProver, latencyProver, type SealedProveFn, type SealedProver, type SealedProverOptions } from './sealed-prover.js';
export { buildMarketRouter, parseBackendList, readBounded, type MarketRouter, type MarketRouterOptions, type RouterBackend } from './router.js';
export {
  chooseBackend,
  fetchDirectory,
  openResult,
  routedProve,
  sealInput,
  sendSealed,
  verifyDirectory,
  type DirectoryCheck,
  type RejectedBackend,
  type RoutedClientOptions,
  type RoutedProveResult,
  type VerifiedBackend,
} from './client.js';
