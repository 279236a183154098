/* Container output -> CRI log files (and the terminal of a foreground run).
 *
 * Each start of a container gets its own file, LOGDIR/N.log with N = restartCount, in the
 * format the kubelet's CRI runtimes write and `kubectl logs` reads:
 *     <RFC3339Nano> <stdout|stderr> <P|F> <line>
 * P marks a partial line (longer than our 16 KiB buffer, or cut by EOF without a newline
 * is still F, as containerd does), F a full one. stdout and stderr come through separate
 * pipes so they stay apart.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"

static void mkdir_p(const char *dir) {
  char buf[4096];
  snprintf(buf, sizeof(buf), "%s", dir);
  for (char *s = buf + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    mkdir(buf, 0755);
    *s = '/';
  }
  mkdir(buf, 0755);
}

/* Opens the log file for this start and creates the stdout/stderr pipes.
 * fds[0] = stdout pipe, fds[1] = stderr pipe, each {read, write}. */
int logs_open(struct pod *p, struct ctr *c, int fds[2][2]) {
  char path[4096];
  mkdir_p(c->log_dir);
  snprintf(path, sizeof(path), "%s/%d.log", c->log_dir, c->restart_count);
  c->logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (c->logfd < 0) logmsg(p, "%s: open %s: %s", c->name, path, strerror(errno));
  for (int i = 0; i < 2; i++) {
    if (pipe2(fds[i], O_CLOEXEC) < 0) return -1;
    fcntl(fds[i][0], F_SETFL, O_NONBLOCK);
  }
  c->out.fd = fds[0][0];
  c->out.is_err = 0;
  c->out.len = 0;
  c->err.fd = fds[1][0];
  c->err.is_err = 1;
  c->err.len = 0;
  epoll_add(p, c->out.fd, TAG(T_OUT, (int)(c - p->ctrs)));
  epoll_add(p, c->err.fd, TAG(T_ERR, (int)(c - p->ctrs)));
  return 0;
}

static void emit(struct pod *p, struct ctr *c, int is_err, const char *tag, const char *data, size_t len) {
  char head[80];
  rfc3339(head, 40);
  size_t h = strlen(head);
  h += (size_t)snprintf(head + h, sizeof(head) - h, " %s %s ", is_err ? "stderr" : "stdout", tag);
  if (c->logfd >= 0) {
    struct iovec v[3] = {{head, h}, {(void *)data, len}, {"\n", 1}};
    if (writev(c->logfd, v, 3) < 0) {
      /* a full disk must not stop the container; the line is lost */
    }
  }
  if (p->attach) {
    char pre[300];
    int k = p->prefix_pod ? snprintf(pre, sizeof(pre), "[%s/%s] ", p->name, c->name) : snprintf(pre, sizeof(pre), "[%s] ", c->name);
    if (k >= (int)sizeof(pre)) k = (int)sizeof(pre) - 1;
    /* A partial line continues on the next write without a second prefix. */
    struct iovec v[3] = {{pre, (size_t)k}, {(void *)data, len}, {"\n", 1}};
    if (writev(is_err ? 2 : 1, v, tag[0] == 'P' ? 2 : 3) < 0) {
    }
  }
}

static void drain(struct pod *p, struct ctr *c, struct stream *s, int eof) {
  size_t start = 0;
  for (size_t i = 0; i < s->len; i++) {
    if (s->buf[i] != '\n') continue;
    emit(p, c, s->is_err, "F", s->buf + start, i - start);
    start = i + 1;
  }
  if (start < s->len && (eof || (start == 0 && s->len == sizeof(s->buf)))) {
    emit(p, c, s->is_err, eof ? "F" : "P", s->buf + start, s->len - start);
    start = s->len;
  }
  memmove(s->buf, s->buf + start, s->len - start);
  s->len -= start;
}

static void close_stream(struct pod *p, struct ctr *c, struct stream *s) {
  if (s->fd < 0) return;
  drain(p, c, s, 1);
  epoll_del(p, s->fd);
  close(s->fd);
  s->fd = -1;
}

/* At most LOG_TURN_BYTES per wakeup: epoll is level-triggered, so the rest is read on the
 * next turn of the loop, and one container that writes without pause cannot starve probes,
 * signals, the control socket or the other containers. */
#define LOG_TURN_BYTES (64 * 1024)

static void read_some(struct pod *p, struct ctr *c, struct stream *s, size_t budget) {
  size_t got = 0;
  while (got < budget) {
    if (s->len == sizeof(s->buf)) drain(p, c, s, 0);
    ssize_t n = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
    if (n > 0) {
      s->len += (size_t)n;
      got += (size_t)n;
      drain(p, c, s, 0);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    close_stream(p, c, s); /* EOF: every writer (the container and its children) is gone */
    return;
  }
}

void logs_on_readable(struct pod *p, struct ctr *c, struct stream *s) {
  read_some(p, c, s, LOG_TURN_BYTES);
}

/* Called when the container has exited: read what is left, then close. Its children may
 * still hold the pipe (a daemonized grandchild); what they write later is lost, as with
 * any runtime once the container is gone. */
void logs_close(struct pod *p, struct ctr *c) {
  /* What is in the pipes now (a pipe holds 64 KiB by default), bounded as well. */
  if (c->out.fd >= 0) read_some(p, c, &c->out, 4 * LOG_TURN_BYTES);
  if (c->err.fd >= 0) read_some(p, c, &c->err, 4 * LOG_TURN_BYTES);
  close_stream(p, c, &c->out);
  close_stream(p, c, &c->err);
  if (c->logfd >= 0) close(c->logfd);
  c->logfd = -1;
}
