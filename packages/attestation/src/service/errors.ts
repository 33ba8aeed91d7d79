/**
 * @module service/errors
 * One error shape for every route: `{ "error": { "code": "<VeriteeError code>", "message": "…" } }`
 * with the HTTP status of that code (ERROR_CODES). Fastify's own errors (body too large,
 * bad JSON, wrong content type, unknown route) are mapped onto the same codes.
 *
 * INVARIANT: an error reply never carries the request body, a stack trace or key
 * material; 5xx replies say only "internal error" (the detail goes to the log).
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { ERROR_CODES, VeriteeError, type ErrorCode } from '@veritee/core';

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export function sendError(reply: FastifyReply, err: VeriteeError): FastifyReply {
  const status = ERROR_CODES[err.code]?.http ?? 500;
  const message = status >= 500 ? 'internal error' : err.message;
  // 429 (ATTEST_NONCE_LIMIT) says when to come back (RFC 9110 §10.2.3: delay-seconds).
  const retryAfter = err.details?.['retryAfterSeconds'];
  if (typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter >= 0) reply.header('retry-after', String(Math.ceil(retryAfter)));
  return reply.code(status).type('application/json').send({ error: { code: err.code, message } } satisfies ErrorBody);
}

/** Maps anything thrown in a route (or by Fastify before it) onto a VeriteeError. */
export function toServiceError(e: unknown): VeriteeError {
  if (e instanceof VeriteeError) return e;
  const fe = e as Partial<FastifyError> & { message?: string };
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new VeriteeError('INPUT_TOO_LARGE', 'request body exceeds the size limit');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new VeriteeError('INPUT_JSON_INVALID', 'request body is empty; a JSON document is expected');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new VeriteeError('INPUT_INVALID', 'unsupported content type; send application/json');
    // Router errors (FST_ERR_BAD_URL, FST_ERR_MAX_PARAM_LENGTH) carry the whole URL: never echo it.
    case 'FST_ERR_BAD_URL':
      return new VeriteeError('INPUT_INVALID', 'the request URL is malformed');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new VeriteeError('INPUT_INVALID', 'a path parameter of the request URL is too long');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new VeriteeError('INPUT_INVALID', 'request content-length does not match the body');
    default:
      break;
  }
  if (status === 413) return new VeriteeError('INPUT_TOO_LARGE', 'request body exceeds the size limit');
  if (status === 400 && (e instanceof SyntaxError || /JSON/i.test(fe.message ?? ''))) {
    return new VeriteeError('INPUT_JSON_INVALID', `request body is not valid JSON: ${fe.message ?? ''}`.trim());
  }
  if (status >= 400 && status < 500) return new VeriteeError('INPUT_INVALID', fe.message ?? 'bad request');
  return new VeriteeError('INTERNAL', fe.message ?? String(e), undefined, { cause: e });
}

/**
 * For Fastify's `frameworkErrors` option: errors the router raises before any handler
 * (a malformed or over-long URL) get the same shape, without echoing the URL.
 */
export function frameworkErrorHandler(e: FastifyError, _request: unknown, reply: FastifyReply): void {
  void sendError(reply, toServiceError(e));
}

/** Installs the uniform error and not-found handlers on the root instance. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((e, request, reply) => {
    const err = toServiceError(e);
    const status = ERROR_CODES[err.code]?.http ?? 500;
    if (status >= 500) request.log.error({ code: err.code, err: e }, 'request failed');
    else request.log.info({ code: err.code, status }, err.message);
    return sendError(reply, err);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new VeriteeError('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}
