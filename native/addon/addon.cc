// minipod's Node addon: the mechanism behind src/native/binding.ts, nothing else.
//
// spawn() decodes a ProcessPlan (JSON, the same text `minipod plan` prints) and hands it to
// the executor in native/exec (the same code the per-pod supervisor uses). Exits are
// watched through pidfds polled by libuv: no waitpid(-1), no SIGCHLD handler, no thread
// parked in waitpid. Arguments are checked in TypeScript first; here they are only
// type-checked so that a wrong call throws instead of crashing.
#include <errno.h>
#include <fcntl.h>
#include <napi.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>
#include <uv.h>

#include <map>
#include <string>

extern "C" {
#include "../exec/json.h"
#include "../exec/sys.h"
#include "../exec/plan.h"
#include "../exec/spawn.h"
#include "../exec/describe.h"
#include "../net/nl.h"
}

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace {

Napi::Error SysError(Napi::Env env, const char* syscall, int err, const char* path = nullptr) {
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + ": " + strerror(err));
  e.Set("syscall", syscall);
  e.Set("errno", Napi::Number::New(env, err));
  if (path) e.Set("path", path);
  return e;
}

int ToFd(const Napi::Value& v) {
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : -1;
}

struct Refs {
  std::map<std::string, int> pids;
};

int ResolveRef(void* ctx, const char* who) {
  auto* refs = static_cast<Refs*>(ctx);
  auto it = refs->pids.find(who);
  return it == refs->pids.end() ? -1 : it->second;
}

// spawn(planJson, stdio[3], extraFds[], refs{name: pidfd}) -> {pid, pidfd}
// Throws an Error carrying {step, syscall, errno, path, dest, detail} from the executor.
Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray())
    throw Napi::TypeError::New(env, "spawn(planJson, stdio, extraFds?, refs?)");
  std::string text = info[0].As<Napi::String>().Utf8Value();
  Napi::Array stdio = info[1].As<Napi::Array>();
  if (stdio.Length() != 3) throw Napi::TypeError::New(env, "stdio must have 3 entries");
  int extra[16];
  int nextra = 0;
  if (info.Length() > 2 && info[2].IsArray()) {
    Napi::Array a = info[2].As<Napi::Array>();
    if (a.Length() > 16) throw Napi::TypeError::New(env, "at most 16 extra fds");
    for (uint32_t i = 0; i < a.Length(); i++) extra[nextra++] = ToFd(a.Get(i));
  }
  Refs refs;
  if (info.Length() > 3 && info[3].IsObject()) {
    Napi::Object o = info[3].As<Napi::Object>();
    Napi::Array keys = o.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); i++) {
      std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
      refs.pids[k] = o.Get(k).As<Napi::Number>().Int32Value();
    }
  }

  mp_arena arena = {nullptr};
  char msg[512];
  mp_json* j = mp_json_parse(&arena, text.data(), text.size(), msg, sizeof(msg));
  mp_proc proc;
  if (!j || mp_plan_decode(&arena, j, &proc, ResolveRef, &refs, msg, sizeof(msg)) < 0) {
    mp_arena_free(&arena);
    Napi::Error e = Napi::Error::New(env, msg);
    e.Set("code", "ERR_MINIPOD_PLAN");
    throw e;
  }
  mp_spawn_io io;
  memset(&io, 0, sizeof(io));
  io.gate_fd = io.console_fd = -1;
  for (int i = 0; i < 3; i++) io.stdio[i] = ToFd(stdio.Get(i));
  io.extra = extra;
  io.nextra = nextra;
  mp_spawn_result res;
  mp_error err;
  int rc = mp_spawn(&proc, &io, &res, &err);
  mp_arena_free(&arena);
  if (rc < 0) {
    Napi::Error e = SysError(env, err.syscall, err.err, err.path[0] ? err.path : nullptr);
    char what[2048];
    mp_describe(&err, what, sizeof(what));
    e.Set("description", what);
    e.Set("step", err.step);
    if (err.dest[0]) e.Set("dest", err.dest);
    if (err.detail[0]) e.Set("detail", err.detail);
    throw e;
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", res.pid);
  out.Set("pidfd", res.pidfd);
  return out;
}

