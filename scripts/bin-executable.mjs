// tsc writes dist/src/cli/main.js as 0644; `npx rpm-gateway` (the README's quick start) runs the
// package's own bin file directly, which needs the execute bit. Run after every build.
import { chmodSync } from 'node:fs';
import { URL } from 'node:url';

chmodSync(new URL('../dist/src/cli/main.js', import.meta.url), 0o755);
