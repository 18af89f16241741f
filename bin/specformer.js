#!/usr/bin/env node
// The package ships compiled JavaScript in dist/ (built by `npm run build`, run on install).
import("../dist/src/cli/main.js")
  .then((m) => m.main(process.argv))
  .catch((err) => {
    if (err && err.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("dist/src/cli")) {
      console.error("specformer: not built yet; run `npm run build` first");
      process.exit(2);
    }
    throw err;
  });
