// The parts of snarkjs 0.7.6 (no bundled types) that the circom backend calls.
declare module 'snarkjs' {
  export interface SnarkjsCurve {
    terminate(): Promise<void>;
  }
  export const curves: {
    getCurveFromName(name: string, options?: { singleThread?: boolean }): Promise<SnarkjsCurve>;
  };
  export const powersOfTau: {
    newAccumulator(curve: SnarkjsCurve, power: number, fileName: string, logger?: unknown): Promise<unknown>;
    contribute(oldPtau: string, newPtau: string, name: string, entropy: string, logger?: unknown): Promise<Uint8Array>;
    preparePhase2(oldPtau: string, newPtau: string, logger?: unknown): Promise<void>;
    verify(ptau: string, logger?: unknown): Promise<boolean>;
  };
  export const r1cs: {
    info(r1csFile: string, logger?: unknown): Promise<{ nConstraints: number; nPubInputs: number; nOutputs: number; nPrvInputs: number; nVars: number; nLabels: number }>;
  };
  export const zKey: {
    newZKey(r1csFile: string, ptauFile: string, zkeyFile: string, logger?: unknown): Promise<Uint8Array>;
    contribute(oldZkey: string, newZkey: string, name: string, entropy: string, logger?: unknown): Promise<Uint8Array>;
    exportVerificationKey(zkeyFile: string, logger?: unknown): Promise<Record<string, unknown>>;
    verifyFromR1cs(r1csFile: string, ptauFile: string, zkeyFile: string, logger?: unknown): Promise<boolean>;
  };
  export const wtns: {
    calculate(input: Record<string, unknown>, wasmFile: string, wtnsFile: string | { type: 'mem'; data?: Uint8Array }, options?: unknown): Promise<void>;
  };
  export const groth16: {
    prove(zkeyFile: string, wtnsFile: string | { type: 'mem'; data?: Uint8Array }, logger?: unknown): Promise<{ proof: Record<string, unknown>; publicSignals: string[] }>;
    verify(vk: unknown, publicSignals: unknown, proof: unknown, logger?: unknown): Promise<boolean>;
  };
}
