/**
 * Path globs for allow-lists: `**` any number of directories, `*` and `?` within one component,
 * everything else literal. Paths are matched as the scanners see them (no leading `/`); a leading
 * `/` or `./` in a pattern is ignored, so `/etc/*.pem` and `etc/*.pem` are the same pattern.
 */
export function globToRegExp(glob: string): RegExp {
  const g = glob.replace(/^(?:\.?\/)+/, '');
  let re = '';
  for (let i = 0; i < g.length; i++) {
    const c = g[i];
    if (c === '*' && g[i + 1] === '*') {
      const slash = g[i + 2] === '/';
      // `**/` may match nothing; a trailing `**` matches everything below.
      re += slash ? '(?:[^/]*/)*' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') {
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

/** A matcher for any of `globs` (compiled once). */
export function globMatcher(globs: readonly string[]): (path: string) => boolean {
  const res = globs.map(globToRegExp);
  return (path) => res.some((r) => r.test(path));
}
