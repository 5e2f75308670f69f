import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../packages/cli/src/program.js";
import { captureIo } from "../../packages/cli/test/helpers/io.js";

// commander is the CLI package's dependency, not the root's: take its type from the program.
type Command = ReturnType<typeof buildProgram>["program"];

/**
 * Every `cosell …` and `pnpm …` invocation the README and docs/*.md show (in inline code or code
 * blocks) must be one the CLI accepts: a known command, known flags, not too many arguments. The
 * docs may leave out required values (`cosell decline <id>` in a table) and use placeholders
 * (`<id>`, `N`, `[--flag X]`), so only a rejection a reader would hit as written fails.
 */

const root = fileURLToPath(new URL("../..", import.meta.url));
const docs = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** Code the reader would copy: fenced blocks line by line, and inline code spans. */
function codeOf(markdown: string): string[] {
  const out: string[] = [];
  const fence = /^(```|~~~)/;
  let inBlock = false;
  for (const line of markdown.split("\n")) {
    if (fence.test(line.trim())) {
      inBlock = !inBlock;
      continue;
    }
    if (inBlock) out.push(line);
    else for (const m of line.matchAll(/`([^`\n]+)`/g)) out.push(m[1]!);
  }
  return out;
}

/** The commands in one code line: split on `&&`, `;` and `|` pipes, comments and prompts dropped. */
function invocations(code: string, tool: "cosell" | "pnpm"): string[][] {
  if (NOT_INVOCATIONS.some((p) => code.includes(p))) return [];
  const line = code
    .replace(/\s#\s.*$/, "")
    .replace(/^\s*\$\s+/, "")
    .replace(/<[^>]+>/g, "<placeholder>");
  const found: string[][] = [];
  for (const part of line.split(/&&|;|\s\|\s/)) {
    // As a shell splits them: a quoted argument (`--notes "We take it"`) is one word.
    const words = [...part.trim().matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
    if (words[0] !== tool || words.length < 2) continue;
    // `cosell <command>`: the next word must look like one (prose such as "cosell writes …" in a code
    // span is not an invocation only if it is not a flag or a command-like word; all are checked).
    if (!/^(-{1,2}[a-z]|[a-z][a-z-]*(\|[a-z-]+)*$)/.test(words[1]!)) continue;
    found.push(words.slice(1));
  }
  return found;
}

/** Code that names cosell without being a command line: a log line, a Dataverse solution's name. */
const NOT_INVOCATIONS = ["cosell serve listening on", "cosell webhook ("];

const PLACEHOLDER = /^(<[^>]+>|[A-Z][A-Z_]*|…|\.\.\.)$/;

/** `[--flag X]` groups dropped, placeholders filled in, `a|b` command alternatives expanded. */
function expand(args: string[]): string[][] {
  const kept: string[] = [];
  let depth = 0;
  for (const a of args) {
    if (a.startsWith("[")) depth++;
    if (depth === 0) kept.push(PLACEHOLDER.test(a) ? "placeholder-value" : a.replace(/^["']|["']$/g, ""));
    if (a.endsWith("]")) depth = Math.max(0, depth - 1);
  }
  // `accept|decline <id>`, `deals inbound|outbound`: one invocation per alternative.
  let all: string[][] = [[]];
  for (const a of kept) {
    const alternatives = /^[a-z-]+(\|[a-z-]+)+$/.test(a) ? a.split("|") : [a];
    all = all.flatMap((prefix) => alternatives.map((x) => [...prefix, x]));
  }
  return all;
}

/** A program whose commands parse but do nothing. */
function parsingOnly(): Command {
  const io = captureIo();
  const { program } = buildProgram(io, { code: 0 });
  const mute = (c: Command) => {
    c.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
    if (c.commands.length) c.commands.forEach(mute);
    else c.action(() => {});
  };
  mute(program);
  return program;
}

/** Commander's verdict: undefined when accepted (or only a required value is left out). */
async function rejection(argv: string[]): Promise<string | undefined> {
  try {
    await parsingOnly().parseAsync(argv, { from: "user" });
    return undefined;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const tolerated = [
      "commander.helpDisplayed",
      "commander.help",
      "commander.version",
      "commander.missingArgument",
      "commander.missingMandatoryOptionValue",
      "commander.optionMissingArgument",
    ];
    if (err.code && tolerated.includes(err.code)) return undefined;
    if (err.code === "commander.invalidArgument" && err.message?.includes("placeholder-value"))
      return undefined;
    return `${err.code}: ${err.message}`;
  }
}

const rootScripts = (
  JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }
).scripts;
const PNPM_BUILTINS = new Set([
  "install",
  "i",
  "add",
  "rebuild",
  "exec",
  "dlx",
  "link",
  "run",
  "vitest",
  "-C",
  "-r",
  "--filter",
  "-s",
  "store",
  "up",
  "why",
  "ls",
]);

const cosellCases: [string, string[]][] = [];
const pnpmCases: [string, string[]][] = [];
for (const file of docs) {
  for (const code of codeOf(readFileSync(join(root, file), "utf8"))) {
    for (const args of invocations(code, "cosell"))
      for (const argv of expand(args)) cosellCases.push([file, argv]);
    for (const args of invocations(code, "pnpm")) pnpmCases.push([file, args]);
  }
}

describe("the docs show only commands the CLI accepts", () => {
  it("finds the invocations (the extraction itself works)", () => {
    expect(cosellCases.length).toBeGreaterThan(20);
    expect(pnpmCases.map(([, a]) => a[0])).toEqual(expect.arrayContaining(["install", "demo", "test"]));
  });

  it("every `cosell …` in README.md and docs/*.md parses", async () => {
    const rejected: string[] = [];
    for (const [file, argv] of cosellCases) {
      const why = await rejection(argv);
      if (why) rejected.push(`${file}: cosell ${argv.join(" ")} → ${why}`);
    }
    expect(rejected).toEqual([]);
  });

  it("every `pnpm …` names a script or a pnpm command; a script running cosell gets arguments it accepts", async () => {
    const rejected: string[] = [];
    for (const [file, args] of pnpmCases) {
      const [name, ...rest] = args;
      const script = rootScripts[name!];
      if (!script) {
        if (!PNPM_BUILTINS.has(name!)) rejected.push(`${file}: pnpm ${args.join(" ")} → no such script`);
        continue;
      }
      // pnpm hands everything after the script name to the script as is, a `--` included.
      const cosell = /node packages\/cli\/dist\/bin\.js\s+(.*)$/.exec(script);
      if (cosell && rest.length) {
        const argv = [...cosell[1]!.trim().split(/\s+/), ...rest];
        const why = await rejection(argv);
        if (why) rejected.push(`${file}: pnpm ${args.join(" ")} → cosell ${argv.join(" ")} → ${why}`);
      }
    }
    expect(rejected).toEqual([]);
  });
});
