// Compile TestERC20.sol with the npm `solc` package into TestERC20.json (abi + bytecode), beside this script or
// into the directory given as argument. Run from the repo root: node src/defipm/chain/contracts/compile.js
// (needs `npm install`).
const path = require("path");
const { build } = require("./solc_build.js");

build({ dir: __dirname, names: ["TestERC20"], runs: 200, outDir: process.argv[2] ? path.resolve(process.argv[2]) : __dirname });
