/**
 * The HTTP server around {@link buildApiApp}: creates the first admin when there is no user yet,
 * builds the app and listens. The gateway wiring (src/app/gateway.ts) owns one of these when the
 * configuration has an `http` section.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { HttpConfig } from '../config/schema.js';
import type { Counters } from '../core/counters.js';
import type { Logger } from '../core/logger.js';
import type { AuditStore } from '../storage/audit-store.js';
import type { OccupancyProfile, OccupancyStore } from '../storage/occupancy-store.js';
import { buildApiApp } from './app.js';
import { MIN_PASSWORD_LENGTH, type UserStore } from './auth/user-store.js';
import { DEFAULT_HTTP_OPTIONS, type ApiContext, type HttpOptions } from './context.js';
import type { LiveHub } from './live/hub.js';
import type { AlarmService, LaneRuntime, N42Builder, Readiness, ScanPort } from './ports.js';

export const ADMIN_PASSWORD_ENV = 'RPM_GATEWAY_ADMIN_PASSWORD';

export function httpOptionsFrom(config: HttpConfig | undefined): HttpOptions {
  if (config === undefined) return DEFAULT_HTTP_OPTIONS;
  return {
    sessionIdleS: config.session.idleMinutes * 60,
    sessionAbsoluteS: config.session.absoluteHours * 3600,
    secureCookie: config.session.secureCookie,
    loginMax: config.loginRateLimit.max,
    loginWindowS: config.loginRateLimit.windowSeconds,
  };
}

/**
 * Create the first admin when no user exists: from the configuration's `http.admin`, else from the
 * environment. There is no default password: without one the gateway runs with nobody able to log
 * in, and says so.
 */
export async function bootstrapAdmin(
  users: UserStore,
  admin: { username?: string; password?: string } | undefined,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<'created' | 'exists' | 'missing-password'> {
  if (users.count() > 0) return 'exists';
  const username = admin?.username ?? 'admin';
  const password = admin?.password ?? env[ADMIN_PASSWORD_ENV];
  if (password === undefined || password.length < MIN_PASSWORD_LENGTH) {
    logger.warn('no user can log in to the console: set http.admin.password or ' + ADMIN_PASSWORD_ENV, {
      minimumLength: MIN_PASSWORD_LENGTH,
    });
    return 'missing-password';
  }
  await users.create(username, 'admin', password);
  logger.info('first admin created', { username });
  return 'created';
}

export interface ApiServerDeps {
  readonly logger: Logger;
  readonly now: () => number;
  readonly env: NodeJS.ProcessEnv;
  readonly users: UserStore;
  readonly audit: AuditStore;
  readonly occupancies: OccupancyStore;
  readonly alarms: AlarmService;
  readonly lanes: LaneRuntime;
  readonly hub: LiveHub;
  readonly counters: Counters;
  readonly readiness: () => Readiness;
  readonly currentProfile?: (lane: string) => { seq: number; profile: OccupancyProfile } | null;
  readonly n42?: N42Builder;
  readonly imaging?: FastifyPluginAsync;
  readonly scans?: ScanPort;
}

export interface ApiServer {
  /** Listen; resolves with the console URL. Safe to call twice. */
  start(): Promise<string>;
  stop(): Promise<void>;
  /** The fastify instance once started (tests inject into it). */
  readonly app: FastifyInstance | null;
  readonly url: string | null;
}

export function createApiServer(config: HttpConfig, deps: ApiServerDeps): ApiServer {
  let app: FastifyInstance | null = null;
  let url: string | null = null;
  let starting: Promise<string> | null = null;
  let stopping: Promise<void> | null = null;
  return {
    get app() {
      return app;
    },
    get url() {
      return url;
    },
    start() {
      starting ??= (async () => {
        await bootstrapAdmin(deps.users, config.admin, deps.env, deps.logger);
        const ctx: ApiContext = { ...deps, options: httpOptionsFrom(config) };
        app = await buildApiApp(ctx);
        await app.listen({ host: config.host, port: config.port });
        const address = app.server.address();
        const port = typeof address === 'object' && address !== null ? address.port : config.port;
        const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
        url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
        deps.logger.info('console listening', { url });
        return url;
      })();
      return starting;
    },
    stop() {
      stopping ??= (async () => {
        await starting?.catch(() => undefined);
        await app?.close();
      })();
      return stopping;
    },
  };
}
