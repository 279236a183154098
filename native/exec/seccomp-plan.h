/* Compiling a plan's seccomp filter (seccomp.c). */
#ifndef MP_SECCOMP_H
#define MP_SECCOMP_H

#include <linux/filter.h>
#include <stddef.h>

#include "json.h"

/* 0 and the program in out (its filter malloc'd, the caller frees it), or -1 with err. */
int mp_seccomp_compile(const struct mp_json *sc, struct sock_fprog *out, char *err, size_t n);

#endif
