/** The policy engine's public face. */
export { PolicyEngine, PreparedQuery } from './engine.js';
export type {
  EngineOptions,
  EvalOptions,
  ModuleSource,
  Result,
  ResultSet,
  ExpressionResult,
} from './engine.js';
export { RegoError, RegoErrors, type RegoErrorCode } from './errors.js';
export { parseModule, parseQuery } from './parser.js';
export { Compiler } from './compiler.js';
export { loadPaths } from './loader.js';
export { WasmPolicy, readBundle } from './wasm.js';
export { policyEval, policyTest, policyCheck } from './cli.js';
export type { CliOutput, PolicyEvalOptions, PolicyTestOptions, PolicyCheckOptions } from './cli.js';
export { RObject, RSet, fromJSON, toJSON, type Value } from './value.js';
export { DECLS } from './builtins/decl.js';
