// Executor failures become one message shape with Node's SystemError fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SpawnError, describeFailure, fromNative } from '../../src/errors.ts';

test('a bind failure names the mount, both paths and the errno by name and text', () => {
  const e = new SpawnError({ step: 'mounts[17]:bind', syscall: 'open_tree', errno: 2, path: '/var/lib/minipod/pods/demo/volumes/x', dest: '/www' }, 'demo', 'web');
  assert.equal(e.message, 'pod "demo" container "web": mount "/var/lib/minipod/pods/demo/volumes/x" -> "/www": ENOENT (No such file or directory) [step mounts[17]:bind, open_tree]');
  assert.equal(e.code, 'ENOENT');
  assert.equal(e.errno, -2);
  assert.equal(e.syscall, 'open_tree');
  assert.equal(e.path, '/var/lib/minipod/pods/demo/volumes/x');
  assert.equal(e.dest, '/www');
  assert.equal(e.container, 'web');
});

test('a missing command says so like other runtimes', () => {
  assert.equal(describeFailure({ step: 'exec', syscall: 'execve', errno: 2, path: 'nope', detail: 'executable file not found in $PATH' }), 'exec "nope": executable file not found in $PATH (ENOENT)');
  assert.equal(describeFailure({ step: 'exec', syscall: 'execve', errno: 13, path: '/bin/x' }), 'exec "/bin/x": EACCES (Permission denied)');
});

test('namespace joins and subPath escapes read well', () => {
  assert.match(describeFailure({ step: 'namespaces[2]:join', syscall: 'setns', errno: 22, path: '/proc/1/ns/net', dest: 'net' }), /^join namespace "\/proc\/1\/ns\/net" -> "net": EINVAL/);
  assert.match(describeFailure({ step: 'mounts[20]:bind', syscall: 'openat2', errno: 18, path: 'link/passwd', dest: '/data' }), /mount "link\/passwd" -> "\/data": EXDEV/);
});

test('fromNative keeps non-system errors as they are', () => {
  const plain = new Error('boom');
  assert.equal(fromNative(plain, 'p'), plain);
  assert.ok(fromNative(Object.assign(new Error('x'), { syscall: 'mount', errno: 1 }), 'p', 'c') instanceof SpawnError);
});
