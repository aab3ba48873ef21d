/**
 * Just enough of ELF to find a Go binary's build info: the class and byte order, the PT_LOAD
 * segments (to turn a virtual address into a file offset, as the pre-1.18 build info's pointers
 * need) and the section table (to find `.go.buildinfo`). Every count and offset is checked against
 * the buffer; anything inconsistent makes the file "not ELF" rather than an exception.
 */

export interface ElfSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

export interface ElfSection {
  name: string;
  addr: number;
  offset: number;
  size: number;
  type: number;
}

export interface ElfFile {
  is64: boolean;
  littleEndian: boolean;
  segments: ElfSegment[];
  sections: ElfSection[];
}

export const PT_LOAD = 1;
export const PF_X = 1;
export const PF_W = 2;
const SHT_NOBITS = 8;
const MAX_HEADERS = 65_535;

export function isElf(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
}

export function parseElf(buf: Buffer): ElfFile | undefined {
  if (buf.length < 52 || !isElf(buf)) return undefined;
  const cls = buf[4];
  const data = buf[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) return undefined;
  const is64 = cls === 2;
  const le = data === 1;
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o: number): number => {
    const v = le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  };
  const word = is64 ? u64 : u32;
  if (is64 && buf.length < 64) return undefined;
  const phoff = is64 ? u64(0x20) : u32(0x1c);
  const shoff = is64 ? u64(0x28) : u32(0x20);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const shstrndx = u16(is64 ? 0x3e : 0x32);

  const segments: ElfSegment[] = [];
  const phMin = is64 ? 56 : 32;
  if (phnum > 0 && phnum <= MAX_HEADERS && phentsize >= phMin && phoff + phnum * phentsize <= buf.length) {
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      segments.push(
        is64
          ? { type: u32(o), flags: u32(o + 4), offset: u64(o + 8), vaddr: u64(o + 16), filesz: u64(o + 32) }
          : { type: u32(o), offset: u32(o + 4), vaddr: u32(o + 8), filesz: u32(o + 16), flags: u32(o + 24) },
      );
    }
  }

  const sections: ElfSection[] = [];
  const shMin = is64 ? 64 : 40;
  if (shnum > 0 && shnum <= MAX_HEADERS && shentsize >= shMin && shoff + shnum * shentsize <= buf.length) {
    const raw: (ElfSection & { nameOff: number })[] = [];
    for (let i = 0; i < shnum; i++) {
      const o = shoff + i * shentsize;
      raw.push({
        nameOff: u32(o),
        type: u32(o + 4),
        addr: word(o + (is64 ? 16 : 12)),
        offset: word(o + (is64 ? 24 : 16)),
        size: word(o + (is64 ? 32 : 20)),
        name: '',
      });
    }
    const strtab = raw[shstrndx];
    const strOk = strtab && strtab.offset + strtab.size <= buf.length;
    for (const s of raw) {
      if (strOk && s.nameOff < strtab.size) {
        const start = strtab.offset + s.nameOff;
        const end = buf.indexOf(0, start);
        s.name = buf.toString('latin1', start, end < 0 || end > start + 256 ? start : end);
      }
      sections.push({
        name: s.name,
        addr: s.addr,
        offset: s.offset,
        size: s.type === SHT_NOBITS ? 0 : s.size,
        type: s.type,
      });
    }
  }
  return { is64, littleEndian: le, segments, sections };
}

/** The bytes at virtual address `addr` (up to `size`, fewer at a segment's end), as Go's ReadData. */
export function readVirtual(buf: Buffer, elf: ElfFile, addr: number, size: number): Buffer | undefined {
  for (const s of elf.segments) {
    if (s.type !== PT_LOAD || s.filesz === 0) continue;
    if (addr >= s.vaddr && addr < s.vaddr + s.filesz) {
      const n = Math.min(size, s.vaddr + s.filesz - addr);
      const off = s.offset + (addr - s.vaddr);
      if (off < 0 || off + n > buf.length) return undefined;
      return buf.subarray(off, off + n);
    }
  }
  return undefined;
}
