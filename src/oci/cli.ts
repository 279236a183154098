// The entry of dist/minipod-oci.js, which the native minipod-oci (native/oci/main.c) execs
// with its whole command line for create, exec, update and features.
import { main } from './main.ts';

process.exit(await main(process.argv.slice(2)));
