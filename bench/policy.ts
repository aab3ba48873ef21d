/**
 * The policy bench (bench/policy.mjs) on the TypeScript sources:
 *
 *   npx vite-node bench/policy.ts [iterations]
 *
 * vite-node adds 30–40% of per-module import overhead that moat never pays; `npm run build && node
 * bench/policy.mjs` measures what ships.
 */
import { PolicyEngine } from '../src/policy/engine.js';
import { benchPolicy } from './policy.mjs';

benchPolicy(PolicyEngine, { iterations: Number(process.argv[2] ?? 200000), build: 'src under vite-node' });
