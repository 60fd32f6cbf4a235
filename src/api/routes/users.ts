/**
 * User management, for admins. Every change goes to the audit log (never with a password).
 * The last enabled admin cannot be demoted or disabled: the gateway would be unmanageable.
 */
import { Type } from '@sinclair/typebox';
import { ADMINS, who } from '../auth/guard.js';
import { MIN_PASSWORD_LENGTH, USERNAME_PATTERN } from '../auth/user-store.js';
import type { ApiPlugin } from '../type-provider.js';
import { ApiError, ErrorSchema } from '../errors.js';
import { RoleSchema, UserSchema } from '../schemas.js';

const Password = Type.String({
  minLength: MIN_PASSWORD_LENGTH,
  maxLength: 1024,
  description: `At least ${MIN_PASSWORD_LENGTH} characters.`,
});

export const userRoutes: ApiPlugin = (app, { ctx }) => {
  const config = { allow: ADMINS };

  app.get(
    '/api/v1/users',
    { config, schema: { tags: ['users'], summary: 'List users', response: { 200: Type.Array(UserSchema) } } },
    () => ctx.users.list(),
  );

  app.post(
    '/api/v1/users',
    {
      config,
      schema: {
        tags: ['users'],
        summary: 'Create a user',
        body: Type.Object(
          { username: Type.String({ pattern: USERNAME_PATTERN }), role: RoleSchema, password: Password },
          { additionalProperties: false },
        ),
        response: { 201: UserSchema, 400: ErrorSchema, 403: ErrorSchema, 409: ErrorSchema },
      },
    },
    async (request, reply) => {
      const me = who(request);
      const { username, role, password } = request.body;
      if (ctx.users.get(username) !== null)
        throw new ApiError('CONFLICT', `user '${username}' exists already`);
      const user = await ctx.users.create(username, role, password);
      ctx.audit.append({
        actor: me.username,
        role: me.role,
        action: 'user.create',
        target: `user/${username}`,
        before: null,
        after: { username, role, disabled: false },
      });
      return reply.code(201).send(user);
    },
  );

  app.patch(
    '/api/v1/users/:username',
    {
      config,
      schema: {
        tags: ['users'],
        summary: 'Change a user’s role, disable or enable it, or set its password (ends its sessions)',
        params: Type.Object({ username: Type.String({ pattern: USERNAME_PATTERN }) }),
        body: Type.Object(
          {
            role: Type.Optional(RoleSchema),
            disabled: Type.Optional(Type.Boolean()),
            password: Type.Optional(Password),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: UserSchema, 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema },
      },
    },
    async (request) => {
      const me = who(request);
      const { username } = request.params;
      const before = ctx.users.get(username);
      if (before === null) throw new ApiError('NOT_FOUND', `no user '${username}'`);
      const { role, disabled, password } = request.body;
      const losesAdmin =
        before.role === 'admin' && !before.disabled && ((role ?? 'admin') !== 'admin' || disabled === true);
      if (losesAdmin && ctx.users.list().filter((u) => u.role === 'admin' && !u.disabled).length <= 1) {
        throw new ApiError('CONFLICT', 'this is the last enabled admin; create another admin first');
      }
      if (password !== undefined) await ctx.users.setPassword(username, password);
      const after = ctx.users.update(username, {
        ...(role === undefined ? {} : { role }),
        ...(disabled === undefined ? {} : { disabled }),
      })!;
      ctx.audit.append({
        actor: me.username,
        role: me.role,
        action: 'user.update',
        target: `user/${username}`,
        before: { role: before.role, disabled: before.disabled },
        after: {
          role: after.role,
          disabled: after.disabled,
          ...(password === undefined ? {} : { passwordChanged: true }),
        },
      });
      return after;
    },
  );
  return Promise.resolve();
};
