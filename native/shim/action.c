/* One run of a probe or hook handler, without ever blocking the supervisor's loop.
 *
 *  - exec: the handler's ProcessPlan (it joins "@container:NAME/{ipc,uts,net,pid,mnt}") is
 *    spawned by the same executor as the container; its pidfd and an output pipe go into the
 *    epoll set. A timeout SIGKILLs it and the result waits for its exit.
 *  - httpGet / tcpSocket: the supervisor lives in the host's network namespace, the pod in
 *    its own. The supervisor is single-threaded, so it can setns() into pause's network
 *    namespace, create the socket, and setns() back: a socket keeps the namespace it was
 *    created in. The connect is non-blocking; the request goes out and the status line comes
 *    back through the same epoll loop. The default host is the pod's IP, read from the pod's
 *    interfaces at that moment (127.0.0.1 in the pod when it has none, e.g. no network yet).
 *  - sleep: a deadline.
 * The result is left in the action (finished, ok, msg); probes.c takes it from there.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int handler_load(const struct mp_json *j, struct handler *h, char *err, size_t n) {
  memset(h, 0, sizeof(*h));
  const char *kind = mp_json_str(j, "kind", "");
  if (!strcmp(kind, "exec")) {
    h->kind = A_EXEC;
    h->process = mp_json_get(j, "process");
    if (!h->process || h->process->type != MP_JOBJ) { snprintf(err, n, "exec handler without a process"); return -1; }
    return 0;
  }
  if (!strcmp(kind, "httpGet") || !strcmp(kind, "tcpSocket")) {
    h->kind = kind[0] == 'h' ? A_HTTP : A_TCP;
    h->host = mp_json_str(j, "host", NULL);
    h->port = (int)mp_json_num(j, "port", 0);
    h->path = mp_json_str(j, "path", "/");
    h->headers = mp_json_get(j, "headers");
    if (h->port < 1 || h->port > 65535) { snprintf(err, n, "%s handler without a valid port", kind); return -1; }
    return 0;
  }
  if (!strcmp(kind, "sleep")) {
    h->kind = A_SLEEP;
    h->sleep_ms = (int64_t)(mp_json_num(j, "seconds", 0) * 1000);
    return 0;
  }
  snprintf(err, n, "unknown handler kind \"%s\"", kind);
  return -1;
}

static void finish(struct action *a, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void finish(struct action *a, int ok, const char *fmt, ...) {
  a->active = 0;
  a->finished = 1;
  a->ok = ok;
  a->deadline = 0;
  a->msg[0] = 0;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof(a->msg), fmt, ap);
    va_end(ap);
  }
}

static void close_fd(struct pod *p, int *fd) {
  if (*fd < 0) return;
  epoll_del(p, *fd);
  close(*fd);
  *fd = -1;
}

/* ---- exec ---- */

static void exec_start(struct pod *p, struct action *a, const struct handler *h, uint64_t tag) {
  struct mp_error err;
  char msg[512];
  int out[2];
  if (pipe2(out, O_CLOEXEC) < 0) {
    finish(a, 0, "pipe2: %s", strerror(errno));
    return;
  }
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  struct mp_spawn_io io = {{MP_STDIO_NULL, out[1], out[1]}, NULL, 0, 0, -1, -1};
  struct mp_spawn_result res;
  int rc = spawn_plan(p, h->process, &io, &res, &err);
  if (rc == 0) {
    a->pid = res.pid;
    a->pidfd = res.pidfd;
  }
  close(out[1]);
  if (rc < 0) {
    close(out[0]);
    describe_error(&err, msg, sizeof(msg));
    finish(a, 0, "%s", msg);
    return;
  }
  a->outfd = out[0];
  epoll_add(p, a->pidfd, tag);
  epoll_add(p, a->outfd, TAG(T_ACTOUT, TAG_VAL(tag)));
}

/* Keeps the start of the output (for the message), discards the rest so the pipe never
 * fills and blocks the command. */