// One watched process: a uv_poll on its pidfd. When it becomes readable the process has
// exited; waitid(P_PIDFD) reaps exactly that child (or, for a process that is not our
// child, we only learn that it is gone).
struct Watch {
  uv_poll_t poll;
  int pidfd;
  Napi::FunctionReference cb;
  napi_env env;
};

void OnClosed(uv_handle_t* h) {
  delete static_cast<Watch*>(h->data);
}

void OnReadable(uv_poll_t* handle, int status, int events) {
  (void)events;
  Watch* w = static_cast<Watch*>(handle->data);
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  int child = 1;
  if (status == 0) {
    while (syscall(SYS_waitid, P_PIDFD, w->pidfd, &si, WEXITED | __WALL, nullptr) < 0) {
      if (errno == EINTR) continue;
      child = 0;  // ECHILD: not our child; it has exited all the same
      break;
    }
  }
  uv_poll_stop(handle);
  close(w->pidfd);
  Napi::Env env(w->env);
  Napi::HandleScope scope(env);
  Napi::Object r = Napi::Object::New(env);
  if (child && si.si_code == CLD_EXITED) {
    r.Set("code", si.si_status);
    r.Set("signal", env.Null());
  } else if (child && (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED)) {
    r.Set("code", env.Null());
    r.Set("signal", si.si_status);
    r.Set("coreDumped", si.si_code == CLD_DUMPED);
  } else {
    r.Set("code", env.Null());
    r.Set("signal", env.Null());
  }
  r.Set("pid", si.si_pid);
  Napi::FunctionReference cb = std::move(w->cb);
  uv_close(reinterpret_cast<uv_handle_t*>(handle), OnClosed);
  // We are on the event loop, not under a JS call: an exception must not unwind out of
  // here (std::terminate). A callback that threw goes to process 'uncaughtException' like
  // any other; while Node is exiting, calls into JS fail with an empty error: ignore those.
  try {
    cb.MakeCallback(env.Global(), {r});
  } catch (const Napi::Error& e) {
    if (!e.Value().IsEmpty() && !e.Message().empty()) napi_fatal_exception(env, e.Value());
  }
}

// watch(pidfd, cb(exit), keepAlive = true): takes ownership of pidfd.
Napi::Value WatchExit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsFunction())
    throw Napi::TypeError::New(env, "watch(pidfd, callback, keepAlive?)");
  uv_loop_t* loop;
  napi_get_uv_event_loop(env, &loop);
  Watch* w = new Watch();
  w->pidfd = info[0].As<Napi::Number>().Int32Value();
  w->cb = Napi::Persistent(info[1].As<Napi::Function>());
  w->env = env;
  if (uv_poll_init(loop, &w->poll, w->pidfd) != 0) {
    delete w;
    throw SysError(env, "uv_poll_init", EBADF);
  }
  w->poll.data = w;
  uv_poll_start(&w->poll, UV_READABLE, OnReadable);
  if (info.Length() > 2 && info[2].IsBoolean() && !info[2].As<Napi::Boolean>().Value())
    uv_unref(reinterpret_cast<uv_handle_t*>(&w->poll));
  return env.Undefined();
}

