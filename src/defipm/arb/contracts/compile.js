// Compile the arbitrage contracts (ArbExecutor.sol, MockAaveV3Pool.sol) with the npm `solc` package into
// <Name>.json artifacts (abi + creation bytecode) beside this script, or into the directory given as argument.
// Run from the repo root: `npm run build:contracts` (or node src/defipm/arb/contracts/compile.js [OUT_DIR]).
// tests/arb/test_contract_artifacts.py recompiles into a temporary directory and compares the bytecode.
const path = require("path");
const { build } = require("../../chain/contracts/solc_build.js");

build({
  dir: __dirname,
  names: ["ArbExecutor", "MockAaveV3Pool"],
  runs: 1000,
  metadataHash: false,
  outDir: process.argv[2] ? path.resolve(process.argv[2]) : __dirname,
});
