/**
 * The TypeBox type provider with read-only responses: the gateway's views use readonly arrays
 * and objects throughout, which TypeBox's mutable `Static` types would refuse. Requests are typed
 * exactly as the schema says; responses are still checked field by field, just not for mutability.
 */
import type { FastifyPluginAsync, FastifyTypeProvider, RawServerDefault } from 'fastify';
import type { Static, TSchema } from '@sinclair/typebox';
import type { ApiContext } from './context.js';

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

export interface ApiTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  serializer: this['schema'] extends TSchema ? DeepReadonly<Static<this['schema']>> : unknown;
}

/** A resource plugin: typed by its schemas, handed the API context. */
export type ApiPlugin<Options extends object = { ctx: ApiContext }> = FastifyPluginAsync<
  Options,
  RawServerDefault,
  ApiTypeProvider
>;
