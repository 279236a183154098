// Planning probes and lifecycle hooks without root: defaults, named ports, exec processes
// that enter the container, and the manifests that are refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FieldError } from '../../src/errors.ts';
import { containerPlan, type PodContext } from '../../src/plan/container.ts';
import { describePlan } from '../../src/plan/describe.ts';
import { buildPodPlan } from '../../src/plan/pod.ts';
import type { ContainerPlan } from '../../src/plan/types.ts';
import type { Container, Pod } from '../../src/spec/types.ts';

const image = { ref: 'busybox:latest', rootfs: '/img/busybox', env: ['PATH=/bin:/usr/bin'], cmd: ['sh'] };

function plan(container: Partial<Container> & Record<string, unknown>, opts: { init?: boolean } = {}): ContainerPlan {
  const c = { name: 'web', image: 'busybox', command: ['httpd', '-f'], ...container } as Container;
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'demo', namespace: 'default' },
    spec: opts.init ? { initContainers: [c], containers: [{ name: 'app', image: 'busybox' }] } : { containers: [c] },
  } as unknown as Pod;
  const ctx: PodContext = { pod, uid: 'u', hostname: 'demo', dirs: { run: '/run/p', lib: '/lib/p' }, images: new Map([[c.name, image], ['app', image]]) };
  return containerPlan(ctx, c, opts.init ? 'spec.initContainers[0]' : 'spec.containers[0]', opts.init === true);
}

function fieldError(fn: () => unknown, field: string, msg: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FieldError, `expected a FieldError, got ${String(e)}`);
    assert.equal(e.field, field);
    assert.match(e.message, msg);
    return true;
  });
}

test('no probes, no hooks: the plan has neither key and stops with SIGTERM', () => {
  const p = plan({});
  assert.equal(p.probes, undefined);
  assert.equal(p.hooks, undefined);
  assert.equal(p.stopSignal, 'SIGTERM');
});

test('defaults are filled in as Kubernetes documents them', () => {
  const p = plan({ readinessProbe: { tcpSocket: { port: 80 } } });
  assert.deepEqual(p.probes, {
    readiness: {
      handler: { kind: 'tcpSocket', host: null, port: 80 },
      initialDelaySeconds: 0,
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
      terminationGracePeriodSeconds: null,
    },
  });
});

test('an exec probe joins every namespace of the running container with its identity and env', () => {
  const p = plan({
    workingDir: '/srv',
    env: [{ name: 'A', value: '1' }],
    securityContext: { runAsUser: 1000, runAsGroup: 1000, allowPrivilegeEscalation: false },
    livenessProbe: { exec: { command: ['cat', '$(A)'] }, periodSeconds: 2, failureThreshold: 1, terminationGracePeriodSeconds: 5 },
  });
  const live = p.probes!.liveness!;
  assert.equal(live.handler.kind, 'exec');
  assert.equal(live.periodSeconds, 2);
  assert.equal(live.failureThreshold, 1);
  assert.equal(live.terminationGracePeriodSeconds, 5);
  const proc = (live.handler as { kind: 'exec'; process: ContainerPlan['process'] }).process;
  assert.deepEqual(
    proc.namespaces,
    ['ipc', 'uts', 'net', 'pid', 'mnt'].map((t) => ({ type: t, action: 'join', path: `@container:web/${t}` })),
  );
  assert.deepEqual(proc.mounts, [], 'the container root is reached through its mount namespace, not mounted again');
  assert.deepEqual(proc.argv, ['cat', '$(A)'], 'probe commands are not expanded');
  assert.deepEqual(proc.user, p.process.user);
  assert.deepEqual(proc.capabilities, p.process.capabilities);
  assert.equal(proc.noNewPrivileges, true);
  assert.equal(proc.cwd, '/srv');
  assert.deepEqual(proc.env, p.process.env);
});

test('named ports resolve to the containerPort; numeric strings are ports', () => {
  const p = plan({
    ports: [{ name: 'http', containerPort: 8080 }, { name: 'admin', containerPort: 9000 }],
    livenessProbe: { httpGet: { port: 'http', path: '/healthz', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } },
    startupProbe: { tcpSocket: { port: '9000', host: 'localhost' } },
  });
  assert.deepEqual(p.probes!.liveness!.handler, { kind: 'httpGet', host: null, port: 8080, path: '/healthz', headers: [{ name: 'X-Probe', value: 'yes' }] });
  assert.deepEqual(p.probes!.startup!.handler, { kind: 'tcpSocket', host: '127.0.0.1', port: 9000 });
});

test('lifecycle hooks: exec, httpGet with default path, sleep; stopSignal', () => {
  const p = plan({
    lifecycle: { postStart: { exec: { command: ['touch', '/tmp/x'] } }, preStop: { sleep: { seconds: 3 } }, stopSignal: 'SIGUSR1' },
  });
  assert.equal(p.hooks!.postStart!.kind, 'exec');
  assert.deepEqual(p.hooks!.preStop, { kind: 'sleep', seconds: 3 });
  assert.equal(p.stopSignal, 'SIGUSR1');
  const q = plan({ lifecycle: { preStop: { httpGet: { port: 80 } }, stopSignal: 'QUIT' } });
  assert.deepEqual(q.hooks!.preStop, { kind: 'httpGet', host: null, port: 80, path: '/', headers: [] });
  assert.equal(q.stopSignal, 'SIGQUIT');
});

