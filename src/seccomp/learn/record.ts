/**
 * What a learning run's recorder wrote ("AUDIT_ARCH NR" lines, native/moat-seccomp-listen.c),
 * read back as call names through the host's syscall table (dist/native/syscalls.json, made from
 * the C library's headers at build time). Bounded: a record is at most a few thousand short lines.
 */
import { readFileSync } from 'node:fs';

/** AUDIT_ARCH_* of the 64-bit ABIs moat's profiles cover (linux/audit.h). */
export const AUDIT_ARCH: Partial<Record<NodeJS.Architecture, number>> = {
  x64: 0xc000003e,
  arm64: 0xc00000b7,
};

export interface SyscallTable {
  arch: string;
  /** name → number */
  syscalls: Record<string, number>;
}

export function readSyscallTable(file: string): SyscallTable {
  const t = JSON.parse(readFileSync(file, 'utf8')) as SyscallTable;
  if (!t || typeof t.syscalls !== 'object') throw new Error(`${file} is not a syscall table`);
  return t;
}

export interface ReadRecord {
  names: string[];
  /** Calls the table cannot name, or made through another ABI ("arch 0x40000003 nr 5"). */
  unknown: string[];
}

export function readRecord(
  text: string,
  table: SyscallTable,
  arch: NodeJS.Architecture = process.arch,
): ReadRecord {
  const byNumber = new Map(Object.entries(table.syscalls).map(([n, nr]) => [nr, n]));
  const native = AUDIT_ARCH[arch];
  const names = new Set<string>();
  const unknown = new Set<string>();
  for (const line of text.slice(0, 1 << 20).split('\n')) {
    const m = /^(\d{1,10}) (\d{1,5})$/.exec(line);
    if (!m) continue;
    const a = Number(m[1]);
    const nr = Number(m[2]);
    const name = a === native ? byNumber.get(nr) : undefined;
    if (name) names.add(name);
    else unknown.add(`arch 0x${a.toString(16)} nr ${nr}`);
  }
  return { names: [...names].sort(), unknown: [...unknown].sort() };
}
