/** Something drawn on the terminal's last line that log lines must not break (a progress bar). */
export interface LiveLine {
  /** Erases it, leaving the cursor at the start of its line. */
  clear(): void;
  /** Draws it again, below whatever was just written. */
  redraw(): void;
}

/**
 * The one writer of a terminal's stderr: log lines written while a progress bar is on screen go
 * above it (bar erased, line written, bar redrawn), so the two never interleave on one line.
 */
export class TerminalLines {
  private live: LiveLine | undefined;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  write(text: string): void {
    if (!this.live) {
      this.stream.write(text);
      return;
    }
    this.live.clear();
    this.stream.write(text);
    this.live.redraw();
  }

  /** Puts `line` under every later log line until the returned function is called. */
  hold(line: LiveLine): () => void {
    this.live = line;
    return () => {
      if (this.live === line) this.live = undefined;
    };
  }
}
