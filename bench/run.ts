// `npm run bench`: every benchmark prints a table. Benchmarks are never timed tests.
import { benchCheck } from "./check-speed.ts";

console.log("\n## Front end: checking specs/\n");
console.table(benchCheck());
