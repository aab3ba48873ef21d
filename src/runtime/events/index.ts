/** The event log's face: see log.ts (the file), filter.ts (times, filters, docker's shapes). */
import type { ContainerRecord } from '../state.js';
import { emitEvent } from './log.js';

export { emitEvent, eventLogPath, streamEvents, type MoatEvent, type ReadOptions } from './log.js';
export {
  dockerEvent,
  eventLine,
  eventMatcher,
  filtersFromJson,
  parseEventFilters,
  parseEventTime,
} from './filter.js';

/** A container's event, with docker's attributes: image, name, its labels, and `extra`. */
export function containerEvent(
  dataDir: string,
  action: string,
  rec: Pick<ContainerRecord, 'id' | 'name' | 'image' | 'options'>,
  extra: Record<string, string | number | undefined> = {},
): void {
  emitEvent(dataDir, {
    type: 'container',
    action,
    id: rec.id,
    attributes: { ...(rec.options?.labels ?? {}), image: rec.image, name: rec.name, ...extra },
  });
}
