// Pods that outlive the command: run -d, ps, inspect, restarts with backoff, init
// containers, logs, exec, stop, rm, gc after a killed supervisor, and exit codes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { busyboxRootfs, needsRoot, pidsMatching, pod, TestHost, waitFor } from './helpers.ts';

interface ContainerView {
  name: string;
  pid?: number;
  ready: boolean;
  restartCount: number;
  state: Record<string, { exitCode?: number; reason?: string; startedAt?: string; finishedAt?: string }>;
  lastState?: Record<string, { exitCode?: number }>;
}
interface PodView {
  status: { phase: string; reason?: string; podIP?: string; initContainerStatuses: ContainerView[]; containerStatuses: ContainerView[] };
  minipod: { supervisorPid?: number; pausePid?: number };
}

describe('lifecycle and CLI', { skip: needsRoot }, () => {
  let h: TestHost;
  let image: string;
  const inspect = async (name: string): Promise<PodView> => {
    const r = await h.cli(['inspect', name]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as PodView;
  };
  before(() => {
    h = new TestHost('life');
    image = busyboxRootfs();
  });
  after(async () => {
    await h.cli(['rm', '-f', 'svc', 'crash', 'inits', 'chatty', 'lost', 'nopause', 'never', 'onf', 'badinit']);
    await h.cli(['gc', '--all']);
    const left = { mounts: h.mounts(), dirs: h.podDirs(), procs: pidsMatching(h.root) };
    h.cleanup();
    assert.deepEqual(left, { mounts: [], dirs: [], procs: [] }, 'nothing of any pod is left');
  });

  test('run -d returns with the pod running; ps, inspect, stop and rm agree', async () => {
    const file = h.manifest('svc.json', pod('svc', {
      terminationGracePeriodSeconds: 5,
      containers: [
        // As PID 1 of its pid namespace a process ignores SIGTERM unless it handles it.
        { name: 'web', image, command: ['sh', '-c', 'trap "exit 0" TERM; httpd -f -p 8080 & wait'] },
        { name: 'side', image, command: ['sh', '-c', 'trap "exit 0" TERM; sleep 1000 & wait'] },
      ],
    }));
    const r = await h.cli(['run', '-d', '--wait', '--timeout', '20', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^svc\b/);
    const ps = await h.cli(['ps']);
    const row = ps.stdout.split('\n').find((l) => l.startsWith('svc '));
    assert.ok(row, ps.stdout);
    assert.match(row, /^svc\s+2\/2\s+Running\s+0\s+\d+s\s+\S+/);
    const json = JSON.parse((await h.cli(['ps', '-o', 'json'])).stdout) as { items: PodView[] };
    assert.equal(json.items.length, 1);
    const v = await inspect('svc');
    assert.equal(v.status.phase, 'Running');
    assert.deepEqual(v.status.containerStatuses.map((c) => [c.name, c.ready, Object.keys(c.state)[0]]), [['web', true, 'running'], ['side', true, 'running']]);
    if (v.status.podIP) assert.ok(row.includes(v.status.podIP), 'ps shows the pod IP');

    // exec passes the exit code through, and runs in the container's own root.
    assert.equal((await h.cli(['exec', 'svc', '-c', 'side', '--', 'sh', '-c', 'exit 42'])).code, 42);
    const unknown = await h.cli(['exec', 'svc', '-c', 'nope', '--', 'true']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /container "nope".*(web|side)/);
    // -t allocates a terminal: `tty` names it (script gives the CLI a terminal of its own).
    const t = execFileSync('script', ['-qec', `${process.execPath} bin/minipod exec -t svc -c side -- tty`, '/dev/null'], {
      env: h.env,
      encoding: 'utf8',
      cwd: new URL('../..', import.meta.url).pathname,
    });
    assert.match(t, /\/dev\/pts\/\d+/);

    const stop = await h.cli(['stop', 'svc']);
    assert.equal(stop.code, 0, stop.stderr);
    const ended = await inspect('svc');
    assert.ok(['Succeeded', 'Failed'].includes(ended.status.phase), ended.status.phase);
    assert.deepEqual(ended.status.containerStatuses.map((c) => Object.keys(c.state)[0]), ['terminated', 'terminated']);
    const psa = await h.cli(['ps', '-a']);
    assert.match(psa.stdout, /^svc\s+0\/2\s+/m);
    assert.equal((await h.cli(['rm', 'svc'])).code, 0);
    const gone = await h.cli(['inspect', 'svc']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /pod "svc" not found/);
  });

  test('a crashing container restarts with backoff, shows CrashLoopBackOff, keeps previous logs', async () => {
    const file = h.manifest('crash.json', pod('crash', {
      containers: [{ name: 'c', image, command: ['sh', '-c', 'echo run at $(date +%s); exit 3'] }],
    }));
    assert.equal((await h.cli(['run', '-d', file])).code, 0);
    const v = await waitFor(async () => {
      const x = await inspect('crash');
      const c = x.status.containerStatuses[0];
      return c.restartCount >= 2 && c.state.waiting?.reason === 'CrashLoopBackOff' ? x : undefined;
    }, 'two restarts and CrashLoopBackOff', 20_000);
    assert.equal(v.status.containerStatuses[0].lastState?.terminated?.exitCode, 3);
    const ps = await h.cli(['ps']);
    assert.match(ps.stdout, /^crash\s+0\/1\s+CrashLoopBackOff\s+[2-9]/m);
    const prev = await h.cli(['logs', '--previous', 'crash']);
    assert.match(prev.stdout, /^run at \d+\n$/);
    const ts = await h.cli(['logs', '--timestamps', '--tail', '1', 'crash']);
    assert.match(ts.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z run at \d+\n$/);
    assert.equal((await h.cli(['rm', '-f', 'crash'])).code, 0);
  });

  test('Never: the pod ends Failed with the exit code; OnFailure stops restarting after a success', async () => {
    const never = h.manifest('never.json', pod('never', { restartPolicy: 'Never', containers: [{ name: 'c', image, command: ['sh', '-c', 'exit 4'] }] }));
    assert.equal((await h.cli(['run', '-d', never])).code, 0);
    const v = await waitFor(async () => {
      const x = await inspect('never');
      return x.status.phase === 'Failed' && x;
    }, 'the pod to fail');
    assert.equal(v.status.containerStatuses[0].state.terminated?.exitCode, 4);
    assert.equal(v.status.containerStatuses[0].restartCount, 0);
    // Third run succeeds: a counter kept in the pod's /dev/shm survives restarts.
    const onf = h.manifest('onf.json', pod('onf', {
      restartPolicy: 'OnFailure',
      containers: [{ name: 'c', image, command: ['sh', '-c', 'n=$(cat /dev/shm/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /dev/shm/n; [ $n -ge 3 ]'] }],
    }));
    assert.equal((await h.cli(['run', '-d', onf])).code, 0);
    const done = await waitFor(async () => {
      const x = await inspect('onf');
      return x.status.phase === 'Succeeded' && x;
    }, 'the pod to succeed', 20_000);
    assert.equal(done.status.containerStatuses[0].restartCount, 2);
    assert.equal(done.status.containerStatuses[0].state.terminated?.exitCode, 0);
    for (const n of ['never', 'onf']) assert.equal((await h.cli(['rm', n])).code, 0);
  });

  test('a failing init container under Never fails the pod; the app container never starts', async () => {
    const file = h.manifest('badinit.json', pod('badinit', {
      restartPolicy: 'Never',
      initContainers: [{ name: 'setup', image, command: ['sh', '-c', 'exit 2'] }],
      containers: [{ name: 'app', image, command: ['sleep', '1000'] }],
    }));
    const r = await h.cli(['run', '-d', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /pod "badinit".* init container "setup".* exited with code 2/);
    const v = await waitFor(async () => {
      const x = await inspect('badinit');
      return x.status.phase === 'Failed' && x;
    }, 'the pod to fail');
    assert.equal(v.status.initContainerStatuses[0].state.terminated?.exitCode, 2);
    assert.ok(!v.status.containerStatuses[0]?.state.running && !v.status.containerStatuses[0]?.state.terminated, 'app never ran');
    const ps = await h.cli(['ps', '-a']);
    assert.match(ps.stdout, /^badinit\s+0\/1\s+Init:Error/m);
    assert.equal((await h.cli(['rm', 'badinit'])).code, 0);
  });

  test('run -d never waits silently: it says which init container runs, and ends naming one that fails (retried under OnFailure), with its output; the pod stays', async () => {
    const file = h.manifest('retry.json', pod('retry', {
      restartPolicy: 'OnFailure',
      initContainers: [
        { name: 'first', image, command: ['sh', '-c', 'sleep 0.3'] },
        { name: 'migrate', image, command: ['sh', '-c', 'echo connecting to the database; echo no database >&2; exit 3'] },
      ],
      containers: [{ name: 'app', image, command: ['sleep', '1000'] }],
    }));
    const r = await h.cli(['run', '-d', file], { timeoutMs: 20_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /minipod: init container 1 of 2 \("first"\) is running/);
    assert.match(r.stderr, /init container "migrate" \(2 of 2\) exited with code 3; the pod is left for `minipod logs retry -c migrate`/);
    assert.match(r.stderr, /its last output:\n  connecting to the database\n  no database/);
    const ps = await h.cli(['ps']);
    assert.match(ps.stdout, /^retry\s+0\/1\s+Init:(Error|CrashLoopBackOff)/m, 'left for inspection, still retried');
    assert.equal((await h.cli(['rm', '-f', 'retry'])).code, 0);
  });

  test('run -d --timeout bounds the wait for init containers too; the pod stays', async () => {
    const file = h.manifest('slow.json', pod('slow', { terminationGracePeriodSeconds: 1, initContainers: [{ name: 'slow', image, command: ['sleep', '1000'] }], containers: [{ name: 'app', image, command: ['sleep', '1000'] }] }));
    const r = await h.cli(['run', '-d', '--timeout', '1', file], { timeoutMs: 20_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /pod "slow" did not start within 1 s \(init container "slow" still runs\)/);
    assert.match((await h.cli(['ps'])).stdout, /^slow\s+0\/1\s+Init:0\/1/m);
    assert.equal((await h.cli(['rm', '-f', 'slow'])).code, 0);
  });

  test('init containers run one at a time, to completion, before app containers; sidecars keep running', async () => {
    const file = h.manifest('inits.json', pod('inits', {
      initContainers: [
        { name: 'first', image, command: ['sh', '-c', 'echo first > /dev/shm/order; sleep 0.2'] },
        { name: 'helper', image, restartPolicy: 'Always', command: ['sleep', '1000'] },
        { name: 'second', image, command: ['sh', '-c', 'echo second >> /dev/shm/order'] },
      ],
      containers: [{ name: 'app', image, command: ['sh', '-c', 'echo app >> /dev/shm/order; sleep 1000'] }],
    }));
    assert.equal((await h.cli(['run', '-d', file])).code, 0);
    const order = await h.cli(['exec', 'inits', '-c', 'app', '--', 'cat', '/dev/shm/order']);
    assert.equal(order.stdout, 'first\nsecond\napp\n');
    const v = await inspect('inits');
    const byName = Object.fromEntries(v.status.initContainerStatuses.map((c) => [c.name, c]));
    assert.equal(byName.first.state.terminated?.reason, 'Completed');
    assert.ok(byName.helper.state.running, 'the sidecar keeps running');
    assert.ok(Date.parse(byName.first.state.terminated?.finishedAt ?? '') <= Date.parse(byName.second.state.terminated?.startedAt ?? ''));
    assert.equal((await h.cli(['rm', '-f', 'inits'])).code, 0);
  });

  test('logs -f follows a running container until it ends', async () => {
    const file = h.manifest('chatty.json', pod('chatty', {
      restartPolicy: 'Never',
      containers: [{ name: 'c', image, command: ['sh', '-c', 'for i in 1 2 3; do echo line $i; sleep 0.2; done'] }],
    }));
    assert.equal((await h.cli(['run', '-d', file])).code, 0);
    const f = await h.cli(['logs', '-f', 'chatty'], { timeoutMs: 15_000 });
    assert.equal(f.code, 0, f.stderr);
    assert.equal(f.stdout, 'line 1\nline 2\nline 3\n');
    assert.equal((await h.cli(['rm', 'chatty'])).code, 0);
  });

  test('a killed supervisor is noticed; gc removes every process, mount and directory of the pod', async () => {
    const file = h.manifest('lost.json', pod('lost', { containers: [{ name: 'c', image, command: ['sleep', '1000'] }] }));
    assert.equal((await h.cli(['run', '-d', file])).code, 0);
    const v = await inspect('lost');
    const sup = v.minipod.supervisorPid;
    const workload = v.status.containerStatuses[0].pid;
    assert.ok(sup && workload);
    process.kill(sup, 'SIGKILL');
    await waitFor(() => !pidsMatching(`${h.root}/run/pods/lost`).includes(sup), 'the supervisor to be gone');
    const gc = await h.cli(['gc']);
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, /pod lost: supervisor gone/);
    // Gone, or a zombie waiting for this test sandbox's init (not a reaper) to collect it.
    const state = (() => {
      try {
        return readFileSync(`/proc/${workload}/stat`, 'utf8').split(') ')[1]?.[0];
      } catch {
        return 'gone';
      }
    })();
    assert.ok(state === 'gone' || state === 'Z', `the workload was killed (state ${state})`);
    assert.deepEqual(h.podDirs().filter((d) => d.endsWith('/lost')), []);
    assert.deepEqual(h.mounts().filter((m) => m.includes('/lost')), []);
  });

  test('when pause dies the pod is torn down and marked Failed', async () => {
    const file = h.manifest('nopause.json', pod('nopause', { containers: [{ name: 'c', image, command: ['sleep', '1000'] }] }));
    assert.equal((await h.cli(['run', '-d', file])).code, 0);
    const v = await inspect('nopause');
    assert.ok(v.minipod.pausePid);
    process.kill(v.minipod.pausePid, 'SIGKILL');
    const ended = await waitFor(async () => {
      const x = await inspect('nopause');
      return x.status.phase === 'Failed' && x;
    }, 'the pod to fail');
    assert.equal(ended.status.reason, 'PauseExited');
    await waitFor(() => h.mounts().filter((m) => m.includes('/nopause')).length === 0, 'its mounts to go');
    assert.equal((await h.cli(['rm', 'nopause'])).code, 0);
  });

  test('unknown pods and verbs: stable exit codes and messages', async () => {
    for (const args of [['logs', 'ghost'], ['stop', 'ghost'], ['rm', 'ghost'], ['exec', 'ghost', '--', 'true']]) {
      const r = await h.cli(args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /pod "ghost" not found/);
    }
    const bad = await h.cli(['frobnicate']);
    assert.equal(bad.code, 2);
    const help = await h.cli(['ps', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: minipod ps/);
  });
});
