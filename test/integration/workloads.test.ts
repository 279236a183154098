// Kubernetes coverage on real pods: a stream of several objects (run starts every Pod, down
// removes exactly those), the workload kinds (Deployment, DaemonSet, Job), named volumes
// behind PersistentVolumeClaims, describe with its events, and activeDeadlineSeconds.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { busyboxRootfs, needsRoot, pod, TestHost, waitFor } from './helpers.ts';

const docs = (...objs: object[]) => objs.map((o) => JSON.stringify(o)).join('\n---\n');
const sleeper = (name: string) => ({ name, image: 'busybox', command: ['sleep', '1000'] });

describe('streams, workloads, named volumes, describe', { skip: needsRoot }, () => {
  let h: TestHost;
  before(async () => {
    h = new TestHost('workloads');
    assert.equal((await h.cli(['image', 'import', 'busybox', busyboxRootfs()])).code, 0);
  });
  after(async () => {
    const left = (await h.cli(['ps', '-a', '-o', 'json'])).stdout;
    const names = (JSON.parse(left || '{"items":[]}').items as { metadata: { name: string } }[]).map((i) => i.metadata.name);
    await h.finish(names);
  });
  const ps = async () => {
    const r = await h.cli(['ps', '-a', '-o', 'json']);
    return JSON.parse(r.stdout).items as { metadata: { name: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] }; status: { phase: string; podIP?: string; reason?: string; job?: { succeeded: number; failed: number } } }[];
  };
  const phase = async (name: string) => (await ps()).find((p) => p.metadata.name === name)?.status;

  test('a file with two Pods, a ConfigMap and a Service: both pods run, the Service is skipped with a warning, down removes both and nothing else', async () => {
    const other = await h.cli(['run', '-d', h.manifest('other.json', pod('bystander', { terminationGracePeriodSeconds: 0, containers: [sleeper('c')] }))]);
    assert.equal(other.code, 0, other.stderr);
    const file = h.manifest('two.yaml', docs(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { greeting: 'hello' } },
      pod('alpha', { terminationGracePeriodSeconds: 0, containers: [{ ...sleeper('c'), env: [{ name: 'G', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } }] }] }),
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' }, spec: { ports: [{ port: 80 }] } },
      pod('beta', { terminationGracePeriodSeconds: 0, containers: [{ ...sleeper('c'), ports: [{ containerPort: 80, hostPort: 0 }] }] }),
    ));
    const r = await h.cli(['run', '-d', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^alpha 10\.\S+\nbeta 10\.\S+\n$/);
    assert.match(r.stderr, /two\.yaml:\d+:\d+ kind: kind Service: .* this document is ignored/);
    assert.equal((await h.cli(['exec', 'alpha', '--', 'sh', '-c', 'echo $G'])).stdout, 'hello\n', 'the ConfigMap of the stream');
    const down = await h.cli(['down', file]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(down.stdout, 'alpha\nbeta\n');
    assert.deepEqual((await ps()).map((p) => p.metadata.name), ['bystander']);
    assert.equal((await h.cli(['rm', '-f', 'bystander'])).code, 0);
  });

  test('in the foreground, several pods\' output is prefixed pod/container, and each pod is removed when it ends', async () => {
    const say = (name: string, code: number) => pod(name, { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', `echo from-${name}; exit ${code}`] }] });
    const r = await h.cli(['run', h.manifest('fg.yaml', docs(say('fg1', 0), say('fg2', 4)))]);
    assert.equal(r.code, 4, 'the first non-zero exit');
    assert.match(r.stdout, /^\[fg1\/c\] from-fg1$/m);
    assert.match(r.stdout, /^\[fg2\/c\] from-fg2$/m);
    assert.match(r.stderr, /pod "fg1" Succeeded; removed/);
    assert.match(r.stderr, /pod "fg2" Failed; removed/);
    assert.deepEqual(h.podDirs(), []);
  });

  test('a stream with one bad pod starts none of them', async () => {
    const file = h.manifest('bad.yaml', docs(pod('good', { containers: [sleeper('c')] }), pod('bad', { containers: [{ name: 'c', image: 'no-such-image', imagePullPolicy: 'Never' }] })));
    const r = await h.cli(['run', '-d', file]);
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, /bad\.yaml:\d+:\d+ spec\.containers\[0\]\.imagePullPolicy: container "c": image "no-such-image" is not present/);
    assert.deepEqual(h.podDirs(), []);
  });

  test('a Deployment with 3 replicas: 3 pods named NAME-HASH-XXXXX, distinct IPs, the template\'s labels and the owner; --replace makes them anew', async () => {
    const file = h.manifest('deploy.yaml', docs({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { terminationGracePeriodSeconds: 0, containers: [sleeper('w')] } } },
    }));
    const r = await h.cli(['run', '-d', file]);
    assert.equal(r.code, 0, r.stderr);
    const pods = (await ps()).filter((p) => p.metadata.name.startsWith('web-'));
    assert.equal(pods.length, 3);
    const hash = pods[0].metadata.labels?.['pod-template-hash'];
    for (const p of pods) {
      assert.match(p.metadata.name, new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
      assert.equal(p.metadata.labels?.app, 'web');
      assert.deepEqual(p.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}`), ['Deployment/web']);
    }
    assert.equal(new Set(pods.map((p) => p.status.podIP)).size, 3, 'distinct addresses');
    const again = await h.cli(['run', '-d', file]);
    assert.equal(again.code, 125, 'the same names exist');
    assert.match(again.stderr, /already exists.*--replace/);
    const replaced = await h.cli(['run', '-d', '--replace', file]);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.equal((replaced.stderr.match(/replaced pod "web-/g) ?? []).length, 3);
    assert.equal((await h.cli(['down', file])).stdout.split('\n').filter(Boolean).length, 3);
  });

  test('a DaemonSet is one pod on this host', async () => {
    const file = h.manifest('ds.yaml', docs({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { terminationGracePeriodSeconds: 0, containers: [sleeper('a')] } } } }));
    assert.equal((await h.cli(['run', '-d', file])).code, 0);
    const pods = (await ps()).filter((p) => p.metadata.name.startsWith('agent-'));
    assert.equal(pods.length, 1);
    assert.equal(pods[0].metadata.ownerReferences?.[0].kind, 'DaemonSet');
    await h.cli(['down', file]);
  });

  test('a Job that fails twice then succeeds under backoffLimit 3 completes; ps shows COMPLETIONS', async () => {
    await h.cli(['volume', 'create', 'counter']);
    const file = h.manifest('job.yaml', docs({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'flaky' },
      spec: {
        backoffLimit: 3,
        template: {
          spec: {
            restartPolicy: 'Never',
            volumes: [{ name: 'n', persistentVolumeClaim: { claimName: 'counter' } }],
            containers: [{ name: 'j', image: 'busybox', command: ['sh', '-c', 'n=$(cat /n/runs 2>/dev/null || echo 0); echo $((n+1)) > /n/runs; test $n -ge 2'], volumeMounts: [{ name: 'n', mountPath: '/n' }] }],
          },
        },
      },
    }));
    const r = await h.cli(['run', '-d', file]);
    assert.equal(r.code, 0, r.stderr);
    const name = r.stdout.split(' ')[0];
    assert.match(name, /^flaky-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const st = await waitFor(async () => { const s = await phase(name); return s?.phase === 'Succeeded' && s; }, 'the Job pod succeeds', 20_000);
    assert.deepEqual(st.job && [st.job.succeeded, st.job.failed], [1, 2]);
    const table = (await h.cli(['ps', '-a'])).stdout;
    assert.match(table, /COMPLETIONS/);
    assert.match(table, new RegExp(`${name}\\s+0/1\\s+Completed\\s+2\\s+1/1`));
    await h.cli(['down', file]);
    assert.equal((await h.cli(['volume', 'rm', 'counter'])).code, 0);
  });

  test('a Job past its backoffLimit fails with BackoffLimitExceeded', async () => {
    const file = h.manifest('fail.yaml', docs({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'doomed' }, spec: { backoffLimit: 1, template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'j', image: 'busybox', command: ['false'] }] } } } }));
    const r = await h.cli(['run', '-d', file]);
    assert.equal(r.code, 0, r.stderr);
    const name = r.stdout.split(' ')[0];
    const st = await waitFor(async () => { const s = await phase(name); return s?.phase === 'Failed' && s; }, 'the Job pod fails', 20_000);
    assert.equal(st.reason, 'BackoffLimitExceeded');
    assert.match((await h.cli(['describe', name])).stdout, /Warning\s+BackoffLimitExceeded\s+.*Job has reached the specified backoff limit \(1\)/);
    await h.cli(['down', file]);
  });

  test('a PersistentVolumeClaim: what one pod writes a later pod reads after the first is gone; two pods share it; rm of a volume in use is refused', async () => {
    const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };
    const user = (name: string, script: string) => pod(name, { terminationGracePeriodSeconds: 0, restartPolicy: script.includes('sleep') ? 'Always' : 'Never', volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }], containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', script], volumeMounts: [{ name: 'd', mountPath: '/d' }] }] });
    const first = h.manifest('writer.yaml', docs(claim, user('writer', 'echo kept > /d/file; sleep 1000')));
    assert.equal((await h.cli(['run', '-d', first])).code, 0);
    await waitFor(() => existsSync(path.join(h.root, 'lib', 'volumes', 'data', '_data', 'file')), 'the writer wrote');
    const refused = await h.cli(['volume', 'rm', 'data']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /volume "data" is in use by pod\(s\) writer/);
    const second = h.manifest('reader.yaml', docs(user('reader', 'cat /d/file; sleep 1000')));
    assert.equal((await h.cli(['run', '-d', second])).code, 0, 'a second pod mounts the same volume');
    assert.equal((await h.cli(['down', first])).code, 0);
    assert.equal((await h.cli(['rm', '-f', 'reader'])).code, 0);
    const later = await h.cli(['run', h.manifest('later.yaml', docs(user('later', 'cat /d/file')))]);
    assert.equal(later.code, 0, later.stderr);
    assert.match(later.stdout, /\[c\] kept/);
    const ls = await h.cli(['volume', 'ls', '-q']);
    assert.equal(ls.stdout, 'data\n');
    assert.equal((await h.cli(['volume', 'rm', 'data'])).code, 0);
    const missing = await h.cli(['run', '-d', h.manifest('nov.yaml', docs(user('novol', 'true')))]);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /persistentVolumeClaim\.claimName: no volume named "data"/);
    assert.deepEqual(h.podDirs(), []);
  });

  test('describe of a crash-looping container shows its state, last state and BackOff events with their count', async () => {
    const file = h.manifest('crash.json', pod('crash', { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'exit 3'] }] }, { labels: { app: 'crash' } }));
    assert.equal((await h.cli(['run', '-d', file])).code, 0);
    const text = await waitFor(async () => { const t = (await h.cli(['describe', 'crash'])).stdout; return /BackOff\s+\S+ \(x[3-9]/.test(t) && t; }, 'three BackOff events', 20_000);
    assert.match(text, /^Name:\s+crash$/m);
    assert.match(text, /^Labels:\s+app=crash$/m);
    assert.match(text, /Last State:\s+Terminated\n\s+Reason:\s+Error\n\s+Exit Code:\s+3/);
    assert.match(text, /Restart Count:\s+[1-9]/);
    assert.match(text, /Normal\s+Scheduled\s+.*Successfully assigned default\/crash/);
    assert.match(text, /Normal\s+Started\s+\S+ \(x\d+ over \S+\)\s+supervisor\s+Started container c/);
    assert.match(text, /Warning\s+BackOff\s+\S+ \(x\d+ over \S+\)\s+supervisor\s+Back-off restarting failed container c in pod crash/);
    const ev = await h.cli(['events', 'crash']);
    assert.match(ev.stdout, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/m);
    assert.match(ev.stdout, /Warning\s+BackOff\s+pod\/crash spec\.containers\{c\}/);
    await h.cli(['rm', '-f', 'crash']);
  });

  test('activeDeadlineSeconds: the pod fails with DeadlineExceeded and its containers are stopped', async () => {
    const file = h.manifest('deadline.json', pod('late', { activeDeadlineSeconds: 1, terminationGracePeriodSeconds: 0, containers: [sleeper('c')] }));
    assert.equal((await h.cli(['run', '-d', file])).code, 0);
    const st = await waitFor(async () => { const s = await phase('late'); return s?.phase === 'Failed' && s; }, 'the pod fails at its deadline', 15_000);
    assert.equal(st.reason, 'DeadlineExceeded');
    await h.cli(['rm', '-f', 'late']);
  });

  test('plan takes run\'s flags: --configmap and --seccomp-default change the plan as they change the run', async () => {
    const cm = h.manifest('cm.yaml', docs({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ext' }, data: { k: 'v' } }));
    const file = h.manifest('planned.json', pod('planned', { containers: [{ ...sleeper('c'), env: [{ name: 'K', valueFrom: { configMapKeyRef: { name: 'ext', key: 'k' } } }] }] }));
    const without = await h.cli(['plan', file]);
    assert.notEqual(without.code, 0, 'the ConfigMap is missing');
    const r = await h.cli(['plan', '--configmap', cm, '--seccomp-default', '-o', 'json', file]);
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout);
    assert.ok(p.containers[0].process.env.includes('K=v'));
    assert.equal(p.containers[0].process.seccomp.profile, 'RuntimeDefault');
    assert.ok(!existsSync(path.join(h.root, 'run', 'pods', 'planned')));
  });
});
