/**
 * Writes `packages/salesforce/metadata/`: cosell's Salesforce components in source format, for the
 * default names (`pnpm -F @cosell/salesforce build` first). A test fails while the files differ from
 * what the adapter would put in an org, so run this after changing a component.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultPackageSettings, PACKAGE_DIRECTORY, sourcePackage } from "../dist/index.js";

const root = fileURLToPath(new URL("../metadata/", import.meta.url));
rmSync(join(root, PACKAGE_DIRECTORY), { recursive: true, force: true });
const files = sourcePackage(defaultPackageSettings());
for (const f of files) {
  const path = join(root, f.path);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, f.content);
}
console.log(`${files.length} files written under ${root}`);
