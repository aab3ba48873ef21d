/**
 * What the help of ps and images lists, and which `--format` values need the template engine:
 * kept apart from it so that commands load the engine only when a template is given.
 */

/** The fields of `moat ps --format`, in the order the help lists them. */
export const CONTAINER_FIELDS = [
  'ID',
  'Image',
  'Command',
  'CreatedAt',
  'RunningFor',
  'Ports',
  'State',
  'Status',
  'Size',
  'Names',
  'Labels',
  'Label',
  'Mounts',
  'Networks',
  'LocalVolumes',
];

/** The fields of `moat images --format`. */
export const IMAGE_FIELDS = [
  'ID',
  'Repository',
  'Tag',
  'Digest',
  'CreatedSince',
  'CreatedAt',
  'Size',
  'Containers',
  'VirtualSize',
  'SharedSize',
  'UniqueSize',
];

/** A list `--format` other than moat's `table` (spaces after it allowed; empty, as docker) and `json`. */
export function isTemplateFormat(format: string): boolean {
  return format !== 'json' && !/^(table)? *$/.test(format);
}
