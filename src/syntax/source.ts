/** A half-open range [start, end) of UTF-16 offsets into one source text. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export const span = (start: number, end: number): Span => ({ start, end });

/** Smallest span covering both. */
export const joinSpans = (a: Span, b: Span): Span => ({
  start: Math.min(a.start, b.start),
  end: Math.max(a.end, b.end),
});

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;

/** 1-based line and column; the column counts Unicode code points, as editors do. */
export interface LineCol {
  line: number;
  column: number;
}

/**
 * One spec file's text. Spans stay as offsets everywhere in the compiler; line and
 * column are computed only here, when a diagnostic is rendered.
 */
export class SourceFile {
  private lineStarts: number[] | undefined;
  constructor(
    readonly path: string,
    readonly text: string,
  ) {}

  private starts(): number[] {
    if (!this.lineStarts) {
      const starts = [0];
      for (let i = 0; i < this.text.length; i++) if (this.text.charCodeAt(i) === 10) starts.push(i + 1);
      this.lineStarts = starts;
    }
    return this.lineStarts;
  }

  /** 0-based line index containing offset. */
  lineIndex(offset: number): number {
    const starts = this.starts();
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  lineCol(offset: number): LineCol {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    const line = this.lineIndex(clamped);
    const start = this.starts()[line];
    // Code points, counted without building an array: a column on a 1 MB line stays cheap.
    let column = 1;
    for (let i = start; i < clamped; i++) {
      const c = this.text.charCodeAt(i);
      if (c < 0xdc00 || c > 0xdfff || i === start || !isHigh(this.text.charCodeAt(i - 1))) column++;
    }
    return { line: line + 1, column };
  }

  /** The text of 0-based line `index`, without its line break (or a `\r` before it). */
  lineText(index: number): string {
    const start = this.lineStart(index);
    return this.text.slice(start, start + this.lineLength(index));
  }

  /** Length of line `index` in UTF-16 units, without its line break: O(1). */
  lineLength(index: number): number {
    const starts = this.starts();
    const start = starts[index] ?? this.text.length;
    const next = starts[index + 1];
    let end = next === undefined ? this.text.length : next - 1;
    if (end > start && this.text.charCodeAt(end - 1) === 13) end--;
    return end - start;
  }

  lineStart(index: number): number {
    return this.starts()[index] ?? this.text.length;
  }

  get lineCount(): number {
    return this.starts().length;
  }

  slice(s: Span): string {
    return this.text.slice(s.start, s.end);
  }
}
