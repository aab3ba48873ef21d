/**
 * How much one evaluation may do before it is cut off (eval_cancel_error, which moat's router turns
 * into POLICY_ERROR: a decision that cannot finish denies). A policy sits on every request's path:
 * a rule that loops over `numbers.range(1, 1e7)` twice, or a regular expression run on a crafted
 * label, must not stall the service for everyone.
 *
 * Two bounds, whichever comes first:
 *   - steps: a count the evaluator keeps in every loop (each element a `some … in`, a comprehension,
 *     `every` or a ref with a variable key visits, closures and generated code alike), plus work
 *     that builtins charge in proportion (numbers.range its length, regular expressions and globs
 *     their input and program sizes). Deterministic: the same policy and input stop at the same
 *     point on any machine and under any load.
 *   - ms: wall-clock time, read every CHUNK steps and counted from the first of those reads (a
 *     decision that stays small never reads the clock); the safety net for work the step count
 *     under-estimates.
 *
 * Not bounded: a single builtin call that is slow without charging for it (`json.marshal` of a
 * value the policy built by sharing one array in itself twenty times over): the policy's author
 * has to write that, no input can make it.
 */

export interface Limits {
  /** Evaluation steps (default 1,000,000; Infinity for no bound). */
  steps?: number;
  /** Wall-clock milliseconds (default 100; Infinity for no bound). */
  ms?: number;
}

/**
 * A loop iteration costs 0.1–0.4 µs, so a million steps take about as long as the 100 ms: a
 * policy that hits either is doing something no authorization decision needs (moat's default
 * policy takes well under 100 steps per request).
 */
export const DEFAULT_LIMITS: Readonly<Required<Limits>> = Object.freeze({ steps: 1_000_000, ms: 100 });

/** No bound at all (tests, and tools that evaluate on purpose for a long time). */
export const UNLIMITED: Readonly<Required<Limits>> = Object.freeze({ steps: Infinity, ms: Infinity });

/** Steps between two budget checks (and reads of the clock). */
export const CHUNK = 1024;

/**
 * Limits from the environment: `MOAT_POLICY_MAX_STEPS` and `MOAT_POLICY_TIMEOUT_MS` (positive
 * integers; `0` for no bound), each defaulting to DEFAULT_LIMITS. A malformed value is ignored
 * (the default holds: a typo must not lift the bound).
 */
export function limitsFromEnv(env: NodeJS.ProcessEnv = process.env): Required<Limits> {
  const read = (name: string, def: number): number => {
    const s = env[name];
    if (s === undefined || !/^\d{1,15}$/.test(s)) return def;
    const n = Number(s);
    return n === 0 ? Infinity : n;
  };
  return {
    steps: read('MOAT_POLICY_MAX_STEPS', DEFAULT_LIMITS.steps),
    ms: read('MOAT_POLICY_TIMEOUT_MS', DEFAULT_LIMITS.ms),
  };
}
