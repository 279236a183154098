/* A growing buffer of JSON text: what state.c writes, and the verbatim copy of the parts of
 * the state file that the supervisor does not own (the host record TypeScript wrote). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

void jw_put(struct jw *w, const char *s, size_t n) {
  if (w->len + n + 1 > w->cap) {
    size_t cap = (w->cap ? w->cap : 4096);
    while (cap < w->len + n + 1) cap *= 2;
    char *b = realloc(w->b, cap);
    if (!b) { w->oom = 1; return; }
    w->b = b;
    w->cap = cap;
  }
  memcpy(w->b + w->len, s, n);
  w->len += n;
  w->b[w->len] = 0;
}

void jw_putf(struct jw *w, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n > 0) jw_put(w, tmp, (size_t)(n < (int)sizeof(tmp) ? n : (int)sizeof(tmp) - 1));
}

static void jw_strn(struct jw *w, const char *s, size_t len) {
  jw_put(w, "\"", 1);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') { jw_put(w, "\\", 1); jw_put(w, (const char *)&s[i], 1); }
    else if (c == '\n') jw_put(w, "\\n", 2);
    else if (c == '\t') jw_put(w, "\\t", 2);
    else if (c < 0x20) jw_putf(w, "\\u%04x", c);
    else jw_put(w, &s[i], 1);
  }
  jw_put(w, "\"", 1);
}

/* A string, or null for NULL and "" (state.json's convention for "not set"). */
void jw_str(struct jw *w, const char *s) {
  if (!s || !s[0]) { jw_put(w, "null", 4); return; }
  jw_strn(w, s, strlen(s));
}

void jw_key(struct jw *w, const char *k) {
  if (w->len && w->b[w->len - 1] != '{' && w->b[w->len - 1] != '[') jw_put(w, ",", 1);
  jw_strn(w, k, strlen(k));
  jw_put(w, ":", 1);
}

void jw_bool(struct jw *w, int v) {
  jw_put(w, v ? "true" : "false", v ? 4 : 5);
}

/* A parsed value written back as it was read (numbers as integers when they are). */
void jw_node(struct jw *w, const struct mp_json *j) {
  if (!j) { jw_put(w, "null", 4); return; }
  switch (j->type) {
    case MP_JNULL: jw_put(w, "null", 4); break;
    case MP_JBOOL: jw_bool(w, j->boolean); break;
    case MP_JNUM:
      if (j->num == (double)(long long)j->num) jw_putf(w, "%lld", (long long)j->num);
      else jw_putf(w, "%.17g", j->num);
      break;
    case MP_JSTR: jw_strn(w, j->str, j->len); break;
    case MP_JARR:
    case MP_JOBJ:
      jw_put(w, j->type == MP_JARR ? "[" : "{", 1);
      for (const struct mp_json *c = j->child; c; c = c->next) {
        if (c != j->child) jw_put(w, ",", 1);
        if (j->type == MP_JOBJ) { jw_strn(w, c->key, strlen(c->key)); jw_put(w, ":", 1); }
        jw_node(w, c);
      }
      jw_put(w, j->type == MP_JARR ? "]" : "}", 1);
      break;
  }
}

/* Writes the buffer to file atomically (temp file + rename): 0, or -1 with errno. */
int jw_commit(struct jw *w, const char *file, int mode) {
  if (w->oom) return -1;
  char tmp[4200];
  snprintf(tmp, sizeof(tmp), "%s.tmp", file);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return -1;
  ssize_t n = write(fd, w->b, w->len);
  close(fd);
  if (n != (ssize_t)w->len || rename(tmp, file) < 0) {
    unlink(tmp);
    return -1;
  }
  return 0;
}
