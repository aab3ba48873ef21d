/**
 * The evaluator's public face. The evaluator itself lives in eval/: the Evaluator class (the state
 * of one evaluation) in eval/evaluator.ts, one module per concern beside it, and the contracts the
 * faster tiers (fast.ts, jit.ts, chosen per body by tiers.ts) depend on in eval/host.ts.
 */
export { Evaluator, type EvalOptions, type QuerySolution } from './eval/evaluator.js';
export { lookup } from './eval/frame.js';
export type { EvalHost, PolicyTree, RuleRef, Whole } from './eval/host.js';
