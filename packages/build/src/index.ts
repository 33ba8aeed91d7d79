/**
 * @module @veritee/build
 * Attestable builds: build a git commit inside a (simulated) TEE, sealed from the network,
 * and get SLSA v1 provenance signed (DSSE, Sigstore bundle) by a key the builder's
 * evidence binds; verify an artifact back to the commit and the builder's launch
 * measurement.
 *
 * @example
 * const r = await runBuild({ source: '.', command: 'npm ci && npm run build', artifacts: ['dist'], outDir: 'build-result' });
 * const v = await verifyBuild({ artifact: 'build-result/artifacts/dist/app.js', files: { dir: 'build-result' }, policy: loadBuildPolicy('build-policy.yaml'), at: new Date() });
 */
export { runBuild, BUILDER_VERSION, type BuildOptions, type BuildResult, type BuildProgress, type BuildSubject } from './builder.js';
export { verifyBuild, type BuildCheck, type BuildFiles, type BuildVerification, type VerifyBuildOptions } from './verify.js';
export { parseBuildPolicy, loadBuildPolicy, devBuildPolicyYaml, MAX_BUILD_POLICY_BYTES, type BuildPolicy } from './policy.js';
export { builderMeasurement, builderManifest, measurementOfManifest, MEASUREMENT_DOMAIN, MEASURED_TOOLS, type BuilderManifest, type MeasurementComponent } from './measurement.js';
export { bindingNonce, buildReportData, BUILD_BINDING_DOMAIN } from './binding.js';
export { inputMerkleRoot, orderLeaves, leafHash, LEAF_KINDS, type InputLeaf, type LeafKind } from './merkle.js';
export { pinSource, npmDependencies, npmPurl, sriToDigests, measurePreload, LOCKFILE_NAMES, type Preload, type ResolvedDependency, type SourceRef } from './inputs.js';
export { checkDependencyDigest, fetchDependencies } from './fetch.js';
export { availableSandboxes, chooseSandbox, networkAttempt, runSealed, NETWORK_FAILURE_PATTERNS, type SandboxMethod, type Sealing } from './sandbox.js';
export {
  parseStatement,
  merkleRootOf,
  statementSchema,
  IN_TOTO_STATEMENT_V1,
  SLSA_PROVENANCE_V1,
  IN_TOTO_PAYLOAD_TYPE,
  VERITEE_BUILDER_ID,
  KETTLE_BUILDER_ID,
  kettleChecksum,
  checkKettleStatement,
  kettleStatementSchema,
  BUILD_TYPES,
  type Statement,
} from './provenance.js';
export { generateEnclaveKey, signProvenance, openBundle, verifyBundleSignature, type EnclaveKey } from './sign.js';
export { buildService, type BuildServiceOptions } from './service.js';
export { deploymentPolicy, type DeploymentPolicy, type DeploymentPolicyOptions } from './deploy.js';
export { compareBuilds, reproduceBuild, formatReproducibility, diffoscopeAvailable, type ReproducibilityReport, type FileDifference } from './reproduce.js';
