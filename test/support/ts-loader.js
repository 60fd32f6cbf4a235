// Lets a child process started by a test run TypeScript sources directly (the repository has no
// tsx): `node --import ./test/support/ts-loader.js child.ts`. NodeNext-style `.js` imports
// resolve to their `.ts` files; types are stripped by TypeScript's transpileModule (no check).
import { register } from 'node:module';

register('./ts-loader-hooks.js', import.meta.url);
