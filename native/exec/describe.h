/* The one formatter of executor failures (describe.c). */
#ifndef MP_DESCRIBE_H
#define MP_DESCRIBE_H

#include <stddef.h>

#include "spawn.h"

void mp_describe(const struct mp_error *e, char *buf, size_t n);

#endif
