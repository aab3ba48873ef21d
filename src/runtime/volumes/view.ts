/**
 * A volume as `volume ls`, `volume inspect` and the Docker API show it (docker's field names), with
 * the containers that mount it. Pure.
 */
import type { VolumeRecord } from './store.js';

export interface VolumeView {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  Scope: 'local';
  /** moat's own: made for one container (-v /path, the image's VOLUME). */
  Anonymous: boolean;
  /** moat's own: names of the containers (any state) that mount it. */
  UsedBy: string[];
}

export function volumeView(v: VolumeRecord, mountpoint: string, usedBy: readonly string[]): VolumeView {
  return {
    Name: v.name,
    Driver: 'local',
    Mountpoint: mountpoint,
    CreatedAt: v.created,
    Labels: { ...v.labels },
    Options: { ...v.options },
    Scope: 'local',
    Anonymous: v.anonymous,
    UsedBy: [...usedBy],
  };
}