static void exec_read(struct pod *p, struct action *a) {
  char tmp[4096];
  /* At most 64 KiB per wakeup (epoll is level-triggered: the rest comes next turn), so a
   * command that writes without pause cannot starve the loop. */
  for (int turn = 0; turn < 16; turn++) {
    ssize_t n = read(a->outfd, tmp, sizeof(tmp));
    if (n > 0) {
      size_t room = sizeof(a->buf) - 1 - a->len;
      size_t k = (size_t)n < room ? (size_t)n : room;
      memcpy(a->buf + a->len, tmp, k);
      a->len += k;
      a->buf[a->len] = 0;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) close_fd(p, &a->outfd);
    return;
  }
}

static void exec_exited(struct pod *p, struct action *a) {
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  while (syscall(SYS_waitid, P_PIDFD, a->pidfd, &si, WEXITED | __WALL, NULL) < 0 && errno == EINTR) {
  }
  close_fd(p, &a->pidfd);
  if (a->outfd >= 0) exec_read(p, a); /* what is left in the pipe; a background child may hold it open */
  close_fd(p, &a->outfd);
  while (a->len && (a->buf[a->len - 1] == '\n' || a->buf[a->len - 1] == ' ')) a->buf[--a->len] = 0;
  if (a->timed_out) finish(a, 0, "command timed out after %ds", a->timeout_s);
  else if (si.si_code == CLD_EXITED && si.si_status == 0) finish(a, 1, "%s", a->buf);
  else if (si.si_code == CLD_EXITED) finish(a, 0, "command exited with code %d%s%s", si.si_status, a->len ? ": " : "", a->buf);
  else finish(a, 0, "command killed by %s%s%s", signal_name(si.si_status), a->len ? ": " : "", a->buf);
}

/* ---- sockets in the pod's network namespace ---- */

/* Enters pause's network namespace (by pidfd, wire.c), makes a socket there (and reads the pod's IP), returns. */
static int pod_socket(struct pod *p, int family, struct in_addr *pod_ip, char *err, size_t n) {
  if (pod_enter_netns(p, err, n) < 0) return -1;
  int s = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int e = errno;
  if (pod_ip) {
    /* The pod's IP: the first IPv4 address of an interface that is not loopback. */
    pod_ip->s_addr = htonl(INADDR_LOOPBACK);
    int q = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr[32];
    struct ifconf ifc = {.ifc_len = sizeof(ifr), .ifc_req = ifr};
    if (q >= 0 && ioctl(q, SIOCGIFCONF, &ifc) == 0) {
      for (size_t i = 0; i < (size_t)ifc.ifc_len / sizeof(ifr[0]); i++) {
        struct in_addr in = ((struct sockaddr_in *)&ifr[i].ifr_addr)->sin_addr;
        if (ifr[i].ifr_addr.sa_family == AF_INET && (ntohl(in.s_addr) >> 24) != 127) { *pod_ip = in; break; }
      }
    }
    if (q >= 0) close(q);
  }
  pod_leave_netns(p);
  if (s < 0) snprintf(err, n, "socket: %s", strerror(e));
  return s;
}

