/**
 * An embedded MQTT broker (aedes) for `rpm-gateway demo` on a machine with no services
 * (SPEC §5): loopback only, a free port. aedes speaks MQTT 3.1.1, so the gateway falls back from
 * MQTT 5 (events flow; commands need a real MQTT 5 broker such as Mosquitto).
 */
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  readonly url: string;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(port = 0): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  let closing: Promise<void> | null = null;
  return {
    url: `mqtt://127.0.0.1:${bound}`,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
}
