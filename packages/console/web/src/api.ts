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

/** What the console was started with: a KMS to relay to, a control plane. */
export const listServices = () => getJson<{ kms: boolean; cp: boolean }>('/api/services');

/** An error a service (or the console's relay) answered, with its stable code. */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** A read-only GET through the console's relay (/api/kms/…, /api/cp/…): JSON, or a ServiceError naming the code. */
export async function getService<T>(service: 'kms' | 'cp', path: string): Promise<T> {
  const r = await fetch(`/api/${service}/${path}`, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  const text = await r.text();
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw new ServiceError('CONSOLE_UPSTREAM_UNAVAILABLE', `${service} ${path}: the answer is not JSON (HTTP ${r.status})`, r.status);
  }
  if (!r.ok) {
    const e = (j as { error?: { code?: unknown; message?: unknown } }).error;
    throw new ServiceError(typeof e?.code === 'string' ? e.code : `HTTP_${r.status}`, typeof e?.message === 'string' ? e.message : `HTTP ${r.status}`, r.status);
  }
  return j as T;
}
