/** The console server's read-only API (same origin; the CSP allows nothing else). */
export interface BundleEntry {
  name: string;
  bytes: number;
  kind?: string;
  createdAt?: string;
  periodStartUs?: number;
  periodEndUs?: number;
  attested?: boolean;
  setup?: string;
  problem?: string;
}

export interface KeyEntry {
  id: string;
  hash?: string;
  circuit?: string;
  capacity?: number;
  setup?: string;
  problem?: string;
}

async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

export const listBundles = () => getJson<{ dir: string; bundles: BundleEntry[] }>('/api/bundles');
export const listKeys = () => getJson<{ keys: KeyEntry[] }>('/api/keys');

/** Fetches text from this console's own origin only (URLs elsewhere are refused before any request). */
export async function fetchSameOrigin(url: string, maxBytes: number): Promise<string> {
  const u = new URL(url, location.href);
  if (u.origin !== location.origin) throw new Error(`only URLs on this console (${location.origin}) can be opened: the page makes no request elsewhere`);
  const r = await fetch(u, { credentials: 'same-origin' });
  if (!r.ok) throw new Error(`${u.pathname}: HTTP ${r.status}`);
  const text = await r.text();
  if (text.length > maxBytes) throw new Error(`${u.pathname} is larger than ${maxBytes} bytes`);
  return text;
}
