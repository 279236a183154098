// Probes and lifecycle hooks on real pods: readiness flips READY, liveness and startup
// failures restart, httpGet and tcpSocket reach a server inside the pod's network, startup
// holds liveness back, postStart runs before the app goes on, preStop runs before the stop
// signal within the grace period, and timeouts are enforced.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { PodState } from '../../src/state/status.ts';
import { busyboxRootfs, needsRoot, pidsMatching, pod, TestHost, waitFor } from './helpers.ts';

interface Terminated {
  exitCode?: number;
  signal?: number;
  reason?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
}
interface ContainerView {
  name: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: { running?: object; waiting?: { reason?: string }; terminated?: Terminated };
  lastState: { terminated?: Terminated };
}
interface PodView {
  status: { phase: string; containerStatuses: ContainerView[] };
}

/** A shell loop as PID 1 that ends promptly on SIGTERM (a bare sleep as PID 1 ignores it). */
const idle = (before = '') => ['sh', '-c', `trap "exit 0" TERM; ${before} while :; do sleep 0.1; done`];

describe('probes and lifecycle hooks', { skip: needsRoot }, () => {
  let h: TestHost;
  let image: string;
  const names: string[] = [];

  const inspect = async (name: string): Promise<PodView> => {
    const r = await h.cli(['inspect', name]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as PodView;
  };
  const ctr = async (name: string, i = 0) => (await inspect(name)).status.containerStatuses[i];
  /** The supervisor's own report, for what inspect does not show (probe counters). */
  const state = (name: string): PodState => JSON.parse(readFileSync(path.join(h.root, 'run', 'pods', name, 'state.json'), 'utf8')) as PodState;
  const run = async (name: string, spec: object) => {
    names.push(name);
    const r = await h.cli(['run', '-d', h.manifest(`${name}.json`, pod(name, spec))]);
    assert.equal(r.code, 0, r.stderr);
  };
  const exec = async (name: string, ...argv: string[]) => {
    const r = await h.cli(['exec', name, '--', ...argv]);
    assert.equal(r.code, 0, `exec ${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const rm = async (name: string) => assert.equal((await h.cli(['rm', '-f', name])).code, 0);

  before(() => {
    h = new TestHost('probes');
    image = busyboxRootfs();
  });
  after(async () => {
    if (names.length) await h.cli(['rm', '-f', ...names]);
    const left = { mounts: h.mounts(), dirs: h.podDirs(), procs: pidsMatching(h.root) };
    h.cleanup();
    assert.deepEqual(left, { mounts: [], dirs: [], procs: [] }, 'nothing of any pod is left');
  });

  test('a readiness probe flips READY as its file appears and goes', async () => {
    await run('ready', {
      containers: [
        {
          name: 'app',
          image,
          command: idle(),
          readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1 },
        },
      ],
    });
    // It has been probed and found not ready; running but not READY in ps.
    await waitFor(() => (state('ready').containers[0].probes.readiness?.failures ?? 0) >= 1, 'a failed readiness probe');
    let c = await ctr('ready');
    assert.ok(c.state.running && c.started && !c.ready, JSON.stringify(c));
    assert.match((await h.cli(['ps'])).stdout, /^ready\s+0\/1\s+Running\s+0/m);
    assert.match(state('ready').containers[0].probes.readiness?.message ?? '', /^Readiness probe failed: command exited with code 1/);

    await exec('ready', 'touch', '/tmp/ready');
    await waitFor(async () => (await ctr('ready')).ready, 'READY after the file appeared');
    assert.match((await h.cli(['ps'])).stdout, /^ready\s+1\/1\s+Running\s+0/m);

    await exec('ready', 'rm', '/tmp/ready');
    c = await waitFor(async () => {
      const x = await ctr('ready');
      return !x.ready && x;
    }, 'not READY after the file went');
    assert.equal(c.restartCount, 0, 'readiness never restarts');
    await rm('ready');
  });

  test('readiness gates run --wait', async () => {
    names.push('gated');
    const file = h.manifest('gated.json', pod('gated', {
      containers: [
        {
          name: 'app',
          image,
          command: idle('(sleep 1.5; touch /tmp/ok) &'),
          readinessProbe: { exec: { command: ['test', '-f', '/tmp/ok'] }, periodSeconds: 1 },
        },
      ],
    }));
    const t0 = Date.now();
    const r = await h.cli(['run', '-d', '--wait', '--timeout', '20', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Date.now() - t0 >= 1500, `run --wait returned after ${Date.now() - t0} ms, before the probe could pass`);
    assert.ok((await ctr('gated')).ready);
    await rm('gated');
  });

  test('a failing liveness probe kills and restarts the container, and says why', async () => {
    await run('live', {
      containers: [
        {
          name: 'app',
          image,
          command: idle('touch /tmp/alive;'),
          livenessProbe: { exec: { command: ['test', '-f', '/tmp/alive'] }, periodSeconds: 1, failureThreshold: 2 },
        },
      ],
    });
    await waitFor(async () => (await ctr('live')).ready, 'the container ready');
    await exec('live', 'rm', '/tmp/alive');
    const c = await waitFor(async () => {
      const x = await ctr('live');
      return x.restartCount === 1 && x.state.running && x;
    }, 'a restart after the liveness probe failed', 15_000);
    assert.match(c.lastState.terminated?.message ?? '', /^Liveness probe failed: command exited with code 1/);
    assert.equal(c.lastState.terminated?.exitCode, 0, 'killed with SIGTERM, which it handles');
    // The restarted container starts from its image again and creates the file: it stays alive.
    await waitFor(async () => (await ctr('live')).ready, 'ready again after the restart');
    assert.equal(state('live').containers[0].probes.liveness?.result, 'success');
    await rm('live');
  });

  test('httpGet (named port) and tcpSocket probes reach busybox httpd in the pod', async () => {
    await run('web', {
      containers: [
        {
          name: 'httpd',
          image,
          command: ['sh', '-c', 'echo ok > /www/healthz; exec httpd -f -p 8080 -h /www'],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { port: 'http', path: '/healthz', httpHeaders: [{ name: 'X-Probe', value: '1' }] }, periodSeconds: 1, failureThreshold: 1 },
          livenessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1, failureThreshold: 3 },
        },
      ],
    });
    await waitFor(async () => (await ctr('web')).ready, 'ready through httpGet /healthz');
    await waitFor(() => state('web').containers[0].probes.liveness?.result === 'success', 'the tcpSocket probe');
    // A 404 makes it unready; the message names the status code.
    await exec('web', 'rm', '/www/healthz');
    await waitFor(async () => !(await ctr('web')).ready, 'unready on 404');
    assert.match(state('web').containers[0].probes.readiness?.message ?? '', /HTTP probe failed with statuscode: 404/);
    assert.equal((await ctr('web')).restartCount, 0);

    // Nothing listens on 9999: a tcpSocket startup probe fails, and the container restarts.
    await run('closed', {
      containers: [
        {
          name: 'app',
          image,
          command: idle(),
          startupProbe: { tcpSocket: { port: 9999 }, periodSeconds: 1, failureThreshold: 2 },
        },
      ],
    });
    const c = await waitFor(async () => {
      const x = await ctr('closed');
      return x.restartCount >= 1 && x;
    }, 'a restart after the startup probe failed', 15_000);
    assert.match(c.lastState.terminated?.message ?? '', /^Startup probe failed: dial tcp [\d.]+:9999: connect: Connection refused/);
    assert.equal(c.ready, false);
    await rm('web');
    await rm('closed');
  });

  test('a startup probe holds liveness back until it succeeds', async () => {
    // Liveness fails at its first run; it must not run before startup passes (after ~2 s).
    await run('slow', {
      containers: [
        {
          name: 'app',
          image,
          command: idle('(sleep 2; touch /tmp/started) &'),
          startupProbe: { exec: { command: ['test', '-f', '/tmp/started'] }, periodSeconds: 1, failureThreshold: 30 },
          livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 1 },
        },
      ],
    });
    let early = 0;
    await waitFor(() => {
      const s = state('slow').containers[0];
      if (s.restartCount === 0 && s.state === 'running' && !s.started && s.probes.liveness?.failures) early++;
      return s.restartCount >= 1;
    }, 'the liveness kill once started', 15_000);
    assert.equal(early, 0, 'liveness ran before startup passed');
    const c = await ctr('slow');
    assert.match(c.lastState.terminated?.message ?? '', /^Liveness probe failed/);
    const ran = Date.parse(c.lastState.terminated?.finishedAt ?? '') - Date.parse(c.lastState.terminated?.startedAt ?? '');
    assert.ok(ran >= 2000, `the first run lasted ${ran} ms: liveness waited for startup`);
    await rm('slow');
  });

  test('postStart runs before the app goes on; a failing postStart kills it (FailedPostStartHook)', async () => {
    await run('hooked', {
      containers: [
        {
          name: 'app',
          image,
          command: ['sh', '-c', 'trap "exit 0" TERM; while [ ! -f /tmp/hook ]; do sleep 0.05; done; echo app saw $(cat /tmp/hook); while :; do sleep 0.1; done'],
          lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo hello > /tmp/hook.new; mv /tmp/hook.new /tmp/hook'] } } },
        },
      ],
    });
    await waitFor(async () => (await h.cli(['logs', 'hooked'])).stdout === 'app saw hello\n', 'the app to see the postStart file');
    assert.ok((await ctr('hooked')).ready);

    await run('badhook', {
      restartPolicy: 'Never',
      containers: [{ name: 'app', image, command: idle(), lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo broken >&2; exit 3'] } } } }],
    });
    const c = await waitFor(async () => {
      const x = await ctr('badhook');
      return x.state.terminated && x;
    }, 'the container killed after its postStart failed');
    assert.equal(c.state.terminated?.reason, 'FailedPostStartHook');
    assert.match(c.state.terminated?.message ?? '', /postStart hook failed: command exited with code 3: broken/);
    assert.equal(c.restartCount, 0, 'restartPolicy Never');
    await rm('hooked');
    await rm('badhook');
  });

  test('stop runs preStop, then the stop signal; the grace period counts from preStop', async () => {
    await run('graceful', {
      terminationGracePeriodSeconds: 10,
      containers: [
        {
          name: 'app',
          image,
          command: ['sh', '-c', 'trap "echo got TERM; exit 0" TERM; while :; do sleep 0.1; done'],
          lifecycle: { preStop: { exec: { command: ['sh', '-c', 'sleep 0.3; echo preStop ran > /proc/1/fd/1'] } } },
        },
      ],
    });
    await waitFor(async () => (await ctr('graceful')).ready, 'running');
    assert.equal((await h.cli(['stop', 'graceful'])).code, 0);
    assert.equal((await h.cli(['logs', 'graceful'])).stdout, 'preStop ran\ngot TERM\n');
    assert.equal((await ctr('graceful')).state.terminated?.exitCode, 0);

    // A preStop that outlasts the grace period: SIGKILL 2 s after preStop began.
    await run('stuck', {
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'app', image, command: idle(), lifecycle: { preStop: { exec: { command: ['sleep', '100'] } } } }],
    });
    await waitFor(async () => (await ctr('stuck')).ready, 'running');
    const t0 = Date.now();
    assert.equal((await h.cli(['stop', 'stuck'])).code, 0);
    const took = Date.now() - t0;
    const c = await ctr('stuck');
    assert.equal(c.state.terminated?.signal, 9, 'SIGKILLed after the grace period');
    assert.ok(took >= 1900 && took < 6000, `stop took ${took} ms`);
    await rm('graceful');
    await rm('stuck');
  });

  test('an httpGet preStop hook reaches the pod before the stop signal', async () => {
    // busybox httpd (daemonized, PID 1 is the shell) with a CGI script that leaves a line in
    // the container's log when the hook calls it.
    const cgi = '#!/bin/sh\\necho preStop via http > /proc/1/fd/1\\necho Content-Type: text/plain\\necho\\necho ok\\n';
    await run('httphook', {
      terminationGracePeriodSeconds: 10,
      containers: [
        {
          name: 'app',
          image,
          command: ['sh', '-c', `mkdir -p /www/cgi-bin; printf '${cgi}' > /www/cgi-bin/stop; chmod +x /www/cgi-bin/stop; httpd -p 8080 -h /www; trap "echo got TERM; exit 0" TERM; while :; do sleep 0.1; done`],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 1 },
          lifecycle: { preStop: { httpGet: { port: 'http', path: '/cgi-bin/stop' } } },
        },
      ],
    });
    await waitFor(async () => (await ctr('httphook')).ready, 'httpd listening');
    const t0 = Date.now();
    assert.equal((await h.cli(['stop', 'httphook'])).code, 0);
    assert.ok(Date.now() - t0 < 5000, 'the hook ended and the stop signal followed at once');
    assert.equal((await h.cli(['logs', 'httphook'])).stdout, 'preStop via http\ngot TERM\n');
    await rm('httphook');
  });

  test('timeoutSeconds is enforced: a hanging exec probe fails and is killed', async () => {
    await run('hang', {
      containers: [
        {
          name: 'app',
          image,
          command: idle(),
          livenessProbe: { exec: { command: ['sleep', '30'] }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1 },
        },
      ],
    });
    const c = await waitFor(async () => {
      const x = await ctr('hang');
      return x.restartCount >= 1 && x;
    }, 'a restart after the probe timed out', 15_000);
    assert.match(c.lastState.terminated?.message ?? '', /^Liveness probe failed: command timed out after 1s/);
    const ran = Date.parse(c.lastState.terminated?.finishedAt ?? '') - Date.parse(c.lastState.terminated?.startedAt ?? '');
    assert.ok(ran < 5000, `killed after ${ran} ms, not after the 30 s sleep`);
    await rm('hang');
    // The timed-out probe's process is gone too (it was killed, not left behind).
    assert.deepEqual(pidsMatching('sleep 30'), []);
  });
});
