/**
 * @module testing
 * Test support (not exported from the package): a loopback target server that records
 * every request it receives, and a development policy for simulated evidence.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parsePolicy, type Policy } from '@veritee/attestation';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  remoteAddress: string;
  remotePort: number;
  body: Buffer;
}

export interface TargetServer {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * A target on 127.0.0.1:0. It answers `GET /hello` with "hello", echoes other requests as
 * JSON (method, url, body), and `/trailers` with a chunked body and a trailer.
 */
export async function startTarget(): Promise<TargetServer> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, remoteAddress: req.socket.remoteAddress ?? '', remotePort: req.socket.remotePort ?? 0, body });
      if (req.url === '/hello') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
      } else if (req.url === '/trailers') {
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
        res.write('part one, ');
        res.addTrailers({ 'x-checksum': 'abc123' });
        res.end('part two');
      } else {
        res.writeHead(req.url === '/created' ? 201 : 200, { 'content-type': 'application/json', 'x-target': 'yes' });
        res.end(JSON.stringify({ method: req.method, url: req.url, body: body.toString('utf8') }));
      }
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A development policy: TDX and SNP, any measurement, SIMULATED evidence allowed, nonce + key binding required. */
export function devPolicy(over: Record<string, unknown> = {}): Policy {
  return parsePolicy({
    name: 'ohttp-dev',
    platforms: ['tdx', 'snp'],
    allowSimulated: true,
    reportData: { require: ['nonce', 'publicKeyHash'] },
    tdx: { mrtd: 'any' },
    snp: { measurements: 'any' },
    ...over,
  });
}
