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
