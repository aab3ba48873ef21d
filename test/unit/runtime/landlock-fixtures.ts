/** What the Landlock spec tests share: a subordinate ID map and a seccomp filter letting moat-init make its ruleset. */
import { LANDLOCK_SYSCALLS } from '../../../src/runtime/spec/landlock.js';
import { computeIdMaps } from '../../../src/userns/idmap.js';

const maps = computeIdMaps({
  uid: 1000,
  gid: 1000,
  subuids: [{ start: 100000, count: 65536 }],
  subgids: [{ start: 100000, count: 65536 }],
});
if ('error' in maps) throw new Error('maps');
export const sub = maps;

export const SECCOMP = {
  defaultAction: 'SCMP_ACT_ERRNO',
  architectures: ['SCMP_ARCH_X86_64'],
  syscalls: [{ names: ['read', ...LANDLOCK_SYSCALLS], action: 'SCMP_ACT_ALLOW' }],
};
