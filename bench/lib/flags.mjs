/**
 * The benches' command-line flags: `--name value`, `--name=value`, or a bare `--name` (then "true").
 * Anything not starting with `--` is passed over.
 * @param {string[]} argv
 * @returns {Map<string, string>}
 */
export function readFlags(argv) {
  const flags = new Map();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a?.startsWith("--")) continue;
    const [k = "", inline] = a.slice(2).split("=", 2);
    const next = argv[i + 1];
    if (inline !== undefined) flags.set(k, inline);
    else if (next !== undefined && !next.startsWith("--")) {
      flags.set(k, next);
      i++;
    } else flags.set(k, "true");
  }
  return flags;
}
