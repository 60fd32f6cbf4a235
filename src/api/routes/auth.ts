/**
 * Logging in and out, the current user, personal API tokens and changing one's own password.
 * Login is the one public route beside health: it is rate limited per client address (SPEC §8),
 * and answers the same refusal for an unknown user and a wrong password.
 */
import { Type } from '@sinclair/typebox';
import { readCookie, SESSION_COOKIE, sessionCookie, who } from '../auth/guard.js';
import { MIN_PASSWORD_LENGTH } from '../auth/user-store.js';
import type { ApiPlugin } from '../type-provider.js';
import { ApiError, ErrorSchema } from '../errors.js';
import { MeSchema, OkSchema } from '../schemas.js';

const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

const TokenInfo = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  username: Type.String(),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
});

/** Public: POST /api/v1/auth/login. */
export const loginRoutes: ApiPlugin = (app, { ctx }) => {
  app.post(
    '/api/v1/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in: sets an HttpOnly session cookie',
        security: [],
        body: LoginBody,
        response: { 200: MeSchema, 400: ErrorSchema, 401: ErrorSchema, 429: ErrorSchema },
      },
      config: { rateLimit: { max: ctx.options.loginMax, timeWindow: ctx.options.loginWindowS * 1000 } },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const user = await ctx.users.verifyPassword(username, password);
      if (user === null) {
        // Never log the password; the username helps spot guessing.
        ctx.logger.warn('login refused', { username, ip: request.ip });
        throw new ApiError('LOGIN_FAILED');
      }
      const session = ctx.users.openSession(user.username);
      ctx.logger.info('login', { username: user.username, role: user.role });
      void reply.header('set-cookie', sessionCookie(ctx, session, ctx.options.sessionAbsoluteS));
      return { username: user.username, role: user.role, via: 'session' };
    },
  );
  return Promise.resolve();
};

/** Protected: the session's own routes. */
export const sessionRoutes: ApiPlugin = (app, { ctx }) => {
  app.post(
    '/api/v1/auth/logout',
    { schema: { tags: ['auth'], summary: 'End the session', response: { 200: OkSchema, 401: ErrorSchema } } },
    (request, reply) => {
      const id = readCookie(request.headers.cookie, SESSION_COOKIE);
      if (id !== null) ctx.users.closeSession(id);
      void reply.header('set-cookie', sessionCookie(ctx, '', 0));
      return { ok: true };
    },
  );

  app.get(
    '/api/v1/auth/me',
    { schema: { tags: ['auth'], summary: 'Who am I', response: { 200: MeSchema, 401: ErrorSchema } } },
    (request) => who(request),
  );

  app.post(
    '/api/v1/auth/password',
    {
      schema: {
        tags: ['auth'],
        summary: 'Change my password (ends my sessions)',
        body: Type.Object(
          {
            current: Type.String({ minLength: 1, maxLength: 1024 }),
            next: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: OkSchema, 400: ErrorSchema, 401: ErrorSchema },
      },
    },
    async (request) => {
      const me = who(request);
      if ((await ctx.users.verifyPassword(me.username, request.body.current)) === null) {
        throw new ApiError('LOGIN_FAILED', 'the current password is wrong');
      }
      await ctx.users.setPassword(me.username, request.body.next);
      ctx.audit.append({
        actor: me.username,
        role: me.role,
        action: 'user.password.change',
        target: `user/${me.username}`,
        before: null,
        after: null,
      });
      return { ok: true };
    },
  );

  app.get(
    '/api/v1/auth/tokens',
    { schema: { tags: ['auth'], summary: 'My API tokens', response: { 200: Type.Array(TokenInfo) } } },
    (request) => ctx.users.tokens(who(request).username),
  );

  app.post(
    '/api/v1/auth/tokens',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an API token for Authorization: Bearer (shown once)',
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 80 }) },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ token: Type.String(), info: TokenInfo }), 400: ErrorSchema },
      },
    },
    (request, reply) => {
      const me = who(request);
      const created = ctx.users.createToken(me.username, request.body.name);
      ctx.audit.append({
        actor: me.username,
        role: me.role,
        action: 'token.create',
        target: `user/${me.username}`,
        before: null,
        after: created.info,
      });
      void reply.code(201).send(created);
    },
  );

  app.delete(
    '/api/v1/auth/tokens/:id',
    {
      schema: {
        tags: ['auth'],
        summary: 'Revoke one of my API tokens',
        params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
        response: { 200: OkSchema, 404: ErrorSchema },
      },
    },
    (request) => {
      const me = who(request);
      if (!ctx.users.revokeToken(request.params.id, me.username))
        throw new ApiError('NOT_FOUND', 'no such token');
      ctx.audit.append({
        actor: me.username,
        role: me.role,
        action: 'token.revoke',
        target: `user/${me.username}`,
        before: { id: request.params.id },
        after: null,
      });
      return { ok: true };
    },
  );
  return Promise.resolve();
};
