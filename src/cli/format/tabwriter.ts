/**
 * Go's text/tabwriter as docker's `table` formats use it (minwidth 10, tabwidth 1, padding 3,
 * padded with spaces, no flags): cells end at tabs; a column's width is the widest cell of a
 * block of consecutive lines that have that column, plus the padding, and at least minwidth.
 * The last cell of a line (after its last tab) is not padded. Widths count characters (runes).
 */
export interface TabwriterOptions {
  minwidth: number;
  padding: number;
}

export const DOCKER_TABWRITER: TabwriterOptions = { minwidth: 10, padding: 3 };

const width = (s: string) => [...s].length;

export function tabwrite(text: string, o: TabwriterOptions = DOCKER_TABWRITER): string {
  // Text after the last newline is a line too (Flush writes it); a final newline ends the last.
  const endsWithNewline = text.endsWith('\n');
  const lines = (endsWithNewline ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
  if (text === '') return '';
  const widths: number[] = [];
  const out: string[] = [];

  const writeLines = (line0: number, line1: number) => {
    for (let i = line0; i < line1; i++) {
      const cells = lines[i];
      let s = '';
      cells.forEach((c, j) => {
        s += j < widths.length ? c + ' '.repeat(Math.max(0, widths[j] - width(c))) : c;
      });
      out.push(s);
    }
  };

  // Go's Writer.format: recursively, one column at a time, over blocks of lines that have it.
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= lines[t].length - 1) continue;
      writeLines(line0, t);
      line0 = t;
      let w = o.minwidth;
      for (; t < line1; t++) {
        if (column >= lines[t].length - 1) break;
        w = Math.max(w, width(lines[t][column]) + o.padding);
      }
      widths.push(w);
      format(line0, t);
      widths.pop();
      line0 = t;
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return out.join('\n') + (endsWithNewline ? '\n' : '');
}
