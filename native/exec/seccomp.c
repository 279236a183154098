/* A process plan's "seccomp" section compiled into a BPF program, in the spawner (never in
 * the cloned child, which runs raw system calls only): libseccomp builds the filter for
 * this architecture only, the program is exported into memory, and the child loads it with
 * seccomp(2) right before execve. A system call name libseccomp does not know on this
 * architecture is skipped: the profile is written for several. A rule whose action is the
 * default's is left out.
 *
 * Only the native ABI: a process that makes a system call through another (int 0x80 on
 * x86_64, x32) is killed, libseccomp's default for a foreign architecture. moby's profile
 * lets the 32-bit and x32 ABIs through too; here that makes the filter three times as long
 * and its compilation ten times as slow (15 ms against 1.6 ms for RuntimeDefault), at every
 * container start. 32-bit binaries therefore do not run under a filter.
 *
 * A compiled program is kept per profile (by a hash of its plan) for the spawner's life: a
 * pod's containers, their restarts and exec'd processes share one compilation.
 *
 *   {"defaultAction": ACTION, "rules": [{"names": [...], "action": ACTION,
 *     "args": [{"index": 0-5, "op": "eq|ne|lt|le|gt|ge|masked_eq", "value": N, "valueTwo": N}]}]}
 *   ACTION: {"action": "allow" | "errno" (with "errno": N) | "kill" | "log"} */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seccomp-plan.h"

static int action_of(const struct mp_json *a, uint32_t *out) {
  const char *k = mp_json_str(a, "action", "");
  if (!strcmp(k, "allow")) *out = SCMP_ACT_ALLOW;
  else if (!strcmp(k, "kill")) *out = SCMP_ACT_KILL_PROCESS;
  else if (!strcmp(k, "log")) *out = SCMP_ACT_LOG;
  else if (!strcmp(k, "errno")) {
    double e = mp_json_num(a, "errno", -1);
    if (e < 0 || e > 4095 || e != (double)(int)e) return -1;
    *out = SCMP_ACT_ERRNO((uint32_t)e);
  } else return -1;
  return 0;
}

static int op_of(const char *s, enum scmp_compare *out) {
  static const struct { const char *n; enum scmp_compare c; } ops[] = {
      {"eq", SCMP_CMP_EQ}, {"ne", SCMP_CMP_NE}, {"lt", SCMP_CMP_LT}, {"le", SCMP_CMP_LE},
      {"gt", SCMP_CMP_GT}, {"ge", SCMP_CMP_GE}, {"masked_eq", SCMP_CMP_MASKED_EQ}};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (!strcmp(s, ops[i].n)) { *out = ops[i].c; return 0; }
  return -1;
}

/* FNV-1a over the structure of a JSON value: types, keys, strings, numbers. */
static uint64_t hash_node(const struct mp_json *j, uint64_t h) {
#define MIX(p, len) for (size_t _i = 0; _i < (len); _i++) { h ^= ((const unsigned char *)(p))[_i]; h *= 1099511628211ULL; }
  if (!j) return h;
  unsigned char t = (unsigned char)j->type;
  MIX(&t, 1);
  if (j->key) MIX(j->key, strlen(j->key) + 1);
  if (j->type == MP_JSTR) MIX(j->str, j->len + 1);
  if (j->type == MP_JNUM) MIX(&j->num, sizeof j->num);
  if (j->type == MP_JBOOL) MIX(&j->boolean, sizeof j->boolean);
  for (const struct mp_json *c = j->child; c; c = c->next) h = hash_node(c, h);
  t = 0xff;
  MIX(&t, 1);
  return h;
#undef MIX
}

static struct { uint64_t hash; struct sock_fprog prog; } cache[8];
static int ncache;

static int copy_prog(const struct sock_fprog *from, struct sock_fprog *to) {
  to->len = from->len;
  to->filter = malloc(from->len * sizeof(struct sock_filter));
  if (!to->filter) return -1;
  memcpy(to->filter, from->filter, from->len * sizeof(struct sock_filter));
  return 0;
}

static int compile(const struct mp_json *sc, struct sock_fprog *out, char *err, size_t n);

