// Entry point of the `imprimatur` executable (bin/imprimatur runs it on the project's Node).
import { cli } from './cli.js';

cli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`imprimatur: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
