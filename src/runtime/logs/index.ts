/**
 * Container logs: written by the container's monitor (writer.ts) in moat's framed format
 * (format.ts) with rotation, read by `logs` (print.ts) across the rotated files, the last lines
 * found from the end (tail.ts). Options and defaults: config.ts.
 */
export {
  dockerLogConfig,
  LOG_DEFAULTS,
  LOG_LIMITS,
  logConfigOf,
  logOptionsSchema,
  logOptsFromFlags,
  parseLogOptions,
  type LogConfig,
  type LogOptions,
} from './config.js';
export { printLogs, type LogOutput, type ReadLogsOptions } from './print.js';
export { LineSplitter, LogWriter, type LogWriterOptions } from './writer.js';
export type { LogRecord, StreamName } from './types.js';
