/* Device control on cgroup v2: a BPF_CGROUP_DEVICE program, built from the plan's allow
 * list ("c 1:3 rwm", "b *:* m", "c 136:* rwm": type, major, minor, access), attached to a
 * container's cgroup, as runc and crun do (v2 has no devices.allow file). The kernel runs it
 * on every open and mknod of a device node by a process of that cgroup: it returns 1 (allow)
 * when one rule matches the node's type and numbers and grants every access asked for,
 * else 0 (EPERM). The program is a straight list of comparisons, no maps, no helpers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

struct rule {
  int type;     /* BPF_DEVCG_DEV_CHAR / _BLOCK, 0: any */
  long major;   /* -1: any */
  long minor;
  int access;   /* BPF_DEVCG_ACC_* bits */
};

/* "c 1:3 rwm", "b *:* m", "a" (all). 0, or -1 when it is not one. */
static int parse_rule(const char *s, struct rule *r) {
  memset(r, 0, sizeof *r);
  if (!strcmp(s, "a")) {
    r->major = r->minor = -1;
    r->access = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
    return 0;
  }
  char t, maj[16], min[16], acc[8];
  if (sscanf(s, "%c %15[0-9*]:%15[0-9*] %7s", &t, maj, min, acc) != 4) return -1;
  if (t == 'c') r->type = BPF_DEVCG_DEV_CHAR;
  else if (t == 'b') r->type = BPF_DEVCG_DEV_BLOCK;
  else if (t != 'a') return -1;
  r->major = !strcmp(maj, "*") ? -1 : strtol(maj, NULL, 10);
  r->minor = !strcmp(min, "*") ? -1 : strtol(min, NULL, 10);
  for (const char *c = acc; *c; c++) {
    if (*c == 'r') r->access |= BPF_DEVCG_ACC_READ;
    else if (*c == 'w') r->access |= BPF_DEVCG_ACC_WRITE;
    else if (*c == 'm') r->access |= BPF_DEVCG_ACC_MKNOD;
    else return -1;
  }
  return r->access ? 0 : -1;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

/* The program for rules; n instructions into out (room for 8 + 9 per rule). */
static int build(const struct rule *rules, int nr, struct bpf_insn *out) {
  int n = 0;
  /* r2 = ctx->access_type; r3 = type (low 16 bits); r4 = access (high 16); r5 = major; r6 = minor */
  out[n++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);
  out[n++] = INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0);
  out[n++] = INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_3, 0, 0, 0xffff);
  out[n++] = INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_2, 0, 0);
  out[n++] = INSN(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_4, 0, 0, 16);
  out[n++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 4, 0);
  out[n++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_6, BPF_REG_1, 8, 0);
  for (int i = 0; i < nr; i++) {
    const struct rule *r = &rules[i];
    struct bpf_insn block[9];
    int b = 0;
    if (r->type) block[b++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_3, 0, 0, r->type);
    if (r->access != (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)) {
      /* every access asked for must be granted: (asked & ~granted) == 0 */
      block[b++] = INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_7, BPF_REG_4, 0, 0);
      block[b++] = INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_7, 0, 0, ~r->access & 0xffff);
      block[b++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_7, 0, 0, 0);
    }
    if (r->major >= 0) block[b++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int)r->major);
    if (r->minor >= 0) block[b++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_6, 0, 0, (int)r->minor);
    block[b++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
    block[b++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    /* each failed comparison jumps past the rest of the block: to the next rule */
    for (int k = 0; k < b; k++) {
      if (BPF_CLASS(block[k].code) == BPF_JMP && BPF_OP(block[k].code) == BPF_JNE) block[k].off = (short)(b - k - 1);
      out[n++] = block[k];
    }
  }
  out[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
  out[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  return n;
}

int cgroup_devices_attach(const char *dir, const struct mp_json *list, char *err, size_t errlen) {
  int nr = list && list->type == MP_JARR ? (int)list->len : 0;
  struct rule *rules = calloc((size_t)(nr ? nr : 1), sizeof *rules);
  struct bpf_insn *insns = calloc((size_t)(8 + 9 * nr + 2), sizeof *insns);
  int rc = -1, prog = -1, cg = -1, i = 0;
  if (!rules || !insns) { snprintf(err, errlen, "out of memory"); goto out; }
  for (const struct mp_json *e = list ? list->child : NULL; e; e = e->next, i++) {
    if (e->type != MP_JSTR || parse_rule(e->str, &rules[i]) < 0) {
      snprintf(err, errlen, "devices[%d]: not a device rule (\"c 1:3 rwm\")", i);
      goto out;
    }
  }
  int n = build(rules, nr, insns);
  char log[4096] = "";
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = (unsigned long)insns;
  a.insn_cnt = (unsigned)n;
  a.license = (unsigned long)"Apache-2.0";
  prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
  if (prog < 0) {
    /* Again with the verifier's log, for the message (a log that does not fit is ENOSPC). */
    int e = errno;
    a.log_buf = (unsigned long)log;
    a.log_size = sizeof log;
    a.log_level = 1;
    if (syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a) < 0 && errno == ENOSPC) log[0] = 0;
    errno = e;
    snprintf(err, errlen, "bpf(BPF_PROG_LOAD): %s%s%.300s", strerror(errno), log[0] ? ": " : "", log);
    goto out;
  }
  if ((cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) { snprintf(err, errlen, "open %s: %s", dir, strerror(errno)); goto out; }
  memset(&a, 0, sizeof a);
  a.target_fd = (unsigned)cg;
  a.attach_bpf_fd = (unsigned)prog;
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  if (syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof a) < 0) { snprintf(err, errlen, "bpf(BPF_PROG_ATTACH) %s: %s", dir, strerror(errno)); goto out; }
  rc = 0; /* attached, it lives with the cgroup: our fds can go */
out:
  if (prog >= 0) close(prog);
  if (cg >= 0) close(cg);
  free(rules);
  free(insns);
  return rc;
}
