/**
 * moat's own log: pino JSON lines on stderr. pino is loaded only when a line is actually written
 * at an enabled level, so a normal CLI run (level warn, nothing to say) does not pay for it.
 */
import { createRequire } from 'node:module';
import type { Logger as PinoLogger } from 'pino';

const require = createRequire(import.meta.url);

/** moat's own log level unless `--log-level` or MOAT_LOG_LEVEL says otherwise. */
export const DEFAULT_LOG_LEVEL = 'warn';

const LEVELS: Record<string, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

export interface Logger {
  level: string;
  isEnabled(level: string): boolean;
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export function createLogger(level = DEFAULT_LOG_LEVEL, fd = 2): Logger {
  const min = LEVELS[level] ?? LEVELS[DEFAULT_LOG_LEVEL];
  let pino: PinoLogger | undefined;
  const get = (): PinoLogger => {
    if (!pino) {
      const p = require('pino') as typeof import('pino');
      pino = p.pino({ level, base: { pid: process.pid } }, p.pino.destination({ fd, sync: true }));
    }
    return pino;
  };
  const at = (name: 'trace' | 'debug' | 'info' | 'warn' | 'error') => (obj: object, msg?: string) => {
    if (LEVELS[name] >= min) get()[name](obj, msg);
  };
  return {
    level,
    isEnabled: (l) => (LEVELS[l] ?? 0) >= min,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}
