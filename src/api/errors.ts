/**
 * The API's one error shape and its stable codes (STYLE.md §8): every refusal — no session, wrong
 * role, malformed body, unknown id, rate limit — answers `ErrorSchema`, and the OpenAPI document
 * lists the codes from this same table.
 */
import { maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { GatewayError, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export const API_ERROR_CODES = {
  UNAUTHENTICATED: { status: 401, text: 'No valid session or token: log in first.' },
  LOGIN_FAILED: { status: 401, text: 'Unknown user, wrong password, or disabled account.' },
  FORBIDDEN: { status: 403, text: 'Your role does not allow this.' },
  VALIDATION_FAILED: { status: 400, text: 'The request does not match its schema.' },
  MALFORMED_REQUEST: {
    status: 400,
    text: 'The request is not well-formed HTTP/1.1; the connection is closed.',
  },
  CONFIG_INVALID: { status: 400, text: 'The configuration change was refused by the configuration checks.' },
  NOT_FOUND: { status: 404, text: 'No such resource.' },
  CONFLICT: { status: 409, text: 'The resource is not in a state that allows this.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, text: 'Send JSON (Content-Type: application/json).' },
  PAYLOAD_TOO_LARGE: { status: 413, text: 'The request body is too large.' },
  HEADERS_TOO_LARGE: {
    status: 431,
    text:
      `The request headers are larger than the ${Math.floor(maxHeaderSize / 1024)} KiB the gateway accepts ` +
      '(often: too many cookies for this host); the connection is closed.',
  },
  RATE_LIMITED: { status: 429, text: 'Too many attempts; wait and try again.' },
  DEVICE_ERROR: { status: 502, text: 'The device did not take the command; the message says why.' },
  NOT_AVAILABLE: { status: 503, text: 'This part of the gateway is not running.' },
  INTERNAL: { status: 500, text: 'The gateway failed to answer; the error is logged.' },
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_CODES;

export const ErrorSchema = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.Union(
      Object.keys(API_ERROR_CODES).map((c) => Type.Literal(c)),
      {
        description: Object.entries(API_ERROR_CODES)
          .map(([c, v]) => `${c}: ${v.text}`)
          .join('\n'),
      },
    ),
    error: Type.String({ description: 'The HTTP reason phrase.' }),
    message: Type.String({ description: 'What is wrong, in words a person can act on.' }),
    details: Type.Optional(
      Type.Array(Type.Object({ path: Type.String(), message: Type.String() }), {
        description: 'One entry per problem, when there are several (validation).',
      }),
    ),
  },
  { title: 'ApiError' },
);
export type ApiErrorBody = Static<typeof ErrorSchema>;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
    message?: string,
    readonly details?: ReadonlyArray<{ path: string; message: string }>,
  ) {
    super(message ?? API_ERROR_CODES[code].text);
  }
  get statusCode(): number {
    return API_ERROR_CODES[this.code].status;
  }
}

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  431: 'Request Header Fields Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export function errorBody(
  code: ApiErrorCode,
  message?: string,
  details?: ReadonlyArray<{ path: string; message: string }>,
): ApiErrorBody {
  const statusCode = API_ERROR_CODES[code].status;
  return {
    statusCode,
    code,
    error: REASON[statusCode] ?? 'Error',
    message: message ?? API_ERROR_CODES[code].text,
    ...(details && details.length > 0 ? { details: [...details] } : {}),
  };
}

/** Errors of the layers below that a request can cause, and how the API answers them. */
const GATEWAY_TO_API: Partial<Record<ErrorCode, ApiErrorCode>> = {
  ALARM_NOT_FOUND: 'NOT_FOUND',
  ALARM_ALREADY_ACKNOWLEDGED: 'CONFLICT',
  ALARM_CLOSED: 'CONFLICT',
  ALARM_CONFLICT: 'CONFLICT',
  ALARM_CODE_UNKNOWN: 'VALIDATION_FAILED',
  ALARM_COMMAND_INVALID: 'VALIDATION_FAILED',
  ALARM_USER_MISSING: 'VALIDATION_FAILED',
  CONFIG_INVALID: 'CONFIG_INVALID',
  SCANNER_NOT_FOUND: 'NOT_FOUND',
  SCANNER_COMMAND_REFUSED: 'CONFLICT',
  SCANNER_COMMAND_FAILED: 'DEVICE_ERROR',
};