int mp_seccomp_compile(const struct mp_json *sc, struct sock_fprog *out, char *err, size_t n) {
  uint64_t h = hash_node(sc, 14695981039346656037ULL);
  for (int i = 0; i < ncache; i++)
    if (cache[i].hash == h) return copy_prog(&cache[i].prog, out) < 0 ? (snprintf(err, n, "seccomp: out of memory"), -1) : 0;
  if (compile(sc, out, err, n) < 0) return -1;
  int slot;
  if (ncache < 8) {
    slot = ncache++;
  } else {
    slot = (int)(h % 8); /* full: replace one */
    free(cache[slot].prog.filter);
  }
  cache[slot].hash = h;
  if (copy_prog(out, &cache[slot].prog) < 0) cache[slot].hash = 0;
  return 0;
}

static int compile(const struct mp_json *sc, struct sock_fprog *out, char *err, size_t n) {
  out->len = 0;
  out->filter = NULL;
  uint32_t dflt;
  if (!sc || sc->type != MP_JOBJ || action_of(mp_json_get(sc, "defaultAction"), &dflt) < 0) {
    snprintf(err, n, "seccomp: needs a defaultAction");
    return -1;
  }
  scmp_filter_ctx ctx = seccomp_init(dflt);
  if (!ctx) { snprintf(err, n, "seccomp_init: out of memory"); return -1; }
  int rc = -1, fd = -1;
  /* The child sets no_new_privs itself when the plan says so; libseccomp must not. */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  /* A binary tree of the syscall numbers, not a list: the kernel evaluates the program once
   * per syscall number when it is loaded (its always-allowed cache), so a list of ~350
   * entries made loading cost 0.6 ms per container; the tree halves that (bench/spawn-overhead.ts). */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  const struct mp_json *rules = mp_json_get(sc, "rules");
  int ri = 0;
  for (const struct mp_json *r = rules && rules->type == MP_JARR ? rules->child : NULL; r; r = r->next, ri++) {
    uint32_t act;
    if (action_of(mp_json_get(r, "action"), &act) < 0) { snprintf(err, n, "seccomp: rules[%d]: bad action", ri); goto out; }
    if (act == dflt) continue;
    struct scmp_arg_cmp args[6];
    unsigned nargs = 0;
    const struct mp_json *al = mp_json_get(r, "args");
    for (const struct mp_json *a = al && al->type == MP_JARR ? al->child : NULL; a; a = a->next) {
      enum scmp_compare op;
      double idx = mp_json_num(a, "index", -1);
      if (nargs == 6 || idx < 0 || idx > 5 || op_of(mp_json_str(a, "op", ""), &op) < 0) { snprintf(err, n, "seccomp: rules[%d]: bad args", ri); goto out; }
      args[nargs].arg = (unsigned)idx;
      args[nargs].op = op;
      args[nargs].datum_a = (scmp_datum_t)mp_json_num(a, "value", 0);
      args[nargs].datum_b = (scmp_datum_t)mp_json_num(a, "valueTwo", 0);
      nargs++;
    }
    const struct mp_json *names = mp_json_get(r, "names");
    for (const struct mp_json *nm = names && names->type == MP_JARR ? names->child : NULL; nm; nm = nm->next) {
      if (nm->type != MP_JSTR) continue;
      int nr = seccomp_syscall_resolve_name(nm->str);
      if (nr == __NR_SCMP_ERROR) continue; /* not a system call of this architecture */
      int e = seccomp_rule_add_array(ctx, act, nr, nargs, args);
      if (e < 0 && e != -EEXIST) {
        snprintf(err, n, "seccomp: rules[%d]: %s: %s", ri, nm->str, strerror(-e));
        goto out;
      }
    }
  }
  fd = memfd_create("minipod-seccomp", MFD_CLOEXEC);
  struct stat st;
  if (fd < 0 || seccomp_export_bpf(ctx, fd) < 0 || fstat(fd, &st) < 0 || st.st_size <= 0) {
    snprintf(err, n, "seccomp: exporting the filter: %s", strerror(errno));
    goto out;
  }
  out->filter = malloc((size_t)st.st_size);
  if (!out->filter || pread(fd, out->filter, (size_t)st.st_size, 0) != st.st_size) {
    free(out->filter);
    out->filter = NULL;
    snprintf(err, n, "seccomp: reading the filter back: %s", strerror(errno));
    goto out;
  }
  out->len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
  rc = 0;
out:
  if (fd >= 0) close(fd);
  seccomp_release(ctx);
  return rc;
}
