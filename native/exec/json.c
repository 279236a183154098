/* A small recursive-descent JSON reader (RFC 8259), enough for plans: objects, arrays,
 * strings with every escape (\uXXXX and surrogate pairs to UTF-8), numbers, literals.
 * Depth is limited so that a hostile file cannot exhaust the stack. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MP_JSON_MAX_DEPTH 64

struct mp_arena_block {
  struct mp_arena_block *next;
  size_t used, cap;
  char data[];
};

void *mp_arena_alloc(struct mp_arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  struct mp_arena_block *b = a->head;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > 16384 ? n : 16384;
    b = malloc(sizeof(*b) + cap);
    if (!b) return NULL;
    b->used = 0;
    b->cap = cap;
    b->next = a->head;
    a->head = b;
  }
  void *p = b->data + b->used;
  b->used += n;
  memset(p, 0, n);
  return p;
}

char *mp_arena_strdup(struct mp_arena *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = mp_arena_alloc(a, n);
  if (p) memcpy(p, s, n);
  return p;
}

void mp_arena_free(struct mp_arena *a) {
  struct mp_arena_block *b = a->head;
  while (b) {
    struct mp_arena_block *n = b->next;
    free(b);
    b = n;
  }
  a->head = NULL;
}

struct parser {
  struct mp_arena *a;
  const char *s, *end;
  const char *start;
  char *err;
  size_t errlen;
  int failed;
};

static void fail(struct parser *p, const char *what) {
  if (!p->failed) snprintf(p->err, p->errlen, "plan JSON: %s at byte %ld", what, (long)(p->s - p->start));
  p->failed = 1;
}

static void ws(struct parser *p) {
  while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static int hex4(struct parser *p, unsigned *out) {
  if (p->end - p->s < 4) return -1;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p->s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  p->s += 4;
  *out = v;
  return 0;
}

static size_t utf8(unsigned cp, char *o) {
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Parses a string starting after the opening quote. The unescaped form is never longer
 * than the escaped one, so one allocation of the raw length is enough. */
static const char *string(struct parser *p, size_t *outlen) {
  const char *q = p->s;
  while (q < p->end && *q != '"') q += (*q == '\\') ? 2 : 1;
  if (q >= p->end) { fail(p, "unterminated string"); return NULL; }
  char *out = mp_arena_alloc(p->a, (size_t)(q - p->s) + 1);
  if (!out) { fail(p, "out of memory"); return NULL; }
  size_t n = 0;
  while (p->s < p->end && *p->s != '"') {
    unsigned char c = (unsigned char)*p->s++;
    if (c < 0x20) { fail(p, "control character in string"); return NULL; }
    if (c != '\\') { out[n++] = (char)c; continue; }
    char e = *p->s++;
    switch (e) {
      case '"': out[n++] = '"'; break;
      case '\\': out[n++] = '\\'; break;
      case '/': out[n++] = '/'; break;
      case 'b': out[n++] = '\b'; break;
      case 'f': out[n++] = '\f'; break;
      case 'n': out[n++] = '\n'; break;
      case 'r': out[n++] = '\r'; break;
      case 't': out[n++] = '\t'; break;
      case 'u': {
        unsigned cp, lo;
        if (hex4(p, &cp)) { fail(p, "bad \\u escape"); return NULL; }
        if (cp >= 0xD800 && cp < 0xDC00 && p->end - p->s >= 6 && p->s[0] == '\\' && p->s[1] == 'u') {
          p->s += 2;
          if (hex4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF) { fail(p, "bad surrogate pair"); return NULL; }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp == 0) { fail(p, "NUL in string"); return NULL; }
        n += utf8(cp, out + n);
        break;
      }
      default: fail(p, "bad escape"); return NULL;
    }
  }
  p->s++; /* closing quote */
  out[n] = 0;
  *outlen = n;
  return out;
}

static struct mp_json *value(struct parser *p, int depth);

static struct mp_json *node(struct parser *p, enum mp_json_type t) {
  struct mp_json *j = mp_arena_alloc(p->a, sizeof(*j));
  if (!j) { fail(p, "out of memory"); return NULL; }
  j->type = t;
  return j;
}

