/**
 * Occupancy history (SPEC §6): filter by lane, time, alarm, disposition and category, page; one
 * occupancy with its count profile; its ANSI N42.42 document (SPEC §4) when the bridge's builder
 * is built in.
 */
import { Type } from '@sinclair/typebox';
import type { ApiPlugin } from '../type-provider.js';
import { ApiError, ErrorSchema } from '../errors.js';
import { AlarmSchema, OccupancyParams, OccupancySchema, Page, PageQuery, ProfileSchema } from '../schemas.js';

const ListQuery = Type.Object(
  {
    lane: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Started at or after (ISO 8601).' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Started before (ISO 8601).' })),
    alarm: Type.Optional(
      Type.Boolean({ description: 'true: the gateway or the RPM alarmed; false: neither.' }),
    ),
    disposition: Type.Optional(Type.Union([Type.Literal('RELEASE'), Type.Literal('INVESTIGATE')])),
    category: Type.Optional(
      Type.Union(['background', 'NORM', 'medical', 'threat'].map((c) => Type.Literal(c))),
    ),
    ...PageQuery,
  },
  { additionalProperties: false },
);

export const occupancyRoutes: ApiPlugin = (app, { ctx }) => {
  app.get(
    '/api/v1/occupancies',
    {
      schema: {
        tags: ['occupancies'],
        summary: 'Completed occupancies, newest first',
        querystring: ListQuery,
        response: { 200: Page(OccupancySchema, 'OccupancyPage'), 400: ErrorSchema },
      },
    },
    (request) => {
      const q = request.query;
      const limit = q.limit ?? 50;
      const offset = q.offset ?? 0;
      const page = ctx.occupancies.list({
        ...(q.lane === undefined ? {} : { lane: q.lane }),
        ...(q.from === undefined ? {} : { from: Date.parse(q.from) }),
        ...(q.to === undefined ? {} : { to: Date.parse(q.to) }),
        ...(q.alarm === undefined ? {} : { alarm: q.alarm }),
        ...(q.disposition === undefined ? {} : { disposition: q.disposition }),
        ...(q.category === undefined ? {} : { category: q.category }),
        limit,
        offset,
      });
      return { total: page.total, limit, offset, items: page.items as never[] };
    },
  );

  app.get(
    '/api/v1/occupancies/:lane/:seq',
    {
      schema: {
        tags: ['occupancies'],
        summary: 'One occupancy with its count profile and its alarm, if it raised one',
        params: OccupancyParams,
        response: {
          200: Type.Object({
            occupancy: OccupancySchema,
            profile: Type.Union([ProfileSchema, Type.Null()]),
            alarm: Type.Union([AlarmSchema, Type.Null()]),
            n42: Type.Boolean({ description: 'An N42.42 document can be downloaded.' }),
          }),
          404: ErrorSchema,
        },
      },
    },
    (request) => {
      const { lane, seq } = request.params;
      const occupancy = ctx.occupancies.get(lane, seq);
      if (occupancy === null) throw new ApiError('NOT_FOUND', `no occupancy ${lane} #${seq}`);
      const alarm = ctx.alarms.byOccupancy(lane, seq);
      return {
        occupancy: occupancy as never,
        profile: ctx.occupancies.profile(lane, seq),
        alarm,
        n42: ctx.n42 !== undefined,
      };
    },
  );

  app.get(
    '/api/v1/occupancies/:lane/:seq/n42',
    {
      schema: {
        tags: ['occupancies'],
        summary: 'The occupancy as an ANSI N42.42-2012 document',
        params: OccupancyParams,
        produces: ['application/xml'],
        response: { 200: Type.String(), 404: ErrorSchema, 503: ErrorSchema },
      },
    },
    (request, reply) => {
      const { lane, seq } = request.params;
      if (ctx.n42 === undefined)
        throw new ApiError('NOT_AVAILABLE', 'the N42.42 export is not built into this gateway');
      const xml = ctx.n42(lane, seq);
      if (xml === null) throw new ApiError('NOT_FOUND', `no occupancy ${lane} #${seq}`);
      void reply
        .type('application/xml; charset=utf-8')
        .header('content-disposition', `attachment; filename="${lane}-${seq}.n42"`)
        .send(xml);
    },
  );
  return Promise.resolve();
};
