/**
 * Authentication and role checks for every protected route (SPEC §8: "authentication on
 * everything but health; role checks"). A request authenticates with the session cookie or with
 * `Authorization: Bearer <api token>`. Each route states the roles it allows in its `config.allow`;
 * a route that states none is readable by every role.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import type { Role } from '../ports.js';
import type { Principal } from './user-store.js';

export const SESSION_COOKIE = 'rpmg_session';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Roles allowed; absent = every authenticated role. */
    allow?: readonly Role[];
  }
}

/** Parse one cookie from the Cookie header (no cookie plugin needed for one cookie). */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{1,128}$/.test(value) ? value : null;
    }
  }
  return null;
}

export function sessionCookie(ctx: ApiContext, value: string, maxAgeS: number): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeS}`,
    ...(ctx.options.secureCookie ? ['Secure'] : []),
  ].join('; ');
}

export function principalOf(ctx: ApiContext, request: FastifyRequest): Principal | null {
  const auth = request.headers.authorization;
  if (auth !== undefined) {
    const match = /^Bearer\s+(\S{1,200})$/i.exec(auth);
    return match ? ctx.users.tokenPrincipal(match[1]!) : null;
  }
  const id = readCookie(request.headers.cookie, SESSION_COOKIE);
  if (id === null) return null;
  return ctx.users.session(id, { idleS: ctx.options.sessionIdleS, absoluteS: ctx.options.sessionAbsoluteS });
}

/** onRequest hook of the protected scope: 401 without a principal, 403 for a role not allowed. */
export function guard(ctx: ApiContext) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const principal = principalOf(ctx, request);
    if (principal === null) throw new ApiError('UNAUTHENTICATED');
    request.principal = principal;
    const allow = request.routeOptions.config.allow;
    if (allow !== undefined && !allow.includes(principal.role)) {
      throw new ApiError('FORBIDDEN', `${principal.role} may not do this; it needs: ${allow.join(', ')}`);
    }
  };
}

/** The principal of a guarded request (the guard has run). */
export function who(request: FastifyRequest): Principal {
  if (request.principal === null) throw new ApiError('UNAUTHENTICATED');
  return request.principal;
}

export const OPERATORS: readonly Role[] = ['operator', 'admin'];
export const TECHNICIANS: readonly Role[] = ['technician', 'admin'];
export const ADMINS: readonly Role[] = ['admin'];
/** Everyone who may see the audit log (not the read-only viewer). */
export const AUDIT_READERS: readonly Role[] = ['operator', 'technician', 'admin'];
