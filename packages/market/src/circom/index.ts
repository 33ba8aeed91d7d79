/**
 * @module circom
 * Bring-your-own circom circuits: compile (circom2, cached by content hash), a
 * local one-party Groth16 setup (snarkjs powers of tau + zkey, labelled dev),
 * prove (snarkjs, wasm witness), and the strict formats of keys, signals and proofs.
 */
export { compileCircom, describeCompileError, CIRCOM_SOURCE_MAX_BYTES, CIRCOM_MAX_INCLUDES, type CircomArtifacts, type CompileCircomOptions } from './compile.js';
export { setupCircom, importCircomSetup, localPtau, requiredPower, CIRCOM_MAX_LOCAL_POWER, CIRCOM_MIN_POWER, DEV_SETUP_WARNING, type CircomSetup, type SetupCircomOptions, type ImportCircomSetupOptions } from './setup.js';
export { proveCircom, checkCircomInputs, CIRCOM_MAX_INPUT_VALUES, CIRCOM_WITNESS_TIMEOUT_MS, type ProveCircomOptions, type CircomProof, type CircomProvingArtifacts } from './prove.js';
export { releaseCircomResources } from './release.js';
export { defaultCircomCacheDir } from './cache.js';
export {
  CIRCOM_VK_FORMAT,
  CIRCOM_MAX_PUBLIC,
  CIRCOM_VK_MAX_BYTES,
  CircomVerificationKeyDocumentSchema,
  SnarkjsGroth16KeySchema,
  SnarkjsProofSchema,
  canonicalCircomVerificationKey,
  parseCircomVerificationKey,
  parsePublicSignals,
  parseSnarkjsProof,
  proofPointsValid,
  type CircomVerificationKeyDocument,
  type SnarkjsGroth16Key,
  type SnarkjsProof,
} from './format.js';
export { circomKeyForZk, verifyCircomWithZk } from './second-verifier.js';
