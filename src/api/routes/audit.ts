/** The audit log (SPEC §6): read only, newest first, filterable; the chain can be verified. */
import { Type } from '@sinclair/typebox';
import { AUDIT_READERS } from '../auth/guard.js';
import { ErrorSchema } from '../errors.js';
import { AuditEntrySchema, Page, PageQuery } from '../schemas.js';
import type { ApiPlugin } from '../type-provider.js';

export const auditRoutes: ApiPlugin = (app, { ctx }) => {
  app.get(
    '/api/v1/audit',
    {
      config: { allow: AUDIT_READERS },
      schema: {
        tags: ['audit'],
        summary: 'Audit entries: who changed what, when, before and after',
        querystring: Type.Object(
          {
            target: Type.Optional(
              Type.String({ maxLength: 200, description: 'e.g. lane/lane-1, alarm/01J…' }),
            ),
            action: Type.Optional(Type.String({ maxLength: 100, description: 'e.g. alarm.adjudicate' })),
            actor: Type.Optional(Type.String({ maxLength: 100 })),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(AuditEntrySchema, 'AuditPage'), 400: ErrorSchema, 403: ErrorSchema },
      },
    },
    (request) => {
      const { target, action, actor } = request.query;
      const limit = request.query.limit ?? 50;
      const offset = request.query.offset ?? 0;
      const page = ctx.audit.list({
        ...(target === undefined ? {} : { target }),
        ...(action === undefined ? {} : { action }),
        ...(actor === undefined ? {} : { actor }),
        limit,
        offset,
      });
      return { total: page.total, limit, offset, items: page.items };
    },
  );

  app.get(
    '/api/v1/audit/verify',
    {
      config: { allow: AUDIT_READERS },
      schema: {
        tags: ['audit'],
        summary: 'Re-check the audit log’s hash chain',
        response: {
          200: Type.Object({ intact: Type.Boolean(), firstBadId: Type.Union([Type.Integer(), Type.Null()]) }),
        },
      },
    },
    () => {
      const bad = ctx.audit.verify();
      return { intact: bad === null, firstBadId: bad };
    },
  );
  return Promise.resolve();
};
