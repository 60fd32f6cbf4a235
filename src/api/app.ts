/**
 * Builds the HTTP API and console as a fastify instance, without listening (STYLE.md §12): tests
 * drive it with `inject()`, the server module listens. One plugin per resource; every route has
 * schemas; one error shape.
 *
 * Scopes: public — /healthz, /readyz, the login route and the console's static files (the login
 * page has to load before anyone is logged in; it carries no data). Everything else is in the
 * guarded scope: a session cookie or a bearer API token, then the route's roles.
 */
import { existsSync } from 'node:fs';
import { maxHeaderSize } from 'node:http';
import { fileURLToPath } from 'node:url';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import { guard, principalOf } from './auth/guard.js';
import type { ApiContext } from './context.js';
import { ApiError, clientErrorHandler, errorBody, installErrorHandling } from './errors.js';
import { alarmRoutes } from './routes/alarms.js';
import { auditRoutes } from './routes/audit.js';
import { loginRoutes, sessionRoutes } from './routes/auth.js';
import { deviceRoutes } from './routes/devices.js';
import { detectorHealthRoutes } from './routes/health.js';
import { laneRoutes } from './routes/lanes.js';
import { liveRoutes } from './routes/live.js';
import { occupancyRoutes } from './routes/occupancies.js';
import { scanRoutes, scanUploadRoutes } from './routes/scans.js';
import { scannerRoutes } from './routes/scanner.js';
import { healthRoutes, metricsRoutes } from './routes/ops.js';
import { userRoutes } from './routes/users.js';
import type { ApiTypeProvider } from './type-provider.js';

export const API_VERSION = '1.0.0';

/**
 * Where the console's static files are: beside this module in a source checkout, and back in
 * src/ when running the compiled dist/ (tsc does not copy assets).
 */
export function consoleRoot(): string {
  const beside = fileURLToPath(new URL('./console/', import.meta.url));
  if (existsSync(beside)) return beside;
  return fileURLToPath(new URL('../../../src/api/console/', import.meta.url));
}

const CONSOLE_CSP =
  "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export async function buildApiApp(ctx: ApiContext): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: 256 * 1024,
    trustProxy: false,
    forceCloseConnections: true,
    clientErrorHandler: clientErrorHandler(ctx.logger),
    ajv: {
      customOptions: {
        // Report every problem, refuse (not drop) unknown fields, coerce only query/path strings.
        allErrors: true,
        removeAdditional: false,
        coerceTypes: 'array',
        useDefaults: true,
      },
    },
  }).withTypeProvider<ApiTypeProvider>();

  // Bodies are JSON. fastify also parses text/plain, into a string that the body schemas then
  // refuse as 400 VALIDATION_FAILED ("body must be object"), where every other type that is not
  // JSON gets 415 UNSUPPORTED_MEDIA_TYPE: no route takes text, so text/plain is refused alike.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('principal', null);
  installErrorHandling(app, ctx.logger);
  // Path numbers are coerced from text, and "1e309" becomes Infinity, which the schema's
  // integer and maximum checks let through: refuse any that is not a safe whole number.
  app.addHook('preHandler', (request, _reply, done) => {
    const seq = (request.params as { seq?: unknown } | undefined)?.seq;
    if (typeof seq === 'number' && !Number.isSafeInteger(seq)) {
      done(
        new ApiError('VALIDATION_FAILED', 'params.seq must be a whole number', [
          { path: 'params.seq', message: 'must be a whole number' },
        ]),
      );
      return;
    }
    done();
  });
  app.addHook('onSend', async (request, reply, payload) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
    if (!request.url.startsWith('/api/docs')) {
      void reply.header('x-frame-options', 'DENY');
      void reply.header('content-security-policy', CONSOLE_CSP);
    }
    if (request.url.startsWith('/api/')) void reply.header('cache-control', 'no-store');
    return payload;
  });

  await app.register(fastifyRateLimit, { global: false });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'rpm-gateway API',
        version: API_VERSION,
        description:
          'Lanes, occupancies, alarms and adjudication, devices and configuration, detector health, ' +
          'live feed. Authenticate with POST /api/v1/auth/login (session cookie) or an API token ' +
          '(Authorization: Bearer). Every error answers the ApiError schema — also a request that ' +
          "Node's HTTP parser refuses before any route: headers over " +
          `${Math.floor(maxHeaderSize / 1024)} KiB (431 HEADERS_TOO_LARGE) or malformed HTTP ` +
          '(400 MALFORMED_REQUEST); after these the connection is closed. Request bodies are JSON: ' +
          'any other Content-Type, text/plain too, is 415 UNSUPPORTED_MEDIA_TYPE (scan uploads are ' +
          'multipart and answer their own codes).',
      },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'rpmg_session' },
          token: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ session: [] }, { token: [] }],
      tags: [
        { name: 'auth' },
        { name: 'lanes' },
        { name: 'occupancies' },
        { name: 'alarms' },
        { name: 'devices' },
        { name: 'health' },
        { name: 'audit' },
        { name: 'live' },
        { name: 'scans' },
        { name: 'users' },
        { name: 'ops' },
      ],
    },
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/api/docs',
    uiConfig: { docExpansion: 'list', deepLinking: false },
    uiHooks: {
      onRequest: (request, reply, done) => {
        if (principalOf(ctx, request) === null) {
          void reply.code(401).send(errorBody('UNAUTHENTICATED'));
          return;
        }
        done();
      },
    },
  });

  // Public scope.
  await app.register(healthRoutes, { ctx });
  await app.register(loginRoutes, { ctx });
  // Scan uploads check a person's role or the scanner's own token themselves (routes/scans.ts).
  await app.register(scanUploadRoutes, { ctx });
  await app.register(fastifyStatic, {
    root: consoleRoot(),
    prefix: '/console/',
    index: false,
    cacheControl: true,
    maxAge: 0,
    schemaHide: true,
  });
  app.get('/', { schema: { hide: true } }, (_request, reply) => reply.sendFile('index.html'));

  // Guarded scope.
  await app.register(async (guarded) => {
    guarded.addHook('onRequest', guard(ctx));
    await guarded.register(sessionRoutes, { ctx });
    await guarded.register(laneRoutes, { ctx });
    await guarded.register(occupancyRoutes, { ctx });
    await guarded.register(alarmRoutes, { ctx });
    await guarded.register(deviceRoutes, { ctx });
    await guarded.register(detectorHealthRoutes, { ctx });
    await guarded.register(auditRoutes, { ctx });
    await guarded.register(liveRoutes, { ctx });
    await guarded.register(userRoutes, { ctx });
    await guarded.register(metricsRoutes, { ctx });
    await guarded.register(scanRoutes, { ctx });
    await guarded.register(scannerRoutes, { ctx });
    if (ctx.imaging !== undefined) await guarded.register(ctx.imaging);
  });

  await app.ready();
  return app;
}
