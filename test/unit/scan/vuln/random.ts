/** A small seeded generator (mulberry32), so generated version pairs are the same on every run. */
export function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}

export type Rng = ReturnType<typeof rng>;

/** Pairs where half of the right-hand sides are small edits of the left: near misses matter most. */
export function pairs(
  r: Rng,
  n: number,
  gen: () => string,
  mutate: (v: string) => string,
): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < n; i++) {
    const a = gen();
    out.push([a, r.chance(0.5) ? mutate(a) : gen()]);
  }
  return out;
}
