/**
 * The configuration of the HTTP API and console (`http`, SPEC §6): where it listens, the first
 * admin, sessions and the login rate limit. Part of the schema defined once in schema.ts
 * (STYLE.md §10), which re-exports it: import from there.
 */
import { Type, type Static } from '@sinclair/typebox';

/** The HTTP API and console (SPEC §6). Absent: the gateway serves no HTTP. */
export const HttpSchema = Type.Object(
  {
    host: Type.String({
      minLength: 1,
      default: '127.0.0.1',
      description:
        'Address to listen on. Default 127.0.0.1 (this machine only); 0.0.0.0 for the lane network.',
    }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'TCP port. Default 8080.' }),
    admin: Type.Optional(
      Type.Object(
        {
          username: Type.String({
            pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
            default: 'admin',
            description: 'The first admin, created on first start when there is no user yet. Default admin.',
          }),
          password: Type.Optional(
            Type.String({
              minLength: 12,
              description:
                'Its password (at least 12 characters); write ${RPM_GATEWAY_ADMIN_PASSWORD} to keep it in the ' +
                'environment. Without it the RPM_GATEWAY_ADMIN_PASSWORD variable is used. There is no default.',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    session: Type.Object(
      {
        idleMinutes: Type.Integer({
          minimum: 1,
          maximum: 1440,
          default: 30,
          description: 'Idle timeout. Default 30.',
        }),
        absoluteHours: Type.Integer({
          minimum: 1,
          maximum: 168,
          default: 12,
          description: 'Longest session, in hours (a shift). Default 12.',
        }),
        secureCookie: Type.Boolean({
          default: false,
          description: 'Mark the session cookie Secure (set when the console is served over HTTPS).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    loginRateLimit: Type.Object(
      {
        max: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 5,
          description: 'Login attempts per client address per window. Default 5.',
        }),
        windowSeconds: Type.Integer({
          minimum: 1,
          maximum: 3600,
          default: 60,
          description: 'The window. Default 60.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type HttpConfig = Static<typeof HttpSchema>;
