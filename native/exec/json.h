/* A small JSON reader for plans.
 *
 * The plan that TypeScript computes is JSON; both the addon and the per-pod supervisor read
 * that same text, so there is exactly one wire format and it is the one `minipod plan`
 * prints. Nodes are allocated from an arena that is freed in one go.
 */
#ifndef MP_JSON_H
#define MP_JSON_H

#include <stddef.h>

enum mp_json_type { MP_JNULL, MP_JBOOL, MP_JNUM, MP_JSTR, MP_JARR, MP_JOBJ };

struct mp_json {
  enum mp_json_type type;
  const char *key;        /* member name when inside an object */
  struct mp_json *next;   /* next sibling */
  struct mp_json *child;  /* first element / member */
  size_t len;             /* string length in bytes, or element count */
  const char *str;        /* NUL-terminated, unescaped (strings) */
  double num;
  int boolean;
};

struct mp_arena {
  struct mp_arena_block *head;
};

void *mp_arena_alloc(struct mp_arena *a, size_t n);
char *mp_arena_strdup(struct mp_arena *a, const char *s);
void mp_arena_free(struct mp_arena *a);

/* Parses text (len bytes). On failure returns NULL and writes a message naming the byte
 * offset into err. */
struct mp_json *mp_json_parse(struct mp_arena *a, const char *text, size_t len, char *err, size_t errlen);

struct mp_json *mp_json_get(const struct mp_json *obj, const char *key);
const char *mp_json_str(const struct mp_json *obj, const char *key, const char *dflt);
double mp_json_num(const struct mp_json *obj, const char *key, double dflt);
int mp_json_bool(const struct mp_json *obj, const char *key, int dflt);

#endif
