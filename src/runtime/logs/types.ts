/** Shapes shared by the log's writer and readers. */

export type StreamName = 'stdout' | 'stderr';

/** One record of a log as readers see it, whatever the file's format. */
export interface LogRecord {
  stream: StreamName;
  /** The line goes on in the stream's next record. */
  partial: boolean;
  /** When the monitor read it, in nanoseconds since the epoch. */
  timeNs: bigint;
  payload: Buffer;
}
