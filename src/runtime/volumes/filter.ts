/**
 * `volume ls --filter` and the Docker API's `GET /volumes?filters=`: docker's keys — `dangling`
 * (true: no container mounts it), `driver` (local), `label` (KEY or KEY=VALUE, all must hold) and
 * `name` (a substring or RE2 expression, as moby matches names). Unknown keys are refused.
 */
import { boolFilter, checkKeys, matchField, matchLabels, type Filters } from '../../api/docker/filters.js';
import type { VolumeView } from './view.js';

export const VOLUME_FILTER_KEYS = ['dangling', 'driver', 'label', 'name'] as const;

export function filterVolumes(vols: readonly VolumeView[], f: Filters): VolumeView[] {
  checkKeys(f, VOLUME_FILTER_KEYS);
  const dangling = boolFilter(f, 'dangling', VOLUME_FILTER_KEYS);
  return vols.filter(
    (v) =>
      (dangling === undefined || dangling === (v.UsedBy.length === 0)) &&
      matchField(f, 'driver', v.Driver) &&
      matchField(f, 'name', v.Name) &&
      matchLabels(f, v.Labels),
  );
}
