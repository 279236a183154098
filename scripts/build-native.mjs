// Builds the addon, the pause binary and the supervisor with the node-gyp that ships with
// npm, against the headers of the Node that runs this script (no download: the machine has
// no route to nodejs.org). Usage: node scripts/build-native.mjs [rebuild|build]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const prefix = path.resolve(path.dirname(process.execPath), '..');
const gyp = [
  process.env.npm_config_node_gyp,
  path.join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
].find((p) => p && existsSync(p));
if (!gyp) {
  console.error('build: node-gyp not found (it ships with npm; is npm installed next to node?)');
  process.exit(1);
}
const args = [gyp, process.argv[2] ?? 'rebuild', '--silent'];
if (existsSync(path.join(prefix, 'include/node/node_api.h'))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
