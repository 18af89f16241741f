/** Output helpers shared by the commands; exit codes are part of the CLI contract. */
export const EXIT_OK = 0;
export const EXIT_ERRORS = 1;
export const EXIT_USAGE = 2;

/** A failure the user caused and can fix: printed as one line, never a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_USAGE,
  ) {
    super(message);
  }
}

export function useColor(flag: string | undefined): boolean {
  if (flag === "always") return true;
  if (flag === "never") return false;
  return Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== "dumb";
}

export function write(text: string): void {
  process.stdout.write(text.endsWith("\n") || text === "" ? text : `${text}\n`);
}

/**
 * Whether stderr is a terminal. A WebGPU command runs in a child process whose stderr is a pipe
 * to the parent's filter (see main.ts); the parent says through the environment what it has.
 */
export function stderrIsTTY(): boolean {
  const told = process.env.SPECFORMER_STDERR_TTY;
  if (told !== undefined) return told === "1";
  return Boolean(process.stderr.isTTY);
}

/**
 * A reader that went away (`specformer explain | head -1`) is not an error: stop writing and
 * exit quietly, as `cat` does, instead of Node's unhandled EPIPE stack trace.
 */
export function exitQuietlyOnClosedPipes(): void {
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED") process.exit(process.exitCode ?? 0);
    // A full disk or a bad descriptor: the output is lost, and that is an I/O failure.
    process.stderr.write(`specformer: cannot write the output: ${err.code ?? err.message}\n`);
    process.exit(EXIT_USAGE);
  });
  // Nowhere left to report anything: carry on, the exit code still tells.
  process.stderr.on("error", () => {});
}

/**
 * Drops Dawn's warning blocks from a stream of stderr text and passes the rest through as it
 * arrives. A block is `Warning: …\n`, optionally followed by `    at …\n` (Dawn's source
 * location) and one empty line. Text that could still become the start of a block is held back
 * until it is decided; everything else (a progress bar's `\r` updates included) goes out at once.
 */
export class DawnWarningFilter {
  private pending = "";
  /** Dropped lines so far, for tests and --verbose-less diagnostics. */
  dropped = 0;

  constructor(private readonly emit: (s: string) => void) {}

  static readonly START = "Warning: ";

  push(chunk: string): void {
    this.pending += chunk;
    this.drain(false);
  }

  end(): void {
    this.drain(true);
    if (this.pending) this.emit(this.pending);
    this.pending = "";
  }

  private drain(final: boolean): void {
    const START = DawnWarningFilter.START;
    for (;;) {
      const i = this.pending.indexOf(START);
      if (i < 0) {
        // Hold back a tail that may be the beginning of "Warning: ".
        let keep = 0;
        for (let k = Math.min(START.length - 1, this.pending.length); k > 0; k--) {
          if (START.startsWith(this.pending.slice(this.pending.length - k))) {
            keep = k;
            break;
          }
        }
        if (final) keep = 0;
        const out = this.pending.slice(0, this.pending.length - keep);
        if (out) this.emit(out);
        this.pending = this.pending.slice(this.pending.length - keep);
        return;
      }
      if (i > 0) this.emit(this.pending.slice(0, i));
      this.pending = this.pending.slice(i);
      const end = this.blockEnd(final);
      if (end === undefined) return; // wait for more
      this.dropped++;
      this.pending = this.pending.slice(end);
    }
  }

  /** Where the block at the start of `pending` ends, or undefined while that is not known yet. */
  private blockEnd(final: boolean): number | undefined {
    const p = this.pending;
    const nl = p.indexOf("\n");
    if (nl < 0) return final ? p.length : undefined;
    let end = nl + 1;
    const AT = "    at ";
    const rest = p.slice(end);
    if (rest.length < AT.length && AT.startsWith(rest) && !final) return undefined;
    if (!rest.startsWith(AT)) return end;
    const nl2 = p.indexOf("\n", end);
    if (nl2 < 0) return final ? p.length : undefined;
    end = nl2 + 1;
    if (end === p.length && !final) return undefined; // is an empty line next?
    return p[end] === "\n" ? end + 1 : end;
  }
}

/** A file-system error as a few words for a one-line message (`cannot write X: <this>`). */
export function ioProblem(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case "ENOENT":
      return "no such file or directory";
    case "EEXIST":
    case "ENOTDIR":
      return "a file is in the way (a directory is needed there)";
    case "EISDIR":
      return "is a directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ENOSPC":
      return "no space left on the device";
    case "EROFS":
      return "read-only file system";
    default:
      return err instanceof Error ? err.message : String(e);
  }
}
