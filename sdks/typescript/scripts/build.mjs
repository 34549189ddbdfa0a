// Builds dist/esm (ES modules) and dist/cjs (CommonJS), each with .d.ts files, using the
// TypeScript compiler twice; no bundler. dist/cjs gets a package.json that marks its .js
// files as CommonJS (the package itself is "type": "module"), and the module's own file URL
// where the source says `import.meta.url` (which CommonJS does not have; the Node entry finds
// its sender thread's file with it).
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

rmSync(join(root, "dist"), { recursive: true, force: true });
for (const project of ["tsconfig.esm.json", "tsconfig.cjs.json"]) {
  const r = spawnSync(process.execPath, [tsc, "-p", join(root, project)], { stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`build: tsc -p ${project} failed`);
    process.exit(r.status ?? 1);
  }
}
for (const [dir, type] of [["esm", "module"], ["cjs", "commonjs"]]) {
  mkdirSync(join(root, "dist", dir), { recursive: true });
  writeFileSync(join(root, "dist", dir, "package.json"), JSON.stringify({ type }) + "\n");
}
const cjs = join(root, "dist", "cjs");
for (const file of readdirSync(cjs).filter((f) => f.endsWith(".js"))) {
  const text = readFileSync(join(cjs, file), "utf8");
  if (text.includes("import.meta.url")) {
    writeFileSync(join(cjs, file), text.replaceAll("import.meta.url", 'require("node:url").pathToFileURL(__filename)'));
  }
}
console.log("build: dist/esm and dist/cjs written");