static int append(struct action *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int append(struct action *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(a->req + a->reqlen, sizeof(a->req) - a->reqlen, fmt, ap);
  va_end(ap);
  if (k < 0 || (size_t)k >= sizeof(a->req) - a->reqlen) return -1;
  a->reqlen += (size_t)k;
  return 0;
}

/* The request as the kubelet sends it: Host, User-Agent and Accept unless the probe sets
 * them itself, then the probe's headers; one request per connection. */
static int http_request(struct action *a, const struct handler *h) {
  int has_host = 0, has_ua = 0, has_accept = 0;
  for (struct mp_json *x = h->headers ? h->headers->child : NULL; x; x = x->next) {
    const char *name = mp_json_str(x, "name", "");
    has_host |= !strcasecmp(name, "Host");
    has_ua |= !strcasecmp(name, "User-Agent");
    has_accept |= !strcasecmp(name, "Accept");
  }
  a->reqlen = 0;
  if (append(a, "GET %s HTTP/1.1\r\n", h->path) < 0) return -1;
  if (!has_host && append(a, "Host: %s\r\n", a->target) < 0) return -1;
  if (!has_ua && append(a, "User-Agent: minipod-probe/1\r\n") < 0) return -1;
  if (!has_accept && append(a, "Accept: */*\r\n") < 0) return -1;
  for (struct mp_json *x = h->headers ? h->headers->child : NULL; x; x = x->next)
    if (append(a, "%s: %s\r\n", mp_json_str(x, "name", ""), mp_json_str(x, "value", "")) < 0) return -1;
  return append(a, "Connection: close\r\n\r\n");
}

static void sock_start(struct pod *p, struct action *a, const struct handler *h, uint64_t tag) {
  union {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
  } addr;
  memset(&addr, 0, sizeof(addr));
  socklen_t alen;
  char err[256], ip[INET6_ADDRSTRLEN];
  int family = h->host && strchr(h->host, ':') ? AF_INET6 : AF_INET;
  struct in_addr pod_ip;
  a->sock = pod_socket(p, family, h->host ? NULL : &pod_ip, err, sizeof(err));
  if (a->sock < 0) { finish(a, 0, "%s", err); return; }
  if (family == AF_INET6) {
    addr.in6.sin6_family = AF_INET6;
    addr.in6.sin6_port = htons((uint16_t)h->port);
    inet_pton(AF_INET6, h->host, &addr.in6.sin6_addr);
    alen = sizeof(addr.in6);
    snprintf(a->target, sizeof(a->target), "[%s]:%d", h->host, h->port);
  } else {
    addr.in.sin_family = AF_INET;
    addr.in.sin_port = htons((uint16_t)h->port);
    if (h->host) inet_pton(AF_INET, h->host, &addr.in.sin_addr);
    else addr.in.sin_addr = pod_ip;
    alen = sizeof(addr.in);
    inet_ntop(AF_INET, &addr.in.sin_addr, ip, sizeof(ip));
    snprintf(a->target, sizeof(a->target), "%s:%d", ip, h->port);
  }
  if (h->kind == A_HTTP && http_request(a, h) < 0) {
    close(a->sock);
    a->sock = -1;
    finish(a, 0, "the request for %s is too long", a->target);
    return;
  }
  a->phase = 0;
  struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = tag};
  if (connect(a->sock, &addr.sa, alen) < 0 && errno != EINPROGRESS) {
    int e = errno;
    close(a->sock);
    a->sock = -1;
    finish(a, 0, "dial tcp %s: connect: %s", a->target, strerror(e));
    return;
  }
  /* Connected or in progress: EPOLLOUT says when (and SO_ERROR whether). */
  if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, a->sock, &ev) < 0) {
    int e = errno;
    close(a->sock);
    a->sock = -1;
    finish(a, 0, "epoll_ctl: %s", strerror(e));
  }
}

static void sock_fail(struct pod *p, struct action *a, const char *what, int e) {
  close_fd(p, &a->sock);
  if (a->kind == A_HTTP && a->phase > 0)
    finish(a, 0, "Get \"http://%s\": %s: %s", a->target, what, strerror(e));
  else
    finish(a, 0, "dial tcp %s: %s: %s", a->target, what, strerror(e));
}

/* "HTTP/1.1 200 OK": 200 <= status < 400 is success. */
static void http_status(struct pod *p, struct action *a) {
  close_fd(p, &a->sock);
  char *nl = strpbrk(a->buf, "\r\n");
  if (nl) *nl = 0;
  int code = 0;
  if (strncmp(a->buf, "HTTP/", 5) != 0 || sscanf(a->buf, "HTTP/%*s %d", &code) != 1) {
    finish(a, 0, "Get \"http://%s\": malformed response \"%.80s\"", a->target, a->buf);
    return;
  }
  if (code >= 200 && code < 400) finish(a, 1, "HTTP probe succeeded with statuscode: %d", code);
  else finish(a, 0, "HTTP probe failed with statuscode: %d", code);
}