test('a sidecar may have probes and hooks', () => {
  const p = plan({ restartPolicy: 'Always', readinessProbe: { exec: { command: ['true'] } }, lifecycle: { preStop: { sleep: { seconds: 1 } } } }, { init: true });
  assert.ok(p.sidecar);
  assert.ok(p.probes?.readiness && p.hooks?.preStop);
});

test('refused: no handler, two handlers, unknown named port, grpc, https, bad numbers', () => {
  const f = 'spec.containers[0]';
  fieldError(() => plan({ livenessProbe: { periodSeconds: 1 } }), `${f}.livenessProbe`, /must specify a handler type/);
  fieldError(() => plan({ livenessProbe: { exec: { command: ['true'] }, tcpSocket: { port: 80 } } }), `${f}.livenessProbe.tcpSocket`, /more than 1 handler/);
  fieldError(
    () => plan({ ports: [{ name: 'http', containerPort: 80 }], readinessProbe: { httpGet: { port: 'metrics' } } }),
    `${f}.readinessProbe.httpGet.port`,
    /no containerPort is named "metrics" \(named ports: http\)/,
  );
  fieldError(() => plan({ readinessProbe: { tcpSocket: { port: 70000 } } }), `${f}.readinessProbe.tcpSocket.port`, /between 1 and 65535/);
  fieldError(() => plan({ livenessProbe: { grpc: { port: 9000 } } }), `${f}.livenessProbe.grpc`, /not supported/);
  fieldError(() => plan({ livenessProbe: { httpGet: { port: 80, scheme: 'HTTPS' } } }), `${f}.livenessProbe.httpGet.scheme`, /not supported/);
  fieldError(() => plan({ livenessProbe: { httpGet: { port: 80, host: 'example' } } }), `${f}.livenessProbe.httpGet.host`, /not an IP address/);
  fieldError(() => plan({ livenessProbe: { exec: { command: [] } } }), `${f}.livenessProbe.exec.command`, /needs a command/);
  fieldError(() => plan({ livenessProbe: { exec: { command: ['true'] }, periodSeconds: 0 } }), `${f}.livenessProbe.periodSeconds`, /1 or more/);
  fieldError(() => plan({ livenessProbe: { exec: { command: ['true'] }, successThreshold: 2 } }), `${f}.livenessProbe.successThreshold`, /must be 1/);
  fieldError(() => plan({ readinessProbe: { exec: { command: ['true'] }, terminationGracePeriodSeconds: 3 } }), `${f}.readinessProbe.terminationGracePeriodSeconds`, /not allowed/);
  fieldError(() => plan({ readinessProbe: { exec: { command: ['true'] }, timeoutSeconds: 1.5 } }), `${f}.readinessProbe.timeoutSeconds`, /whole number/);
  fieldError(() => plan({ readinessProbe: { httpGet: { port: 80, httpHeaders: [{ name: 'X', value: 'a\r\nB: c' }] } } }), `${f}.readinessProbe.httpGet.httpHeaders[0].value`, /line breaks/);
  fieldError(() => plan({ lifecycle: { preStop: { tcpSocket: { port: 80 } } } }), `${f}.lifecycle.preStop.tcpSocket`, /not supported as a lifecycle handler/);
  fieldError(() => plan({ lifecycle: { postStart: {} } }), `${f}.lifecycle.postStart`, /must specify a handler type/);
  fieldError(() => plan({ readinessProbe: { sleep: { seconds: 1 } } as never }), `${f}.readinessProbe.sleep`, /only a lifecycle handler/);
  fieldError(() => plan({ lifecycle: { stopSignal: 'SIGNOPE' } }), `${f}.lifecycle.stopSignal`, /unknown signal/);
  fieldError(() => plan({ readinessProbe: { exec: { command: ['true'] } } }, { init: true }), 'spec.initContainers[0].readinessProbe', /init containers/);
});

test('minipod plan prints probes and hooks', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'demo', namespace: 'default' },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'busybox',
          ports: [{ name: 'http', containerPort: 80 }],
          readinessProbe: { httpGet: { port: 'http', path: '/ok' }, periodSeconds: 2 },
          livenessProbe: { exec: { command: ['test', '-f', '/tmp/alive'] } },
          lifecycle: { preStop: { sleep: { seconds: 2 } } },
        },
      ],
    },
  } as unknown as Pod;
  const p = buildPodPlan({ pod, uid: 'u', hostname: 'demo', dirs: { run: '/r', lib: '/l' }, images: new Map([['web', image]]), pauseBinary: '/pause' });
  const text = describePlan(p);
  assert.match(text, /readiness probe: httpGet http:\/\/<pod IP>:80\/ok every 2s, timeout 1s, initial delay 0s, success 1, failure 3/);
  assert.match(text, /liveness probe: exec \["test","-f","\/tmp\/alive"\] in the container every 10s/);
  assert.match(text, /preStop hook: sleep 2s/);
});
