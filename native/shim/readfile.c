/* Reading a small file of the kernel's (/proc, cgroupfs) in one read into buf, NUL-ended. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

#include "shim.h"

ssize_t read_small(const char *path, char *buf, size_t n) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t got = read(fd, buf, n - 1);
  close(fd);
  if (got < 0) return -1;
  buf[got] = 0;
  return got;
}
