#!/usr/bin/env node
// canaryd controller entry: Node 24 runs the TypeScript sources directly.
import { main } from '../src/main.ts';

main(process.argv.slice(2), process.env).catch((error) => {
  console.error(`canaryd failed to start: ${error.message}`);
  process.exit(error.name === 'SettingsError' ? 2 : 1);
});
