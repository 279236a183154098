import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ImageRefError, canonicalImageRef, lookupCandidates, parseImageRef } from '../../src/image/ref.ts';

const SHA = 'a'.repeat(64);

describe('parseImageRef', () => {
  const ok: [string, { name: string; domain?: string; path: string; tag?: string; digest?: string; canonical: string }][] = [
    ['busybox', { name: 'busybox', path: 'busybox', canonical: 'busybox:latest' }],
    ['busybox:1.36', { name: 'busybox', path: 'busybox', tag: '1.36', canonical: 'busybox:1.36' }],
    ['localhost/busybox', { name: 'localhost/busybox', domain: 'localhost', path: 'busybox', canonical: 'localhost/busybox:latest' }],
    ['registry.k8s.io/pause:3.10', { name: 'registry.k8s.io/pause', domain: 'registry.k8s.io', path: 'pause', tag: '3.10', canonical: 'registry.k8s.io/pause:3.10' }],
    ['localhost:5000/team/app:v1', { name: 'localhost:5000/team/app', domain: 'localhost:5000', path: 'team/app', tag: 'v1', canonical: 'localhost:5000/team/app:v1' }],
    ['[::1]:5000/app', { name: '[::1]:5000/app', domain: '[::1]:5000', path: 'app', canonical: '[::1]:5000/app:latest' }],
    ['library/busybox', { name: 'library/busybox', path: 'library/busybox', canonical: 'library/busybox:latest' }],
    ['my_org/my-app__x.y', { name: 'my_org/my-app__x.y', path: 'my_org/my-app__x.y', canonical: 'my_org/my-app__x.y:latest' }],
    [`busybox@sha256:${SHA}`, { name: 'busybox', path: 'busybox', digest: `sha256:${SHA}`, canonical: `busybox@sha256:${SHA}` }],
    [`busybox:1.36@sha256:${SHA}`, { name: 'busybox', path: 'busybox', tag: '1.36', digest: `sha256:${SHA}`, canonical: `busybox:1.36@sha256:${SHA}` }],
    [`x@sha512:${'0'.repeat(128)}`, { name: 'x', path: 'x', digest: `sha512:${'0'.repeat(128)}`, canonical: `x@sha512:${'0'.repeat(128)}` }],
    ['Registry.Example.COM/app', { name: 'Registry.Example.COM/app', domain: 'Registry.Example.COM', path: 'app', canonical: 'Registry.Example.COM/app:latest' }],
    ['a:' + 'T'.repeat(128), { name: 'a', path: 'a', tag: 'T'.repeat(128), canonical: 'a:' + 'T'.repeat(128) }],
  ];
  for (const [input, want] of ok) {
    test(`accepts ${input.length > 40 ? input.slice(0, 40) + '...' : input}`, () => {
      assert.deepEqual({ ...parseImageRef(input) }, want);
    });
  }

  const bad: [string, RegExp][] = [
    ['', /empty reference/],
    ['Busybox', /repository name must be lowercase/],
    ['library/BusyBox:1', /repository name must be lowercase/],
    ['busybox:', /empty tag/],
    ['busybox:-x', /tag "-x" may only contain/],
    ['busybox:a+b', /tag "a\+b" may only contain/],
    ['busybox:' + 'a'.repeat(129), /tag is longer than 128 characters/],
    ['foo//bar', /empty path component/],
    ['foo/', /empty path component/],
    ['/foo', /empty path component/],
    ['localhost/', /empty path component/],
    ['foo/-bar', /path component "-bar"/],
    ['foo/bar.', /path component "bar\."/],
    ['foo/a___b', /path component "a___b"/],
    ['a b', /contains the character " "/],
    ['busybox@sha256:abc', /sha256 digest must have 64 hex digits, not 3/],
    [`busybox@sha256:${'A'.repeat(64)}`, /lowercase hexadecimal/],
    [`busybox@md5:${'a'.repeat(32)}`, /unsupported digest algorithm "md5"/],
    ['busybox@', /digest must look like/],
    ['bad_host.example/app', /registry "bad_host.example" is not a valid host name/],
    ['localhost:port/app', /registry port "port" is not a number/],
    ['x'.repeat(256), /longer than 255 characters/],
  ];
  for (const [input, re] of bad) {
    test(`rejects ${JSON.stringify(input.length > 40 ? input.slice(0, 40) + '...' : input)}`, () => {
      assert.throws(
        () => parseImageRef(input),
        (err: unknown) => {
          assert.ok(err instanceof ImageRefError, 'an ImageRefError');
          assert.equal(err.code, 'ERR_IMAGE_REF');
          assert.equal(err.ref, input);
          assert.match(err.message, re);
          assert.ok(err.message.startsWith(`invalid image reference ${JSON.stringify(input)}: `), err.message);
          return true;
        },
      );
    });
  }

  test('canonicalImageRef', () => {
    assert.equal(canonicalImageRef('busybox'), 'busybox:latest');
    assert.equal(canonicalImageRef('docker.io/library/busybox'), 'docker.io/library/busybox:latest');
  });
});

describe('lookupCandidates', () => {
  test('a bare name tries itself, then localhost/ and docker.io/library/', () => {
    assert.deepEqual(lookupCandidates('busybox'), ['busybox:latest', 'localhost/busybox:latest', 'docker.io/library/busybox:latest']);
  });
  test('tags and digests carry over unchanged', () => {
    assert.deepEqual(lookupCandidates('busybox:1.36'), ['busybox:1.36', 'localhost/busybox:1.36', 'docker.io/library/busybox:1.36']);
    assert.deepEqual(lookupCandidates(`busybox@sha256:${SHA}`), [`busybox@sha256:${SHA}`, `localhost/busybox@sha256:${SHA}`, `docker.io/library/busybox@sha256:${SHA}`]);
  });
  test('docker.io spellings reach the bare and localhost names', () => {
    const want = ['busybox:latest', 'localhost/busybox:latest', 'docker.io/library/busybox:latest'];
    assert.deepEqual(lookupCandidates('docker.io/library/busybox'), ['docker.io/library/busybox:latest', ...want.slice(0, 2)]);
    assert.deepEqual(lookupCandidates('docker.io/busybox'), ['docker.io/busybox:latest', ...want]);
    assert.deepEqual(lookupCandidates('index.docker.io/library/busybox'), ['index.docker.io/library/busybox:latest', ...want]);
    assert.deepEqual(lookupCandidates('library/busybox'), ['library/busybox:latest', ...want]);
  });
  test('localhost/ reaches the bare name', () => {
    assert.deepEqual(lookupCandidates('localhost/busybox'), ['localhost/busybox:latest', 'busybox:latest', 'docker.io/library/busybox:latest']);
  });
  test('two-component paths use docker.io/<user>/<repo>', () => {
    assert.deepEqual(lookupCandidates('team/app:v1'), ['team/app:v1', 'localhost/team/app:v1', 'docker.io/team/app:v1']);
  });
  test('other registries match only exactly', () => {
    assert.deepEqual(lookupCandidates('registry.k8s.io/pause:3.10'), ['registry.k8s.io/pause:3.10']);
    assert.deepEqual(lookupCandidates('localhost:5000/app'), ['localhost:5000/app:latest']);
  });
  test('invalid references throw', () => {
    assert.throws(() => lookupCandidates('UPPER'), ImageRefError);
  });
});
