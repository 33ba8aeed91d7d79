/**
 * @module @veritee/ceremony
 * Multi-party Groth16 trusted setups for veritee's circuits: the coordinator
 * service, the contributor client, .ptau import (verified with snarkjs), and a
 * local end-to-end ceremony. The cryptography runs in the Go engine
 * (`veritee-prover ceremony …`, gnark's mpcsetup); verifier policy for the keys
 * lives in @veritee/zk (`CeremonyPolicy`, `setupProblem`).
 */
export { runEngine, stateFile, type CeremonyManifest, type CeremonyVerification, type EngineOptions } from './engine.js';
export { buildCoordinator, readManifest, type CoordinatorOptions } from './coordinator.js';
export { contributeRemote, type ContributeOptions, type ContributionReceipt } from './client.js';
export { verifyPtau, initFromPtau, snarkjsCli, type PtauVerification } from './ptau.js';
export { circuitDomain, localPhase1, runLocalCeremony, type CircuitDomain, type LocalCeremonyOptions, type LocalCeremonyResult } from './local.js';
