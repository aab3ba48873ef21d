/** What the Landlock spec tests share: a subordinate ID map and a seccomp filter letting moat-init make its ruleset. */
import { LANDLOCK_SYSCALLS } from '../../../src/runtime/spec/landlock.js';
import { SUBORDINATE_MAPS } from '../fixtures/id-maps.js';

export const sub = SUBORDINATE_MAPS;

export const SECCOMP = {
  defaultAction: 'SCMP_ACT_ERRNO',
  architectures: ['SCMP_ARCH_X86_64'],
  syscalls: [{ names: ['read', ...LANDLOCK_SYSCALLS], action: 'SCMP_ACT_ALLOW' }],
};
