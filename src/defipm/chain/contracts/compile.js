// Compile TestERC20.sol with the npm `solc` package into TestERC20.json (abi + bytecode).
// Run from the repo root: node src/defipm/chain/contracts/compile.js  (needs `npm install`).
const fs = require("fs");
const path = require("path");
const solc = require(path.resolve("node_modules/solc"));
const src = path.join(__dirname, "TestERC20.sol");
const input = {
  language: "Solidity",
  sources: { "TestERC20.sol": { content: fs.readFileSync(src, "utf8") } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "paris",
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  console.error(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
const c = out.contracts["TestERC20.sol"].TestERC20;
const artifact = {
  contractName: "TestERC20",
  compiler: "solc " + solc.version(),
  abi: c.abi,
  bytecode: "0x" + c.evm.bytecode.object,
};
fs.writeFileSync(path.join(__dirname, "TestERC20.json"), JSON.stringify(artifact, null, 1) + "\n");
console.log("wrote TestERC20.json with " + solc.version());
