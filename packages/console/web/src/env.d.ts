// vite.config.mjs aliases this subpath to @veritee/zk's attested module (the chain verifier).
declare module '@veritee/zk/attested' {
  export { verifyBundle, productionBundlePolicy, statementOf, type VerifyAttestedBundleOptions } from '@veritee/zk';
}
