// Minimal typing of the part of cacache (npm's content-addressed cache) the fetch phase uses.
declare module 'cacache' {
  interface PutOptions {
    integrity?: string;
    algorithms?: string[];
  }
  const cacache: {
    put(cache: string, key: string, data: Buffer, opts?: PutOptions): Promise<string>;
  };
  export default cacache;
}
