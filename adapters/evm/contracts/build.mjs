// Runs the pinned npm `solc` (solcjs) on one standard-JSON input.
//
// Usage: node build.mjs <node_modules dir>   (standard JSON input on stdin)
// Prints {"version": <solc long version>, "output": <standard JSON output>} on stdout.
// Imports are resolved inside <node_modules dir> only (e.g. "@openzeppelin/contracts/...");
// every source of our own is already in the input, so nothing else is read from disk.
// All the build decisions (sources, settings, artifacts) live in build.py; this script
// only bridges Python to the compiler.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const nodeModules = path.resolve(process.argv[2] ?? "node_modules");
const require = createRequire(path.join(nodeModules, "noop.js"));
const solc = require("solc");

function findImports(unitName) {
  const resolved = path.resolve(nodeModules, unitName);
  if (!resolved.startsWith(nodeModules + path.sep)) {
    return { error: `import outside node_modules refused: ${unitName}` };
  }
  try {
    return { contents: readFileSync(resolved, "utf8") };
  } catch (err) {
    return { error: `import not found in node_modules: ${unitName}` };
  }
}

const input = readFileSync(0, "utf8");
const output = JSON.parse(solc.compile(input, { import: findImports }));
process.stdout.write(JSON.stringify({ version: solc.version(), output }));
