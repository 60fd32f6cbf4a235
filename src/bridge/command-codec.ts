/**
 * Commands from central (SPEC §4 `…/<lane>/cmd/<name>`): decode, authorize and validate one
 * incoming message, and encode its response. Pure — the command service does the I/O.
 *
 * Authorization (decided here; SPEC is silent): every command must carry the MQTT 5 user
 * property `sender` (name configurable) whose value is in the configured allow-list. This names
 * who acted (the audit's "who"); it does not prove it — any client that may publish on the
 * `cmd` topics could claim any sender. The broker's ACL is therefore the security boundary:
 * only central's accounts may publish on `<prefix>/<site>/+/cmd/#` (see docs/events.md).
 *
 * Checks run cheapest and safest first: size, sender, lane, command name, JSON, schema — an
 * unauthorized payload is never parsed. Every failure has a stable code.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { MAX_NOTES_LENGTH } from '../alarm/lifecycle.js';
import { COMMAND_NAMES, type CommandName } from './topics.js';

export const COMMAND_ERROR_CODES = {
  PAYLOAD_TOO_LARGE: 'The command payload exceeds the configured limit.',
  UNAUTHORIZED: 'The sender is missing or not in the allow-list.',
  UNKNOWN_LANE: 'No such lane on this gateway.',
  UNKNOWN_COMMAND: 'No such command.',
  MALFORMED_JSON: 'The payload is not JSON.',
  INVALID_PAYLOAD: 'The payload does not match the command’s schema.',
  ALARM_NOT_FOUND: 'No such alarm on this lane.',
  ALARM_STATE_CONFLICT: 'The alarm is not in a state that allows this command.',
  INTERNAL: 'The gateway failed to carry out the command; nothing was changed.',
  RESPONSE_TOPIC_INVALID:
    'The response topic is one the gateway may not publish on (a wildcard, or its own topic tree); nothing was changed and no answer was sent.',
} as const;

export type CommandErrorCode = keyof typeof COMMAND_ERROR_CODES;

// The same limit as the console's notes and the alarm store's (an adjudication from central or
// the console keeps the same text).
const Note = Type.Optional(
  Type.String({ maxLength: MAX_NOTES_LENGTH, description: 'Free text for the record.' }),
);
const AlarmId = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'The alarmId of rpm.alarm.raised.',
});

export const CommandPayloadSchemas = {
  acknowledge: Type.Object({ alarmId: AlarmId, note: Note }, { additionalProperties: false }),
  adjudicate: Type.Object(
    {
      alarmId: AlarmId,
      code: Type.Integer({ minimum: 1, maximum: 11, description: 'Adjudication code 1–11 (SPEC §3).' }),
      secondaryInspection: Type.Optional(
        Type.Union([Type.Literal('NONE'), Type.Literal('REQUESTED'), Type.Literal('COMPLETED')]),
      ),
      note: Note,
    },
    { additionalProperties: false },
  ),
  'request-config': Type.Object({}, { additionalProperties: false }),
} as const;

export type Command =
  | {
      readonly name: 'acknowledge';
      readonly lane: string;
      readonly body: Static<(typeof CommandPayloadSchemas)['acknowledge']>;
    }
  | {
      readonly name: 'adjudicate';
      readonly lane: string;
      readonly body: Static<(typeof CommandPayloadSchemas)['adjudicate']>;
    }
  | { readonly name: 'request-config'; readonly lane: string; readonly body: Record<string, never> };

export interface CommandEnvelope {
  readonly lane: string;
  readonly name: string;
  readonly payload: Buffer;
  readonly userProperties: Readonly<Record<string, string | string[]>>;
}

export interface CommandPolicy {
  readonly senderProperty: string;
  readonly allowedSenders: readonly string[];
  readonly maxPayloadBytes: number;
  readonly lanes: ReadonlySet<string>;
}

export type DecodedCommand =
  | { readonly ok: true; readonly sender: string; readonly command: Command }
  | {
      readonly ok: false;
      readonly sender: string | null;
      readonly code: CommandErrorCode;
      readonly message: string;
    };

export function decodeCommand(m: CommandEnvelope, policy: CommandPolicy): DecodedCommand {
  const raw = m.userProperties[policy.senderProperty];
  const sender = typeof raw === 'string' ? raw : Array.isArray(raw) && raw.length === 1 ? raw[0]! : null;
  const fail = (code: CommandErrorCode, message: string): DecodedCommand => ({
    ok: false,
    sender,
    code,
    message,
  });
  if (m.payload.length > policy.maxPayloadBytes) {
    return fail(
      'PAYLOAD_TOO_LARGE',
      `payload is ${m.payload.length} bytes; the limit is ${policy.maxPayloadBytes}`,
    );
  }
  if (sender === null || !policy.allowedSenders.includes(sender)) {
    return fail(
      'UNAUTHORIZED',
      sender !== null
        ? `sender '${sender}' is not allowed to command this gateway`
        : Array.isArray(m.userProperties[policy.senderProperty])
          ? `the command carries several '${policy.senderProperty}' user properties; exactly one is needed`
          : `the command carries no '${policy.senderProperty}' user property`,
    );
  }
  if (!policy.lanes.has(m.lane)) return fail('UNKNOWN_LANE', `no lane '${m.lane}' on this gateway`);
  if (!(COMMAND_NAMES as readonly string[]).includes(m.name)) {
    return fail('UNKNOWN_COMMAND', `unknown command '${m.name}'; known: ${COMMAND_NAMES.join(', ')}`);
  }
  const name = m.name as CommandName;
  let body: unknown;
  const text = m.payload.toString('utf8').trim();
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch (error) {
    return fail('MALFORMED_JSON', `payload is not JSON: ${(error as Error).message}`);
  }
  const schema = CommandPayloadSchemas[name];
  if (!Value.Check(schema, body)) {
    const problems = [...Value.Errors(schema, body)]
      .slice(0, 5)
      .map((e) => `${e.path || '(payload)'} ${e.message}`);
    return fail('INVALID_PAYLOAD', problems.join('; '));
  }
  return { ok: true, sender, command: { name, lane: m.lane, body } as Command };
}

export interface CommandResponse {
  readonly ok: boolean;
  readonly command: string;
  readonly lane: string;
  readonly result?: unknown;
  readonly error?: { readonly code: CommandErrorCode; readonly message: string };
}

export function encodeResponse(response: CommandResponse): string {
  return JSON.stringify(response);
}