// signal(pidfd, signo): pidfd_send_signal; a pidfd cannot hit a recycled pid.
Napi::Value Signal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ToFd(info[0]);
  int sig = info[1].As<Napi::Number>().Int32Value();
  siginfo_t si;
  siginfo_t* sip = nullptr;
  if (info.Length() > 2 && info[2].IsNumber()) {
    // A value with the signal (SI_QUEUE, as sigqueue): the supervisor reads a grace period from it.
    memset(&si, 0, sizeof si);
    si.si_signo = sig;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = info[2].As<Napi::Number>().Int32Value();
    sip = &si;
  }
  if (syscall(SYS_pidfd_send_signal, fd, sig, sip, 0) < 0) throw SysError(env, "pidfd_send_signal", errno);
  return env.Undefined();
}

Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = (int)syscall(SYS_pidfd_open, info[0].As<Napi::Number>().Int32Value(), 0);
  if (fd < 0) throw SysError(env, "pidfd_open", errno);
  return Napi::Number::New(env, fd);
}

Napi::Value Pipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) throw SysError(env, "pipe2", errno);
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, fds[0]);
  a.Set(1u, fds[1]);
  return a;
}

Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) throw SysError(env, "socketpair", errno);
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, fds[0]);
  a.Set(1u, fds[1]);
  return a;
}

// control(runDir, line, fds) -> {fd, reply, fds}: one request to a pod's supervisor over
// RUN_DIR/control.sock (native/shim/control.c): connects (through the directory's fd, so a
// long path is no problem), checks the peer is root, sends the line with fds as
// SCM_RIGHTS, and reads the first reply line with the fds that come with it. The
// connection stays open (fd, for the lines that follow); waiting for the first line is
// bounded (10 s) and takes a few ms: the supervisor replies as soon as it has spawned.
Napi::Value Control(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  std::string line = info[1].As<Napi::String>().Utf8Value();
  Napi::Array fdArr = info[2].As<Napi::Array>();
  int send_fds[3];
  unsigned nfds = fdArr.Length() > 3 ? 3 : fdArr.Length();
  for (unsigned i = 0; i < nfds; i++) send_fds[i] = ToFd(fdArr.Get(i));
  int dfd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) throw SysError(env, "open", errno, dir.c_str());
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    int e = errno;
    close(dfd);
    throw SysError(env, "socket", e);
  }
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/control.sock", dfd);
  int rc = connect(s, (struct sockaddr*)&a, sizeof a);
  int e = errno;
  close(dfd);
  std::string sockPath = dir + "/control.sock";
  if (rc < 0) {
    close(s);
    throw SysError(env, "connect", e, sockPath.c_str());
  }
  struct ucred cr;
  socklen_t cl = sizeof cr;
  if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 || cr.uid != 0) {
    close(s);
    throw SysError(env, "SO_PEERCRED", EPERM, sockPath.c_str());
  }
  struct timeval tv = {10, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  line += "\n";
  size_t off = 0;
  while (off < line.size()) {
    struct iovec iov = {(void*)(line.data() + off), line.size() - off};
    union { char b[CMSG_SPACE(3 * sizeof(int))]; struct cmsghdr align; } u;
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (off == 0 && nfds) {
      m.msg_control = u.b;
      m.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
      struct cmsghdr* h = CMSG_FIRSTHDR(&m);
      h->cmsg_level = SOL_SOCKET;
      h->cmsg_type = SCM_RIGHTS;
      h->cmsg_len = CMSG_LEN(nfds * sizeof(int));
      memcpy(CMSG_DATA(h), send_fds, nfds * sizeof(int));
    }
    ssize_t n = sendmsg(s, &m, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      e = errno;
      close(s);
      throw SysError(env, "sendmsg", e, sockPath.c_str());
    }
    off += (size_t)n;
  }
  std::string reply;
  Napi::Array got = Napi::Array::New(env);
  unsigned ngot = 0;
  for (;;) {
    char buf[1024];
    struct iovec iov = {buf, sizeof buf};
    union { char b[CMSG_SPACE(4 * sizeof(int))]; struct cmsghdr align; } u;
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.b;
    m.msg_controllen = sizeof u.b;
    // One byte at a time past the first read is not needed: the supervisor sends the first
    // line alone and only then, when the command ends, the next.
    ssize_t n = recvmsg(s, &m, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    for (struct cmsghdr* h = n > 0 ? CMSG_FIRSTHDR(&m) : nullptr; h; h = CMSG_NXTHDR(&m, h)) {
      if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
      int k = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      int fds[4];
      memcpy(fds, CMSG_DATA(h), (size_t)(k < 4 ? k : 4) * sizeof(int));
      for (int i = 0; i < k && i < 4; i++) got.Set(ngot++, fds[i]);
    }
    if (n <= 0) {
      e = n < 0 ? errno : ECONNRESET;
      close(s);
      throw SysError(env, "recvmsg", e, sockPath.c_str());
    }
    reply.append(buf, (size_t)n);
    if (reply.find('\n') != std::string::npos) break;
  }
  tv = {0, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  Napi::Object o = Napi::Object::New(env);
  o.Set("fd", s);
  o.Set("reply", reply);
  o.Set("fds", got);
  return o;
}

Napi::Value SetWinsize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct winsize ws = {};
  ws.ws_row = (unsigned short)info[1].As<Napi::Number>().Uint32Value();
  ws.ws_col = (unsigned short)info[2].As<Napi::Number>().Uint32Value();
  if (ioctl(ToFd(info[0]), TIOCSWINSZ, &ws) < 0) throw SysError(env, "ioctl(TIOCSWINSZ)", errno);
  return env.Undefined();
}

// flock(fd, exclusive, wait) -> true when taken, false when it would block (wait=false).
Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int op = info[1].ToBoolean() ? LOCK_EX : LOCK_SH;
  if (!info[2].ToBoolean()) op |= LOCK_NB;
  while (flock(ToFd(info[0]), op) < 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
    throw SysError(env, "flock", errno);
  }
  return Napi::Boolean::New(env, true);
}