static void sock_event(struct pod *p, struct action *a, uint32_t events) {
  if (a->phase == 0) {
    int e = 0;
    socklen_t l = sizeof(e);
    if (getsockopt(a->sock, SOL_SOCKET, SO_ERROR, &e, &l) < 0) e = errno;
    if (!e && (events & (EPOLLERR | EPOLLHUP))) e = ECONNRESET;
    if (e) { sock_fail(p, a, "connect", e); return; }
    if (a->kind == A_TCP) {
      close_fd(p, &a->sock);
      finish(a, 1, NULL);
      return;
    }
    a->phase = 1;
    a->sent = 0;
  }
  if (a->phase == 1) {
    while (a->sent < a->reqlen) {
      ssize_t n = send(a->sock, a->req + a->sent, a->reqlen - a->sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return; /* EPOLLOUT again */
      if (n < 0) { sock_fail(p, a, "write", errno); return; }
      a->sent += (size_t)n;
    }
    a->phase = 2;
    a->len = 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = a->tag};
    epoll_ctl(p->epfd, EPOLL_CTL_MOD, a->sock, &ev);
    return;
  }
  /* phase 2: the status line is all we need */
  for (;;) {
    size_t room = sizeof(a->buf) - 1 - a->len;
    ssize_t n = recv(a->sock, a->buf + a->len, room, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) { sock_fail(p, a, "read", errno); return; }
    a->len += (size_t)n;
    a->buf[a->len] = 0;
    if (n == 0 || strpbrk(a->buf, "\r\n") || a->len == sizeof(a->buf) - 1) {
      http_status(p, a);
      return;
    }
  }
}

/* ---- the interface ---- */

void action_start(struct pod *p, struct action *a, const struct handler *h, int timeout_s, uint64_t tag) {
  memset(a, 0, sizeof(*a));
  a->pidfd = a->outfd = a->sock = -1;
  a->kind = h->kind;
  a->tag = tag;
  a->active = 1;
  a->timeout_s = timeout_s;
  a->deadline = timeout_s > 0 ? now_ms() + (int64_t)timeout_s * 1000 : 0;
  switch (h->kind) {
    case A_EXEC: exec_start(p, a, h, tag); break;
    case A_HTTP:
    case A_TCP: sock_start(p, a, h, tag); break;
    case A_SLEEP: a->deadline = now_ms() + h->sleep_ms; break;
    case A_NONE: finish(a, 0, "no handler"); break;
  }
}

void action_on_event(struct pod *p, struct action *a, int out, uint32_t events) {
  if (!a->active) return;
  if (a->kind == A_EXEC) {
    if (out) { if (a->outfd >= 0) exec_read(p, a); }
    else if (a->pidfd >= 0) exec_exited(p, a);
    return;
  }
  if ((a->kind == A_HTTP || a->kind == A_TCP) && a->sock >= 0) sock_event(p, a, events);
}

void action_on_deadline(struct pod *p, struct action *a) {
  if (!a->active) return;
  switch (a->kind) {
    case A_EXEC:
      /* The result comes with its exit, which the kill brings about at once. */
      a->timed_out = 1;
      a->deadline = 0;
      pidfd_signal(a->pidfd, SIGKILL);
      break;
    case A_HTTP:
    case A_TCP:
      close_fd(p, &a->sock);
      finish(a, 0, a->kind == A_HTTP && a->phase > 0 ? "Get \"http://%s\": timeout awaiting response (%ds)" : "dial tcp %s: i/o timeout (%ds)",
             a->target, a->timeout_s);
      break;
    case A_SLEEP: finish(a, 1, NULL); break;
    case A_NONE: break;
  }
}

/* Stops a run whose result nobody wants any more. An exec process is killed; its pidfd stays
 * in the epoll set as T_REAP so that it is reaped when it is gone, without waiting here. */
void action_cancel(struct pod *p, struct action *a) {
  if (a->pidfd >= 0) {
    pidfd_signal(a->pidfd, SIGKILL);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG(T_REAP, a->pidfd)};
    if (epoll_ctl(p->epfd, EPOLL_CTL_MOD, a->pidfd, &ev) < 0) {
      epoll_del(p, a->pidfd);
      close(a->pidfd);
    }
    a->pidfd = -1;
  }
  close_fd(p, &a->outfd);
  close_fd(p, &a->sock);
  a->active = 0;
  a->finished = 0;
  a->deadline = 0;
}

void reap_orphan(struct pod *p, int pidfd) {
  siginfo_t si;
  epoll_del(p, pidfd);
  while (syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | __WALL, NULL) < 0 && errno == EINTR) {
  }
  close(pidfd);
}