/** Every error leaves as ErrorSchema; validation errors list every problem with its path. */
export function installErrorHandling(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error: FastifyError | ApiError | GatewayError, request, reply) => {
    if (error instanceof ApiError) {
      return reply.code(error.statusCode).send(errorBody(error.code, error.message, error.details));
    }
    if (error instanceof GatewayError) {
      const code = GATEWAY_TO_API[error.code];
      if (code !== undefined)
        return reply.code(API_ERROR_CODES[code].status).send(errorBody(code, error.message));
    }
    if ('validation' in error && error.validation) {
      const details = error.validation.map((v) => {
        const where = `${error.validationContext ?? 'body'}${v.instancePath.replace(/\//g, '.')}`;
        const missing = (v.params as { missingProperty?: string }).missingProperty;
        const extra = (v.params as { additionalProperty?: string }).additionalProperty;
        const allowed = (v.params as { allowedValues?: unknown[] }).allowedValues;
        let message = v.message ?? 'is not valid';
        if (missing) message = `must have property '${missing}'`;
        if (extra) message = `has '${extra}', which is not a known property`;
        if (allowed) message = `must be one of ${allowed.join(', ')}`;
        return { path: missing ? `${where}.${missing}` : where, message };
      });
      const unique = details.filter(
        (d, i) => details.findIndex((o) => o.path === d.path && o.message === d.message) === i,
      );
      const text = unique.map((d) => `${d.path} ${d.message}`).join('; ');
      return reply.code(400).send(errorBody('VALIDATION_FAILED', text, unique));
    }
    const status = ('statusCode' in error ? error.statusCode : undefined) ?? 500;
    if (status === 429) return reply.code(429).send(errorBody('RATE_LIMITED'));
    if (status === 415) return reply.code(415).send(errorBody('UNSUPPORTED_MEDIA_TYPE'));
    if (status === 413) return reply.code(413).send(errorBody('PAYLOAD_TOO_LARGE'));
    if (status === 404) return reply.code(404).send(errorBody('NOT_FOUND'));
    if (status >= 400 && status < 500) {
      // Body parse errors (malformed JSON) and the like: say what fastify found.
      return reply.code(400).send(errorBody('VALIDATION_FAILED', error.message));
    }
    logger.error('API request failed', { method: request.method, url: request.url, error: error.message });
    return reply.code(500).send(errorBody('INTERNAL'));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}

/**
 * What the API answers a request Node's HTTP parser refuses before fastify sees it: a parse error
 * has no request, route or reply, so fastify's own answer (the same JSON without `code`) is all a
 * client got. Other client errors (a reset, a broken pipe) have nobody to answer; the request
 * timeout that would also land here is off (fastify's `requestTimeout: 0`).
 */
function parserRefusal(error: ConnectionError): ApiErrorCode | null {
  if (error.code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  // Node's own answer to this one is 413: it is the body's chunk framing that is too large.
  if (error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 'PAYLOAD_TOO_LARGE';
  if (typeof error.code === 'string' && error.code.startsWith('HPE_')) return 'MALFORMED_REQUEST';
  return null;
}

/**
 * fastify's `clientErrorHandler`: answers parser refusals in the API's error shape, written on the
 * socket itself (there is no reply object), then closes the connection — the parser cannot find
 * where the next request would begin.
 */
export function clientErrorHandler(logger: Logger): (error: ConnectionError, socket: Socket) => void {
  return (error, socket) => {
    if (socket.destroyed) return;
    const code = parserRefusal(error);
    // A pipelined request refused while the response to an earlier one is being written (the live
    // feed is one that never ends): a status line now would land inside that response's body, so
    // the connection is only closed — what Node itself does.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (code !== null && socket.writable && inFlight?.headersSent !== true) {
      const body = JSON.stringify(errorBody(code));
      const { status } = API_ERROR_CODES[code];
      socket.write(
        `HTTP/1.1 ${status} ${REASON[status] ?? 'Error'}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          'Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n' +
          body,
      );
    }
    // Debug only: a port scan or a misconfigured client sending junk is not the gateway's fault.
    logger.debug('HTTP request refused by the parser', {
      reason: error.code,
      answered: code ?? 'nothing',
      remote: socket.remoteAddress,
    });
    socket.destroy(error);
  };
}
