/* Fuzzing the decoders that read plans and state from disk as root: the JSON reader, the
 * process plan decoder, the host operations decoder and the journal decoder, with the
 * journal written back as the supervisor writes it, and the seccomp compiler
 * (native/exec/json.c, plan.c, seccomp.c; native/net/hostops.c; native/shim/journal.c, jw.c).
 *
 * One target, two drivers:
 *   - libFuzzer (clang -fsanitize=fuzzer,address,undefined -DMP_LIBFUZZER ...): LLVMFuzzerTestOneInput;
 *   - a standalone driver (gcc -fsanitize=address,undefined): `fuzz-decoders SEED ITERATIONS FILE...`
 *     mutates the given inputs deterministically (bit flips, byte changes, insertions,
 *     deletions, splices of two inputs, truncations, repeated brackets) and runs the target on
 *     each, so that the test suite runs the same loop on every machine.
 * Any out-of-bounds access, leak of a bounds check or undefined behaviour aborts under the
 * sanitizers; the decoders must answer every input with a plan or an error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "describe.h"
#include "json.h"
#include "plan.h"
#include "../net/hostops.h"
#include "../shim/shim.h"
#include "seccomp-plan.h"

static int resolve(void *ctx, const char *who) {
  (void)ctx;
  return strcmp(who, "pause") == 0 ? 1 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct mp_arena a = {0};
  char err[512];
  struct mp_json *j = mp_json_parse(&a, (const char *)data, size, err, sizeof err);
  if (j) {
    struct mp_proc p;
    (void)mp_plan_decode(&a, j, &p, resolve, NULL, err, sizeof err);
    struct mp_hostops h;
    (void)mp_hostops_decode(&a, j, &h, err, sizeof err);
    /* a plan.json: {pod: {pause, hostOps, ...}} */
    const struct mp_json *pod = mp_json_get(j, "pod");
    if (pod) {
      (void)mp_hostops_decode(&a, mp_json_get(pod, "hostOps"), &h, err, sizeof err);
      const struct mp_json *pause = mp_json_get(pod, "pause");
      if (pause) (void)mp_plan_decode(&a, pause, &p, resolve, NULL, err, sizeof err);
    }
    const struct mp_json *ops = mp_json_get(j, "hostOps");
    if (ops) (void)mp_hostops_decode(&a, ops, &h, err, sizeof err);
    /* a process plan's seccomp section, compiled as the spawner does */
    const struct mp_json *sc = mp_json_get(j, "seccomp");
    if (sc) {
      struct sock_fprog prog;
      if (mp_seccomp_compile(sc, &prog, err, sizeof err) == 0) free(prog.filter);
    }
    /* a state.json: {journal: [...]}, decoded, then written back and read again */
    struct journal jr = {0};
    if (journal_decode(mp_json_get(j, "journal"), &jr, err, sizeof err) == 0 && jr.n) {
      struct jw w = {0};
      journal_emit(&w, &jr);
      struct mp_arena b = {0};
      struct journal again = {0};
      struct mp_json *back = w.oom ? NULL : mp_json_parse(&b, w.b, w.len, err, sizeof err);
      if (!back || journal_decode(back, &again, err, sizeof err) < 0 || again.n != jr.n) abort(); /* what we write we must read */
      journal_free(&again);
      mp_arena_free(&b);
      free(w.b);
    }
    journal_free(&jr);
  }
  mp_arena_free(&a);
  return 0;
}

#ifndef MP_LIBFUZZER
static uint64_t rng;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static unsigned char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  static unsigned char buf[1 << 16];
  *n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  unsigned char *out = malloc(*n + 1);
  memcpy(out, buf, *n);
  return out;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: fuzz-decoders SEED ITERATIONS FILE...\n");
    return 2;
  }
  rng = strtoull(argv[1], NULL, 10) | 1;
  long iterations = strtol(argv[2], NULL, 10);
  int nseeds = argc - 3;
  unsigned char **seeds = calloc((size_t)nseeds, sizeof *seeds);
  size_t *lens = calloc((size_t)nseeds, sizeof *lens);
  for (int i = 0; i < nseeds; i++)
    if (!(seeds[i] = slurp(argv[3 + i], &lens[i]))) { perror(argv[3 + i]); return 2; }
  static const char tokens[] = "{}[]\",:0123456789-+.eEtfnul\\/ \n\x01\xff";
  const size_t cap = 1 << 17;
  unsigned char *buf = malloc(cap);
  for (long it = 0; it < iterations; it++) {
    int s = (int)(next() % (uint64_t)nseeds);
    size_t n = lens[s];
    memcpy(buf, seeds[s], n);
    int rounds = 1 + (int)(next() % 8);
    for (int r = 0; r < rounds; r++) {
      size_t at = n ? (size_t)(next() % n) : 0;
      switch (next() % 8) {
        case 0: if (n) buf[at] ^= (unsigned char)(1u << (next() % 8)); break;
        case 1: if (n) buf[at] = (unsigned char)tokens[next() % (sizeof tokens - 1)]; break;
        case 2: if (n < cap - 1) { memmove(buf + at + 1, buf + at, n - at); buf[at] = (unsigned char)tokens[next() % (sizeof tokens - 1)]; n++; } break;
        case 3: if (n) { size_t k = 1 + (size_t)(next() % 16); if (at + k > n) k = n - at; memmove(buf + at, buf + at + k, n - at - k); n -= k; } break;
        case 4: n = at; break; /* truncation */
        case 5: { /* splice: the tail of another input */
          int o = (int)(next() % (uint64_t)nseeds);
          size_t from = lens[o] ? (size_t)(next() % lens[o]) : 0, k = lens[o] - from;
          if (at + k > cap) k = cap - at;
          memcpy(buf + at, seeds[o] + from, k);
          n = at + k;
          break;
        }
        case 6: { /* deep nesting */
          size_t k = 1 + (size_t)(next() % 300);
          if (n + k < cap) { memmove(buf + at + k, buf + at, n - at); memset(buf + at, next() % 2 ? '[' : '{', k); n += k; }
          break;
        }
        default: /* a number at its limits */
          if (n + 24 < cap) { const char *big = next() % 2 ? "1e309" : "-9223372036854775809"; size_t k = strlen(big); memmove(buf + at + k, buf + at, n - at); memcpy(buf + at, big, k); n += k; }
          break;
      }
    }
    LLVMFuzzerTestOneInput(buf, n);
  }
  printf("ok %ld inputs\n", iterations);
  for (int i = 0; i < nseeds; i++) free(seeds[i]);
  free(seeds);
  free(lens);
  free(buf);
  return 0;
}
#endif
