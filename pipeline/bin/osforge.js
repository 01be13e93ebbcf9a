#!/usr/bin/env node
// The `osforge` command (npx osforge, node_modules/.bin/osforge): loads the
// TypeScript CLI through tsx's loader, so there is no separate build step and
// the command always runs the sources in this checkout.
import { register } from 'tsx/esm/api';

register();
await import('../cli.ts');
