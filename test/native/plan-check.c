/* A test driver for the executor's plan decoder and failure formatter, built by
 * test/unit/native-plan.test.ts with the C compiler (no root needed):
 *   plan-check decode    < PLAN.json   -> "ok" or "error: <message>"   (exit 0 / 1)
 *   plan-check describe STEP SYSCALL ERRNO PATH DEST DETAIL  -> the one-line description
 *   plan-check hostops   < OPS.json   -> "ok N" or "error: <message>"  (the host operations)
 *   plan-check hostops-run < OPS.json -> runs them here (root, in a fresh network namespace):
 *                                        "ok N" or "failed: <the executor's one-line report>"
 * "@pause/..." namespace references resolve to pid 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "describe.h"
#include "json.h"
#include "plan.h"
#include "../net/hostops.h"
#include "../net/nl.h"

static int resolve(void *ctx, const char *who) {
  (void)ctx;
  return strcmp(who, "pause") == 0 ? 1 : -1;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "describe") && argc == 8) {
    struct mp_error e;
    memset(&e, 0, sizeof(e));
    snprintf(e.step, sizeof(e.step), "%s", argv[2]);
    snprintf(e.syscall, sizeof(e.syscall), "%s", argv[3]);
    e.err = atoi(argv[4]);
    snprintf(e.path, sizeof(e.path), "%s", argv[5]);
    snprintf(e.dest, sizeof(e.dest), "%s", argv[6]);
    snprintf(e.detail, sizeof(e.detail), "%s", argv[7]);
    char buf[4096];
    mp_describe(&e, buf, sizeof(buf));
    puts(buf);
    return 0;
  }
  if (argc == 2 && (!strcmp(argv[1], "hostops") || !strcmp(argv[1], "hostops-run"))) {
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof(text), stdin);
    struct mp_arena a = {0};
    char err[512];
    struct mp_json *j = mp_json_parse(&a, text, n, err, sizeof(err));
    struct mp_hostops h;
    if (!j || mp_hostops_decode(&a, j, &h, err, sizeof(err)) < 0) {
      printf("error: %s\n", err);
      return 1;
    }
    if (!strcmp(argv[1], "hostops-run")) {
      /* Walks them in this process's network namespace (the caller makes a fresh one):
       * "host" and "pod" ops share one socket; the veth peer stays here. */
      int nl = mp_nl_open();
      struct mp_error e;
      memset(&e, 0, sizeof(e));
      if (nl < 0 || mp_hostops_run(&h, nl, nl, -1, &e) < 0) {
        char buf[1024];
        mp_describe(&e, buf, sizeof(buf));
        printf("failed: %s\n", buf);
        return 1;
      }
    }
    printf("ok %d\n", h.n);
    return 0;
  }
  if (argc != 2 || strcmp(argv[1], "decode")) {
    fprintf(stderr, "usage: plan-check decode < plan.json | plan-check describe STEP SYSCALL ERRNO PATH DEST DETAIL\n");
    return 2;
  }
  static char text[1 << 20];
  size_t n = fread(text, 1, sizeof(text), stdin);
  struct mp_arena a = {0};
  char err[512];
  struct mp_json *j = mp_json_parse(&a, text, n, err, sizeof(err));
  struct mp_proc p;
  if (!j || mp_plan_decode(&a, j, &p, resolve, NULL, err, sizeof(err)) < 0) {
    printf("error: %s\n", err);
    return 1;
  }
  printf("ok uid=%u gid=%u caps=%llx keepall=%d", (unsigned)p.uid, (unsigned)p.gid, p.caps, p.keep_all_caps);
  for (int i = 0; i < p.nmounts; i++)
    if (p.mounts[i].kind == MP_M_ROOTFS_OVERLAY) printf(" lower=%s", p.mounts[i].lower);
  printf("\n");
  return 0;
}
