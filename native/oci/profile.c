/* linux.seccomp of a config.json (the OCI / docker profile JSON) -> the executor's filter
 * (native/exec/seccomp.c reads it): the actions and comparisons libseccomp has, names of
 * system calls only; includes/excludes (docker's per-arch and per-capability rules) are
 * refused rather than guessed at. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "create.h"

/* linux.seccomp (OCI / docker profile JSON) -> the executor's filter (native/exec/seccomp.c). */
static int seccomp_action(struct jw *w, const char *a, const struct mp_json *errno_ret, const char *where, struct oci_err *e) {
  if (!a) a = "";
  if (!strcmp(a, "SCMP_ACT_ALLOW")) JW_LIT(w, "{\"action\":\"allow\"}");
  else if (!strcmp(a, "SCMP_ACT_ERRNO")) jw_putf(w, "{\"action\":\"errno\",\"errno\":%d}", errno_ret && errno_ret->type == MP_JNUM ? (int)errno_ret->num : 1);
  else if (!strcmp(a, "SCMP_ACT_KILL") || !strcmp(a, "SCMP_ACT_KILL_PROCESS") || !strcmp(a, "SCMP_ACT_KILL_THREAD")) JW_LIT(w, "{\"action\":\"kill\"}");
  else if (!strcmp(a, "SCMP_ACT_LOG")) JW_LIT(w, "{\"action\":\"log\"}");
  else return oci_fail(e, "config.json linux.seccomp: %s: action \"%s\" is not one of SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_LOG", where, a);
  return 0;
}

int oci_translate_seccomp(const struct mp_json *sc, struct jw *w, struct oci_err *e) {
  static const char *const OPS[][2] = {{"SCMP_CMP_EQ", "eq"}, {"SCMP_CMP_NE", "ne"}, {"SCMP_CMP_LT", "lt"}, {"SCMP_CMP_LE", "le"}, {"SCMP_CMP_GT", "gt"}, {"SCMP_CMP_GE", "ge"}, {"SCMP_CMP_MASKED_EQ", "masked_eq"}};
  jw_key(w, "seccomp");
  JW_LIT(w, "{\"profile\":\"config.json\",\"defaultAction\":");
  if (seccomp_action(w, mp_json_str(sc, "defaultAction", NULL), mp_json_get(sc, "defaultErrnoRet"), "defaultAction", e) < 0) return -1;
  JW_LIT(w, ",\"rules\":[");
  const struct mp_json *calls = mp_json_get(sc, "syscalls");
  int i = 0;
  for (const struct mp_json *s = calls && calls->type == MP_JARR ? calls->child : NULL; s; s = s->next, i++) {
    char where[32];
    snprintf(where, sizeof(where), "syscalls[%d]", i);
    if (mp_json_get(s, "includes") || mp_json_get(s, "excludes")) return oci_fail(e, "config.json linux.seccomp: %s: includes/excludes are not supported; write the rules the container gets", where);
    const struct mp_json *names = mp_json_get(s, "names"), *name = mp_json_get(s, "name");
    int n = 0, ok = 1;
    for (const struct mp_json *x = names && names->type == MP_JARR ? names->child : NULL; x; x = x->next, n++)
      ok &= x->type == MP_JSTR && x->len > 0 && strspn(x->str, "abcdefghijklmnopqrstuvwxyz0123456789_") == x->len;
    if (!names && name && name->type == MP_JSTR && name->len && strspn(name->str, "abcdefghijklmnopqrstuvwxyz0123456789_") == name->len) n = 1;
    if (!n || !ok) return oci_fail(e, "config.json linux.seccomp: %s: needs names of system calls", where);
    if (i) JW_LIT(w, ",");
    JW_LIT(w, "{\"names\":");
    if (names) jw_node(w, names);
    else { JW_LIT(w, "["); jw_str(w, name->str); JW_LIT(w, "]"); }
    JW_LIT(w, ",\"action\":");
    if (seccomp_action(w, mp_json_str(s, "action", NULL), mp_json_get(s, "errnoRet"), where, e) < 0) return -1;
    const struct mp_json *args = mp_json_get(s, "args");
    if (args && args->type == MP_JARR && args->len) {
      JW_LIT(w, ",\"args\":[");
      int k = 0;
      for (const struct mp_json *a = args->child; a; a = a->next, k++) {
        const struct mp_json *idx = mp_json_get(a, "index"), *val = mp_json_get(a, "value"), *two = mp_json_get(a, "valueTwo");
        const char *op = mp_json_str(a, "op", ""), *mapped = NULL;
        for (int q = 0; q < 7; q++)
          if (!strcmp(OPS[q][0], op)) mapped = OPS[q][1];
        if (!mapped || !idx || idx->type != MP_JNUM || idx->num < 0 || idx->num > 5 || idx->num != (int)idx->num || !val || val->type != MP_JNUM)
          return oci_fail(e, "config.json linux.seccomp: %s.args[%d]: needs index 0..5, value and op (SCMP_CMP_EQ, SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_GT, SCMP_CMP_GE, SCMP_CMP_MASKED_EQ)", where, k);
        if (k) JW_LIT(w, ",");
        jw_putf(w, "{\"index\":%d,\"op\":\"%s\",\"value\":", (int)idx->num, mapped);
        oci_jnum(w, val->num);
        if (two && two->type == MP_JNUM) { JW_LIT(w, ",\"valueTwo\":"); oci_jnum(w, two->num); }
        JW_LIT(w, "}");
      }
      JW_LIT(w, "]");
    }
    JW_LIT(w, "}");
  }
  JW_LIT(w, "]}");
  return 0;
}