// mount(source, target, fstype, flags[], data): host-side mounts of the parent (the pod's
// /dev/shm tmpfs; "bind" of pause's /proc/PID/ns/ipc, which pins that namespace).
// Namespaces are never entered from Node; this is the host's own mount table.
Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string source = info[0].As<Napi::String>().Utf8Value();
  std::string target = info[1].As<Napi::String>().Utf8Value();
  std::string fstype = info[2].As<Napi::String>().Utf8Value();
  unsigned long flags = 0;
  Napi::Array f = info[3].As<Napi::Array>();
  for (uint32_t i = 0; i < f.Length(); i++) {
    std::string n = f.Get(i).As<Napi::String>().Utf8Value();
    if (n == "ro") flags |= MS_RDONLY;
    else if (n == "bind") flags |= MS_BIND;
    else if (n == "nosuid") flags |= MS_NOSUID;
    else if (n == "nodev") flags |= MS_NODEV;
    else if (n == "noexec") flags |= MS_NOEXEC;
    else throw Napi::TypeError::New(env, "unknown mount flag " + n);
  }
  std::string data = info[4].IsString() ? info[4].As<Napi::String>().Utf8Value() : "";
  if (mount(source.c_str(), target.c_str(), fstype.c_str(), flags, data.empty() ? nullptr : data.c_str()) < 0)
    throw SysError(env, "mount", errno, target.c_str());
  return env.Undefined();
}

// umount(target, detach): MNT_DETACH when asked; EINVAL (not a mount) and ENOENT are errors
// for the caller to judge.
Napi::Value Umount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string target = info[0].As<Napi::String>().Utf8Value();
  int flags = info[1].ToBoolean() ? MNT_DETACH : 0;
  if (umount2(target.c_str(), flags | UMOUNT_NOFOLLOW) < 0) throw SysError(env, "umount2", errno, target.c_str());
  return env.Undefined();
}

// whiteout(path): an overlayfs whiteout, a 0/0 character device (an OCI layer's .wh.NAME).
Napi::Value Whiteout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string p = info[0].As<Napi::String>().Utf8Value();
  if (mknod(p.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0) throw SysError(env, "mknod", errno, p.c_str());
  return env.Undefined();
}

