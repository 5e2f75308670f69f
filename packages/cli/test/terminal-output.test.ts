import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createProgress } from "../src/backfill/progress.js";
import { CommandContext } from "../src/context.js";
import { buildProgram } from "../src/program.js";
import { TerminalLines } from "../src/terminal-lines.js";
import { captureIo } from "./helpers/io.js";

/** A stream that says it is a terminal and keeps what was written. */
function fakeTerminal(): Writable & { isTTY: true; text: () => string } {
  let text = "";
  const s = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  }) as Writable & { isTTY: true; text: () => string; columns: number };
  s.isTTY = true;
  s.columns = 120;
  s.text = () => text;
  return s;
}

describe("terminal output", () => {
  it("a log line written while a progress bar is drawn goes above the bar, which is redrawn below it", () => {
    const tty = fakeTerminal();
    const lines = new TerminalLines(tty);
    const progress = createProgress(tty, lines);
    progress.start(10);
    progress.tick(3);
    const before = tty.text().length;
    lines.write("WARN record 006… not synced\n");
    const after = tty.text().slice(before);
    // Erase the bar's line, write the log line whole, then the bar again on the next line.
    expect(after.startsWith("\r\x1b[2K")).toBe(true);
    expect(after).toContain("WARN record 006… not synced\n");
    expect(after.slice(after.indexOf("not synced\n"))).toMatch(/backfill \[.*\] 3\/10 records/);
    progress.stop();
    const done = tty.text().length;
    lines.write("INFO after the bar\n");
    expect(tty.text().slice(done)).toBe("INFO after the bar\n");
  });

  it("on a terminal a one-shot command logs from warn (its summary says the rest); run logs from info", async () => {
    const level = async (argv: string[], tty: boolean) => {
      const io = captureIo();
      if (tty) (io.stderr as Writable & { isTTY?: boolean }).isTTY = true;
      const { program, ctx } = buildProgram(io, { code: 0 });
      let seen = "";
      for (const c of program.commands)
        c.action(() => {
          seen = ctx.logger().level;
        });
      await program.parseAsync(argv, { from: "user" });
      return seen;
    };
    expect(await level(["sync"], true)).toBe("warn");
    expect(await level(["plan"], true)).toBe("warn");
    expect(await level(["run"], true)).toBe("info");
    expect(await level(["sync"], false)).toBe("info");
    expect(await level(["--log-level", "debug", "sync"], true)).toBe("debug");
  });

  it("the context's logger writes pretty lines through the shared terminal writer", () => {
    const tty = fakeTerminal();
    const io = { ...captureIo(), stderr: tty };
    const ctx = new CommandContext(io);
    ctx.logLevel = "info";
    ctx.logger().info("hello from the log");
    expect(tty.text()).toContain("hello from the log");
    expect(tty.text()).not.toContain('"msg"');
  });
});
