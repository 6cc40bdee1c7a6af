// Compile Solidity sources with the npm `solc` package into <Name>.json artifacts (abi + creation bytecode).
// Used by chain/contracts/compile.js (TestERC20) and arb/contracts/compile.js (ArbExecutor, MockAaveV3Pool), each
// with its own optimizer settings: build({ dir, names, runs, metadataHash, outDir }) compiles <dir>/<name>.sol for
// every name in one solc run and writes <outDir>/<name>.json.
const fs = require("fs");
const path = require("path");

function build({ dir, names, runs, metadataHash = true, outDir = dir }) {
  const solc = require(require.resolve("solc", { paths: [process.cwd(), dir] }));
  const sources = {};
  for (const n of names) sources[`${n}.sol`] = { content: fs.readFileSync(path.join(dir, `${n}.sol`), "utf8") };
  const settings = {
    optimizer: { enabled: true, runs },
    evmVersion: "paris",
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  };
  if (!metadataHash) settings.metadata = { bytecodeHash: "none" };
  const out = JSON.parse(solc.compile(JSON.stringify({ language: "Solidity", sources, settings })));
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
}

module.exports = { build };