static int lit(struct parser *p, const char *w) {
  size_t n = strlen(w);
  if ((size_t)(p->end - p->s) >= n && memcmp(p->s, w, n) == 0) { p->s += n; return 1; }
  return 0;
}

static struct mp_json *container(struct parser *p, int depth, int obj) {
  struct mp_json *j = node(p, obj ? MP_JOBJ : MP_JARR);
  if (!j) return NULL;
  struct mp_json **tail = &j->child;
  char close = obj ? '}' : ']';
  ws(p);
  if (p->s < p->end && *p->s == close) { p->s++; return j; }
  for (;;) {
    const char *key = NULL;
    size_t klen;
    ws(p);
    if (obj) {
      if (p->s >= p->end || *p->s != '"') { fail(p, "expected a member name"); return NULL; }
      p->s++;
      if (!(key = string(p, &klen))) return NULL;
      ws(p);
      if (p->s >= p->end || *p->s != ':') { fail(p, "expected ':'"); return NULL; }
      p->s++;
    }
    struct mp_json *v = value(p, depth + 1);
    if (!v) return NULL;
    v->key = key;
    *tail = v;
    tail = &v->next;
    j->len++;
    ws(p);
    if (p->s < p->end && *p->s == ',') { p->s++; continue; }
    if (p->s < p->end && *p->s == close) { p->s++; return j; }
    fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    return NULL;
  }
}

static struct mp_json *value(struct parser *p, int depth) {
  if (depth > MP_JSON_MAX_DEPTH) { fail(p, "nested too deeply"); return NULL; }
  ws(p);
  if (p->s >= p->end) { fail(p, "unexpected end"); return NULL; }
  char c = *p->s;
  struct mp_json *j;
  if (c == '{' || c == '[') { p->s++; return container(p, depth, c == '{'); }
  if (c == '"') {
    p->s++;
    if (!(j = node(p, MP_JSTR))) return NULL;
    j->str = string(p, &j->len);
    return j->str ? j : NULL;
  }
  if (lit(p, "true") || lit(p, "false")) {
    if (!(j = node(p, MP_JBOOL))) return NULL;
    j->boolean = p->s[-1] == 'e' && p->s[-2] == 'u';
    return j;
  }
  if (lit(p, "null")) return node(p, MP_JNULL);
  if (c == '-' || (c >= '0' && c <= '9')) {
    char buf[64];
    size_t n = 0;
    while (p->s < p->end && n < sizeof(buf) - 1 && strchr("+-0123456789.eE", *p->s)) buf[n++] = *p->s++;
    buf[n] = 0;
    char *endp;
    if (!(j = node(p, MP_JNUM))) return NULL;
    j->num = strtod(buf, &endp);
    if (*endp) { fail(p, "bad number"); return NULL; }
    return j;
  }
  fail(p, "unexpected character");
  return NULL;
}

struct mp_json *mp_json_parse(struct mp_arena *a, const char *text, size_t len, char *err, size_t errlen) {
  struct parser p = {a, text, text + len, text, err, errlen, 0};
  struct mp_json *j = value(&p, 0);
  if (!j) return NULL;
  ws(&p);
  if (p.s != p.end) { fail(&p, "trailing characters"); return NULL; }
  return j;
}

struct mp_json *mp_json_get(const struct mp_json *obj, const char *key) {
  if (!obj || obj->type != MP_JOBJ) return NULL;
  for (struct mp_json *m = obj->child; m; m = m->next)
    if (strcmp(m->key, key) == 0) return m;
  return NULL;
}

const char *mp_json_str(const struct mp_json *obj, const char *key, const char *dflt) {
  struct mp_json *m = mp_json_get(obj, key);
  return m && m->type == MP_JSTR ? m->str : dflt;
}

double mp_json_num(const struct mp_json *obj, const char *key, double dflt) {
  struct mp_json *m = mp_json_get(obj, key);
  return m && m->type == MP_JNUM ? m->num : dflt;
}

int mp_json_bool(const struct mp_json *obj, const char *key, int dflt) {
  struct mp_json *m = mp_json_get(obj, key);
  return m && m->type == MP_JBOOL ? m->boolean : dflt;
}
