// Compile the arbitrage contracts (ArbExecutor.sol, MockAaveV3Pool.sol) with the npm `solc` package into
// <Name>.json artifacts (abi + creation bytecode) beside this script, or into the directory given as argument.
// Run from the repo root: `npm run build:contracts` (or node src/defipm/arb/contracts/compile.js [OUT_DIR]).
// tests/arb/test_contracts_artifacts.py recompiles into a temporary directory and compares the bytecode.
const fs = require("fs");
const path = require("path");
const solc = require(require.resolve("solc", { paths: [process.cwd(), __dirname] }));
const outDir = process.argv[2] ? path.resolve(process.argv[2]) : __dirname;
const names = ["ArbExecutor", "MockAaveV3Pool"];
const sources = {};
for (const n of names) sources[`${n}.sol`] = { content: fs.readFileSync(path.join(__dirname, `${n}.sol`), "utf8") };
const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 1000 },
    evmVersion: "paris",
    metadata: { bytecodeHash: "none" },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  console.error(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
fs.mkdirSync(outDir, { recursive: true });
for (const n of names) {
  const c = out.contracts[`${n}.sol`][n];
  const artifact = { contractName: n, compiler: "solc " + solc.version(), abi: c.abi, bytecode: "0x" + c.evm.bytecode.object };
  fs.writeFileSync(path.join(outDir, `${n}.json`), JSON.stringify(artifact, null, 1) + "\n");
}
console.log(`wrote ${names.join(", ")} to ${outDir} with solc ${solc.version()}`);