// opaque(dir): trusted.overlay.opaque=y, overlayfs's opaque directory (an OCI .wh..wh..opq).
// lsetxattr: never through a symlink.
Napi::Value Opaque(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string p = info[0].As<Napi::String>().Utf8Value();
  if (lsetxattr(p.c_str(), "trusted.overlay.opaque", "y", 1, 0) < 0) throw SysError(env, "lsetxattr", errno, p.c_str());
  return env.Undefined();
}

// isOpaque(dir): whether trusted.overlay.opaque is "y" (lgetxattr: never through a symlink).
// A hard link's target is looked up in the lower layers; an opaque directory above hides
// everything below it.
Napi::Value IsOpaque(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string p = info[0].As<Napi::String>().Utf8Value();
  char v[2] = {0, 0};
  ssize_t n = lgetxattr(p.c_str(), "trusted.overlay.opaque", v, sizeof v);
  if (n < 0 && errno != ENODATA && errno != ENOTSUP && errno != ERANGE) throw SysError(env, "lgetxattr", errno, p.c_str());
  return Napi::Boolean::New(env, n == 1 && v[0] == 'y');
}

// linkDel(name): deletes a link of this process's network namespace over rtnetlink (no
// namespace is entered: Node never calls setns). true when deleted, false when there was none.
Napi::Value LinkDel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int fd = mp_nl_open();
  if (fd < 0) throw SysError(env, "socket(NETLINK_ROUTE)", -fd, name.c_str());
  int rc = mp_nl_link_del(fd, name.c_str());
  close(fd);
  if (rc == -ENODEV) return Napi::Boolean::New(env, false);
  if (rc < 0) throw SysError(env, "RTM_DELLINK", -rc, name.c_str());
  return Napi::Boolean::New(env, true);
}

// The bridge's requests, in this process's network namespace (rtnetlink; no process, no
// setns): linkAddBridge(name, mac "aa:bb:..."), linkSet(name, alias|null, up|null),
// addrAdd(name, "a.b.c.d", prefix, brd).
static int NlCall(Napi::Env env, const char* what, const std::string& name, int (*fn)(int, void*), void* arg) {
  int fd = mp_nl_open();
  if (fd < 0) throw SysError(env, "socket(NETLINK_ROUTE)", -fd, name.c_str());
  int rc = fn(fd, arg);
  close(fd);
  if (rc < 0) throw SysError(env, what, -rc, name.c_str());
  return rc;
}

struct BridgeArgs { std::string name; unsigned char mac[6]; };
struct SetArgs { std::string name, alias; bool has_alias; int up; };
struct AddrArgs { std::string name; struct in_addr addr; int prefix; int brd; };

Napi::Value LinkAddBridge(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BridgeArgs a;
  a.name = info[0].As<Napi::String>().Utf8Value();
  std::string mac = info[1].As<Napi::String>().Utf8Value();
  unsigned m[6];
  if (sscanf(mac.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) throw SysError(env, "linkAddBridge", EINVAL, mac.c_str());
  for (int i = 0; i < 6; i++) a.mac[i] = (unsigned char)m[i];
  NlCall(env, "RTM_NEWLINK(bridge)", a.name, [](int fd, void* p) { auto* b = (BridgeArgs*)p; return mp_nl_bridge(fd, b->name.c_str(), b->mac); }, &a);
  return env.Undefined();
}

Napi::Value LinkSet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SetArgs a;
  a.name = info[0].As<Napi::String>().Utf8Value();
  a.has_alias = info[1].IsString();
  if (a.has_alias) a.alias = info[1].As<Napi::String>().Utf8Value();
  a.up = info[2].IsBoolean() ? (info[2].As<Napi::Boolean>().Value() ? 1 : 0) : -1;
  NlCall(env, "RTM_NEWLINK", a.name, [](int fd, void* p) { auto* s = (SetArgs*)p; return mp_nl_link_set(fd, s->name.c_str(), NULL, s->has_alias ? s->alias.c_str() : NULL, s->up); }, &a);
  return env.Undefined();
}

