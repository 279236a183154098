// minipod login / logout REGISTRY: credentials for pulls, in the auth file podman uses
// (src/image/auth.ts). login checks them against the registry's /v2/ first, as docker
// and podman do, so a typo is found now and not in the middle of `run`.

import { createInterface } from 'node:readline';

import { removeCredentials, storeCredentials, writableAuthFile } from '../image/auth.ts';
import { loadRegistries, schemeFor } from '../image/registries-conf.ts';
import { Client } from '../image/registry.ts';
import { imageError } from '../image/unpack.ts';
import { help, parse, UsageError, type Verb } from './common.ts';

const loginUsage = `
Usage:
  minipod login [-u USER] [-p PASSWORD | --password-stdin] REGISTRY

Checks the credentials against REGISTRY (host[:port]; docker.io for Docker Hub) and keeps
them for pulls from it in REGISTRY_AUTH_FILE, else /run/containers/0/auth.json (the file
podman uses; mode 0600). Without -u or a password, and on a terminal, asks for them (the
password is not echoed). The password is never printed.

Options:
  -u, --username USER
  -p, --password PASSWORD   visible to other users in the process list: prefer --password-stdin
      --password-stdin      read the password from standard input
      --registries-conf FILE  plain-HTTP registries (default /etc/minipod/registries.yaml)
  -h, --help
`;

const logoutUsage = `
Usage:
  minipod logout REGISTRY | --all

Removes the credentials kept for REGISTRY (or all of them) from REGISTRY_AUTH_FILE, else
/run/containers/0/auth.json. Credentials in ~/.docker/config.json are read by pulls but
never changed: logout says so when that is where they are.
`;

/** A registry name as references spell it, and the host its API is on. */
function registryHost(arg: string): { key: string; host: string } {
  const name = arg.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(name)) throw new UsageError(`"${arg}" is not a registry (host[:port])`);
  const hub = name === 'docker.io' || name === 'index.docker.io' || name === 'registry-1.docker.io';
  return { key: hub ? 'docker.io' : name, host: hub ? 'registry-1.docker.io' : name };
}

async function readStdin(): Promise<string> {
  let s = '';
  for await (const chunk of process.stdin) s += chunk;
  return s.replace(/\r?\n$/, '');
}

function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) => rl.question(question, (a) => (rl.close(), resolve(a))));
}

/** A password from the terminal, not echoed. */
function askSecret(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    process.stderr.write(question);
    const stdin = process.stdin;
    stdin.setRawMode(true);
    stdin.resume();
    let s = '';
    const onData = (b: Buffer) => {
      for (const ch of b.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          finish();
          return resolve(s);
        }
        if (ch === '\u0003') {
          finish();
          return reject(new UsageError('login cancelled'));
        }
        if (ch === '\u007f' || ch === '\b') s = s.slice(0, -1);
        else s += ch;
      }
    };
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

export const login: Verb = {
  name: 'login',
  summary: 'keep credentials for a registry',
  usage: loginUsage,
  async main(argv) {
    const { values, positionals } = parse(argv, {
      username: { type: 'string', short: 'u' },
      password: { type: 'string', short: 'p' },
      'password-stdin': { type: 'boolean' },
      'registries-conf': { type: 'string' },
    });
    if (values.help) return help(this);
    if (positionals.length !== 1) throw new UsageError('usage: minipod login [-u USER] [-p PASSWORD | --password-stdin] REGISTRY');
    const { key, host } = registryHost(positionals[0]);
    if (values.password !== undefined && values['password-stdin']) throw new UsageError('--password and --password-stdin: one or the other');
    const tty = !!process.stdin.isTTY;
    let user = values.username;
    if (user === undefined) {
      if (!tty || values['password-stdin']) throw new UsageError('login needs --username (no terminal to ask on)');
      user = (await ask('Username: ')).trim();
    }
    let password = values.password;
    if (values['password-stdin']) password = await readStdin();
    else if (password === undefined) {
      if (!tty) throw new UsageError('login needs --password-stdin or --password (no terminal to ask on)');
      password = await askSecret('Password: ');
    } else process.stderr.write('minipod: warning: --password is visible in the process list; use --password-stdin\n');
    if (!user || !password) throw new UsageError('login needs a user name and a password');
    const conf = loadRegistries(values['registries-conf']);
    const c = new Client({ base: `${schemeFor(host, conf)}://${host}`, host, mirror: false }, undefined, { user, password }, `login ${key}`);
    const res = await c.get(`${c.base}/v2/`);
    await res.body?.cancel();
    if (res.status === 401 || res.status === 403) throw c.denied(`it answered ${res.status}`);
    if (!res.ok) throw imageError(`login ${key}: ${host} answered ${res.status} for /v2/ (is it a registry?)`, 'ERR_IMAGE_REGISTRY');
    const file = storeCredentials(key, { user, password });
    process.stdout.write(`Login Succeeded (${user} at ${key}, kept in ${file})\n`);
    return 0;
  },
};

export const logout: Verb = {
  name: 'logout',
  summary: 'forget the credentials for a registry',
  usage: logoutUsage,
  async main(argv) {
    const { values, positionals } = parse(argv, { all: { type: 'boolean', short: 'a' } });
    if (values.help) return help(this);
    if (values.all ? positionals.length !== 0 : positionals.length !== 1) throw new UsageError('usage: minipod logout REGISTRY | --all');
    const key = values.all ? undefined : registryHost(positionals[0]).key;
    const r = removeCredentials(key);
    if (r.removed) {
      process.stdout.write(key ? `Removed login credentials for ${key}\n` : `Removed every login credential from ${r.file}\n`);
      return 0;
    }
    if (!key) {
      process.stdout.write(`No login credentials in ${writableAuthFile()}\n`);
      return 0;
    }
    const where = r.elsewhere ? `; credentials for it are in ${r.elsewhere}, which minipod reads but does not change` : '';
    throw imageError(`logout ${key}: not logged in to ${key} in ${r.file}${where}`, 'ERR_IMAGE_NOT_FOUND');
  },
};
