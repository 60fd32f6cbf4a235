/**
 * The typed MQTT topic tree (SPEC §4, STYLE.md §13). Pure: names in, topic strings out, and
 * back for incoming commands.
 *
 *   <prefix>/<site>/<lane>/events/<type>        events, QoS 1, not retained
 *   <prefix>/<site>/<lane>/state                retained lane state
 *   <prefix>/<site>/gateway/<gatewayId>/status  retained `online`; last will `offline`
 *   <prefix>/<site>/<lane>/cmd/<name>           commands from central
 *
 * Site, lane and gateway ids are configuration identifiers (letters, digits, - and _), so they
 * never contain the MQTT separators `/`, `+` or `#`. Gateway-level events (no lane) use the
 * subject `gateway` in place of the lane.
 */
export const DEFAULT_TOPIC_PREFIX = 'rpm/v1';

/** The pseudo-lane of gateway-wide events and the status topic. */
export const GATEWAY_SUBJECT = 'gateway';

export const COMMAND_NAMES = ['acknowledge', 'adjudicate', 'request-config'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export interface TopicTree {
  event(lane: string, type: string): string;
  state(lane: string): string;
  status(gatewayId: string): string;
  command(lane: string, name: string): string;
  /** Subscription filter for every command of every lane of the site. */
  readonly commandFilter: string;
  /** `{lane, name}` of a command topic of this site, or null for anything else. */
  parseCommand(topic: string): { lane: string; name: string } | null;
  /**
   * Why the gateway must not answer on `topic` (a command's response topic), or null: a
   * wildcard is a protocol error that costs the session, and the site's own tree holds its
   * events, states and commands, which no reply may overwrite.
   */
  responseTopicProblem(topic: string): string | null;
}

export function topicTree(site: string, prefix: string = DEFAULT_TOPIC_PREFIX): TopicTree {
  const base = `${trimSlashes(prefix)}/${site}`;
  const baseParts = base.split('/').length;
  return {
    event: (lane, type) => `${base}/${lane}/events/${type}`,
    state: (lane) => `${base}/${lane}/state`,
    status: (gatewayId) => `${base}/${GATEWAY_SUBJECT}/${gatewayId}/status`,
    command: (lane, name) => `${base}/${lane}/cmd/${name}`,
    commandFilter: `${base}/+/cmd/+`,
    responseTopicProblem(topic) {
      if (topic === '') return 'it is empty';
      if (topic.includes('+') || topic.includes('#') || topic.includes('\0'))
        return 'it holds a wildcard (+ or #) or a NUL';
      if (Buffer.byteLength(topic) > 65_535) return 'it is longer than MQTT allows';
      if (topic === base || topic.startsWith(base + '/'))
        return `it is inside the gateway's own topic tree (${base}/…)`;
      return null;
    },
    parseCommand(topic) {
      if (!topic.startsWith(base + '/')) return null;
      const parts = topic.split('/');
      if (parts.length !== baseParts + 3 || parts[baseParts + 1] !== 'cmd') return null;
      const lane = parts[baseParts]!;
      const name = parts[baseParts + 2]!;
      if (lane === '' || name === '') return null;
      return { lane, name };
    },
  };
}

function trimSlashes(text: string): string {
  return text.replace(/^\/+|\/+$/g, '');
}