Napi::Value AddrAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddrArgs a;
  a.name = info[0].As<Napi::String>().Utf8Value();
  std::string ip = info[1].As<Napi::String>().Utf8Value();
  if (inet_pton(AF_INET, ip.c_str(), &a.addr) != 1) throw SysError(env, "addrAdd", EINVAL, ip.c_str());
  a.prefix = info[2].As<Napi::Number>().Int32Value();
  a.brd = info[3].ToBoolean().Value() ? 1 : 0;
  NlCall(env, "RTM_NEWADDR", a.name, [](int fd, void* p) { auto* d = (AddrArgs*)p; return mp_nl_addr_add(fd, d->name.c_str(), d->addr, d->prefix, d->brd); }, &a);
  return env.Undefined();
}

// linkAddrs(name): the IPv4 addresses of a link of this namespace ("a.b.c.d/prefix"),
// also of a link that is down (getifaddrs, through libuv, lists only running ones).
// linkKind(name): "bridge", "veth", ... or "" for a plain link (throws ENODEV when none).
Napi::Value LinkKind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int fd = mp_nl_open();
  if (fd < 0) throw SysError(env, "socket(NETLINK_ROUTE)", -fd, name.c_str());
  char kind[32] = "";
  int rc = mp_nl_link_kind(fd, name.c_str(), kind, sizeof kind);
  close(fd);
  if (rc < 0) throw SysError(env, "RTM_GETLINK", -rc, name.c_str());
  return Napi::String::New(env, kind);
}

Napi::Value LinkAddrs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int fd = mp_nl_open();
  if (fd < 0) throw SysError(env, "socket(NETLINK_ROUTE)", -fd, name.c_str());
  char out[64][20];
  int n = mp_nl_addrs(fd, name.c_str(), out, 64);
  close(fd);
  if (n < 0) throw SysError(env, "RTM_GETADDR", -n, name.c_str());
  Napi::Array a = Napi::Array::New(env, (size_t)n);
  for (int i = 0; i < n; i++) a.Set((uint32_t)i, Napi::String::New(env, out[i]));
  return a;
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  close(ToFd(info[0]));
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("spawn", Napi::Function::New(env, Spawn));
  exports.Set("watch", Napi::Function::New(env, WatchExit));
  exports.Set("signal", Napi::Function::New(env, Signal));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
  exports.Set("pipe", Napi::Function::New(env, Pipe));
  exports.Set("socketpair", Napi::Function::New(env, SocketPair));
  exports.Set("setWinsize", Napi::Function::New(env, SetWinsize));
  exports.Set("control", Napi::Function::New(env, Control));
  exports.Set("flock", Napi::Function::New(env, Flock));
  exports.Set("close", Napi::Function::New(env, Close));
  exports.Set("whiteout", Napi::Function::New(env, Whiteout));
  exports.Set("opaque", Napi::Function::New(env, Opaque));
  exports.Set("isOpaque", Napi::Function::New(env, IsOpaque));
  exports.Set("linkDel", Napi::Function::New(env, LinkDel));
  exports.Set("linkAddBridge", Napi::Function::New(env, LinkAddBridge));
  exports.Set("linkSet", Napi::Function::New(env, LinkSet));
  exports.Set("addrAdd", Napi::Function::New(env, AddrAdd));
  exports.Set("linkAddrs", Napi::Function::New(env, LinkAddrs));
  exports.Set("linkKind", Napi::Function::New(env, LinkKind));
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("umount", Napi::Function::New(env, Umount));
  return exports;
}

}  // namespace

NODE_API_MODULE(minipod, Init)
