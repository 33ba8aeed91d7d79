/**
 * @module service/well-known
 * `GET /.well-known/jwks.json` (the result-token keys) and `GET /healthz`.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { JsonWebKeySet } from '../token.js';

export const jwksPlugin: FastifyPluginAsync<{ jwks: () => JsonWebKeySet }> = async (app, { jwks }) => {
  app.get('/.well-known/jwks.json', async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').type('application/jwk-set+json').send(jwks()),
  );
};

export const healthPlugin: FastifyPluginAsync<{ policyCount: () => number }> = async (app, { policyCount }) => {
  app.get('/healthz', async () => ({ status: 'ok', policies: policyCount() }));
};
