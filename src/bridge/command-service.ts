/**
 * Runs central's commands (SPEC §4): listens on `<prefix>/<site>/+/cmd/+` (MQTT 5 only — the
 * response topic and correlation data are MQTT 5 properties), decodes and authorizes each
 * message, carries it out through the `AlarmCommandHandler`, audits it, and answers on the
 * message's response topic with its correlation data. A command without a response topic is
 * still carried out and audited; there is just nobody to answer.
 *
 * A malformed, unknown, unauthorized or oversized command changes nothing: it is answered with
 * an error code, audited and counted. A handler that throws is answered `INTERNAL`.
 *
 * The service does not publish the alarm events itself: the alarm store tells the bridge of
 * every transition, whoever made it (a command here, an operator in the console), and the
 * bridge publishes each once (src/bridge/alarm-transitions.ts).
 */
import type { Clock } from '../core/clock.js';
import type { Counters } from '../core/counters.js';
import type { Logger } from '../core/logger.js';
import type { CommandAuditStore } from '../storage/command-audit-store.js';
import type { AdjudicationCode } from '../alarm/lifecycle.js';
import type { AlarmCommandHandler, AlarmCommandOutcome } from './alarm-commands.js';
import {
  decodeCommand,
  encodeResponse,
  type Command,
  type CommandErrorCode,
  type CommandPolicy,
} from './command-codec.js';
import type { IncomingMessage, MqttConnection } from './mqtt-connection.js';
import type { TopicTree } from './topics.js';

export interface CommandServiceOptions {
  readonly connection: MqttConnection;
  readonly topics: TopicTree;
  readonly policy: CommandPolicy;
  readonly alarms: AlarmCommandHandler;
  readonly audit: CommandAuditStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly counters: Counters;
  /** The lane's configuration for `request-config` (no secrets in it). */
  readonly configFor: (lane: string) => unknown;
}

export class CommandService {
  constructor(private readonly o: CommandServiceOptions) {
    o.connection.on('connected', (version) => {
      if (version === 5) return;
      const message =
        'commands need MQTT 5 (response topic, correlation data, sender): under 3.1.1 every command is refused';
      // News only where someone is meant to command the gateway: with no sender allowed (the
      // default, and the demo's embedded broker), every command is refused under any version.
      if (o.policy.allowedSenders.length > 0) o.logger.warn(message);
      else o.logger.info(message);
    });
    o.connection.on('message', (m) => {
      void this.handle(m);
    });
  }

  /** Subscribe (the connection re-subscribes after every reconnect). */
  start(): void {
    this.o.connection.subscribe(this.o.topics.commandFilter);
  }

  async handle(m: IncomingMessage): Promise<void> {
    const where = this.o.topics.parseCommand(m.topic);
    if (where === null) return;
    const time = this.o.clock.now();
    const decoded = decodeCommand(
      { ...where, payload: m.payload, userProperties: m.userProperties },
      this.o.policy,
    );
    let outcome: { ok: true; result: unknown } | { ok: false; code: CommandErrorCode; message: string };
    // A response topic the gateway may not publish on: nothing is done and nothing answered (a
    // wildcard would cost the session; the own tree would be overwritten) — audited and logged.
    const replyProblem =
      m.responseTopic === undefined ? null : this.o.topics.responseTopicProblem(m.responseTopic);
    if (replyProblem !== null)
      outcome = {
        ok: false,
        code: 'RESPONSE_TOPIC_INVALID',
        message: `the response topic cannot be answered on: ${replyProblem}`,
      };
    else if (!decoded.ok) outcome = { ok: false, code: decoded.code, message: decoded.message };
    else {
      try {
        outcome = await this.execute(decoded.command, decoded.sender, time);
      } catch (error) {
        this.o.logger.error('command failed', {
          lane: where.lane,
          command: where.name,
          error: String(error),
        });
        outcome = { ok: false, code: 'INTERNAL', message: 'the gateway failed to carry out the command' };
      }
    }
    this.o.counters.increment(outcome.ok ? 'bridge.command.ok' : `bridge.command.error.${outcome.code}`);
    try {
      this.o.audit.record({
        timeMs: time,
        lane: where.lane,
        command: where.name,
        sender: decoded.sender,
        correlation: m.correlationData ?? null,
        responseTopic: m.responseTopic ?? null,
        payload: m.payload,
        outcome: outcome.ok ? 'ok' : 'error',
        errorCode: outcome.ok ? null : outcome.code,
        detail: outcome.ok ? outcome.result : outcome.message,
      });
    } catch (error) {
      this.o.logger.error('command audit could not be written', { error: String(error) });
    }
    if (!outcome.ok) {
      this.o.logger.warn('command refused', {
        lane: where.lane,
        command: where.name,
        sender: decoded.sender,
        code: outcome.code,
        ...(replyProblem === null ? {} : { responseTopic: m.responseTopic }),
      });
    }
    if (m.responseTopic === undefined || replyProblem !== null) return;
    const body = encodeResponse(
      outcome.ok
        ? { ok: true, command: where.name, lane: where.lane, result: outcome.result }
        : {
            ok: false,
            command: where.name,
            lane: where.lane,
            error: { code: outcome.code, message: outcome.message },
          },
    );
    await this.o.connection
      .publish(m.responseTopic, body, {
        qos: 1,
        properties: {
          contentType: 'application/json',
          ...(m.correlationData === undefined ? {} : { correlationData: m.correlationData }),
        },
      })
      .catch((error: unknown) =>
        this.o.logger.warn('command response not delivered', { error: String(error) }),
      );
  }

  private async execute(
    c: Command,
    sender: string,
    time: number,
  ): Promise<{ ok: true; result: unknown } | { ok: false; code: CommandErrorCode; message: string }> {
    switch (c.name) {
      case 'request-config':
        return { ok: true, result: this.o.configFor(c.lane) };
      case 'acknowledge':
        return alarmOutcome(
          await this.o.alarms.acknowledge({
            lane: c.lane,
            alarmId: c.body.alarmId,
            by: sender,
            time,
            ...(c.body.note === undefined ? {} : { note: c.body.note }),
          }),
        );
      case 'adjudicate':
        return alarmOutcome(
          await this.o.alarms.adjudicate({
            lane: c.lane,
            alarmId: c.body.alarmId,
            by: sender,
            time,
            code: c.body.code as AdjudicationCode,
            ...(c.body.secondaryInspection === undefined
              ? {}
              : { secondaryInspection: c.body.secondaryInspection }),
            ...(c.body.note === undefined ? {} : { note: c.body.note }),
          }),
        );
    }
  }
}

function alarmOutcome(
  outcome: AlarmCommandOutcome,
): { ok: true; result: unknown } | { ok: false; code: CommandErrorCode; message: string } {
  return outcome.ok
    ? { ok: true, result: { alarm: outcome.alarm } }
    : { ok: false, code: outcome.code, message: outcome.message };
}
