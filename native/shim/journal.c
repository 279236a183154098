/* The journal of a pod's host changes, as state.json keeps it:
 *
 *   "journal": [{"op": "lease", "file": F, "uid": U}, {"op": "umount", "path": P},
 *               {"op": "link", "name": VETH}, {"op": "nft", "what": W, "script": S}, ...]
 *
 * Each entry is the inverse of one change, appended before the change is made (by
 * TypeScript until the supervisor starts, by the supervisor from then on), so the list
 * always covers at least what was done. unwind.c undoes it last entry first; every undo
 * tolerates a change that never happened. The decoder fails closed: the file is read as
 * root, and an entry it does not understand stops the unwind rather than being skipped. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

static const char *const names[] = {"umount", "link", "lease", "nft", "cgroup"};

const char *journal_op_name(enum jop_kind k) {
  return names[k];
}

void journal_free(struct journal *j) {
  for (int i = 0; i < j->n; i++) {
    free(j->v[i].a);
    free(j->v[i].b);
  }
  free(j->v);
  j->v = NULL;
  j->n = j->cap = 0;
}

int journal_add(struct journal *j, enum jop_kind kind, const char *a, const char *b) {
  if (j->n == j->cap) {
    int cap = j->cap ? j->cap * 2 : 16;
    struct jop *v = realloc(j->v, (size_t)cap * sizeof *v);
    if (!v) return -1;
    j->v = v;
    j->cap = cap;
  }
  struct jop *o = &j->v[j->n];
  o->kind = kind;
  o->a = strdup(a);
  o->b = b ? strdup(b) : NULL;
  if (!o->a || (b && !o->b)) {
    free(o->a);
    free(o->b);
    return -1;
  }
  j->n++;
  return 0;
}

/* A path the journal may name: absolute, no "..", no newline. */
static int sane_path(const char *s) {
  if (!s || s[0] != '/' || strchr(s, '\n')) return 0;
  for (const char *c = s; (c = strstr(c, "..")); c += 2)
    if ((c == s || c[-1] == '/') && (c[2] == 0 || c[2] == '/')) return 0;
  return 1;
}

int journal_decode(const struct mp_json *arr, struct journal *j, char *err, size_t n) {
  j->n = 0;
  if (!arr) return 0;
  if (arr->type != MP_JARR) { snprintf(err, n, "journal must be an array"); return -1; }
  int i = 0;
  for (const struct mp_json *e = arr->child; e; e = e->next, i++) {
    const char *op = e->type == MP_JOBJ ? mp_json_str(e, "op", "") : "";
    int rc = -1;
    const char *why = "unknown op";
    if (!strcmp(op, "umount")) {
      const char *p = mp_json_str(e, "path", NULL);
      why = "umount needs an absolute \"path\"";
      if (sane_path(p)) rc = journal_add(j, J_UMOUNT, p, NULL);
    } else if (!strcmp(op, "link")) {
      const char *l = mp_json_str(e, "name", NULL);
      why = "link needs an interface \"name\"";
      if (l && *l && strlen(l) < 16 && !strchr(l, '/')) rc = journal_add(j, J_LINK, l, NULL);
    } else if (!strcmp(op, "lease")) {
      const char *f = mp_json_str(e, "file", NULL), *u = mp_json_str(e, "uid", NULL);
      why = "lease needs an absolute \"file\" and a \"uid\"";
      if (sane_path(f) && u && *u) rc = journal_add(j, J_LEASE, f, u);
    } else if (!strcmp(op, "cgroup")) {
      const char *p = mp_json_str(e, "path", NULL);
      why = "cgroup needs an absolute \"path\"";
      if (sane_path(p)) rc = journal_add(j, J_CGROUP, p, NULL);
    } else if (!strcmp(op, "nft")) {
      const char *s = mp_json_str(e, "script", NULL), *w = mp_json_str(e, "what", "firewall elements");
      why = "nft needs a \"script\"";
      if (s && *s) rc = journal_add(j, J_NFT, s, w);
    }
    if (rc < 0) {
      snprintf(err, n, "journal[%d]: %s", i, why);
      return -1;
    }
  }
  return 0;
}

void journal_emit(struct jw *w, const struct journal *j) {
  jw_put(w, "[", 1);
  for (int i = 0; i < j->n; i++) {
    const struct jop *o = &j->v[i];
    if (i) jw_put(w, ",", 1);
    jw_put(w, "{", 1);
    jw_key(w, "op");
    jw_str(w, names[o->kind]);
    switch (o->kind) {
      case J_UMOUNT:
      case J_CGROUP: jw_key(w, "path"); jw_str(w, o->a); break;
      case J_LINK: jw_key(w, "name"); jw_str(w, o->a); break;
      case J_LEASE: jw_key(w, "file"); jw_str(w, o->a); jw_key(w, "uid"); jw_str(w, o->b); break;
      case J_NFT: jw_key(w, "what"); jw_str(w, o->b); jw_key(w, "script"); jw_str(w, o->a); break;
    }
    jw_put(w, "}", 1);
  }
  jw_put(w, "]", 1);
}
