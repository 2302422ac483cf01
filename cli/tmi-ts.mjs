#!/usr/bin/env node
// The `tmi-ts` executable: runs cli/tmi-ts.ts through tsx (a dependency), resolved from here so it
// works from any working directory and on every supported Node version.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./tmi-ts.ts');
process.exitCode = main(process.argv.slice(2));
