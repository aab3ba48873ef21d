/** Types of bench/policy.mjs for bench/policy.ts. */
export function benchPolicy(
  PolicyEngine: new (
    modules: { file: string; text: string }[],
    data?: unknown,
  ) => {
    prepare(query: string): { decide(input?: unknown): unknown; eval(input?: unknown): unknown };
  },
  opts?: { iterations?: number; build?: string },
): void;
