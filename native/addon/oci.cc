// What minipod-oci (src/oci) needs of the addon beyond spawn: a terminal for a container
// (the console socket of runc's command line) and handing its master to the caller's
// socket, and opening the start gate of a created container.
#include <errno.h>
#include <fcntl.h>
#include <napi.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "oci.h"

static Napi::Error Fail(Napi::Env env, const char* what, int err, const char* path = nullptr) {
  std::string m = std::string(what) + ": " + strerror(err) + (path ? std::string(" (") + path + ")" : "");
  Napi::Error e = Napi::Error::New(env, m);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, what));
  return e;
}

// openpty() -> [master, slave]: a pty pair of the host's devpts, both CLOEXEC; the slave
// becomes the container's stdio and controlling terminal.
static Napi::Value OpenPty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) throw Fail(env, "posix_openpt", errno);
  if (grantpt(m) < 0 || unlockpt(m) < 0) {
    int e = errno;
    close(m);
    throw Fail(env, "unlockpt", e);
  }
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) {
    int e = errno;
    close(m);
    throw Fail(env, "ioctl(TIOCGPTPEER)", e);
  }
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, m);
  a.Set(1u, s);
  return a;
}

// sendFd(socketPath, fd, name): connects to a unix stream socket and sends fd in one
// sendmsg: exactly one SCM_RIGHTS message with one fd, name as the data (runc's console
// socket protocol, which containerd's shim reads).
static Napi::Value SendFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  std::string name = info[2].As<Napi::String>().Utf8Value();
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) throw Fail(env, "connect", ENAMETOOLONG, path.c_str());
  memcpy(sa.sun_path, path.data(), path.size());
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw Fail(env, "socket", errno);
  if (connect(s, (struct sockaddr*)&sa, sizeof sa) < 0) {
    int e = errno;
    close(s);
    throw Fail(env, "connect", e, path.c_str());
  }
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {(void*)name.data(), name.size()};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  ssize_t n;
  while ((n = sendmsg(s, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
  int e = errno;
  close(s);
  if (n < 0) throw Fail(env, "sendmsg", e, path.c_str());
  return env.Undefined();
}

// openGate(fifoPath) -> fd: the start gate of a container being created, opened O_RDWR
// (never blocks) and CLOEXEC; the init waits to read a byte from it before its execve.
// release(fifoPath) writes that byte: O_WRONLY|O_NONBLOCK fails with ENXIO when no one
// holds the FIFO any more (the init is gone).
static Napi::Value OpenGate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) throw Fail(env, "open", errno, path.c_str());
  return Napi::Number::New(env, fd);
}

static Napi::Value ReleaseGate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) throw Fail(env, "open", errno, path.c_str());
  ssize_t n = write(fd, "s", 1);
  int e = errno;
  close(fd);
  if (n != 1) throw Fail(env, "write", e, path.c_str());
  return env.Undefined();
}

// mkfifo(path, mode): the start gate itself (Node has no mkfifo).
static Napi::Value MkFifo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (mkfifo(path.c_str(), (mode_t)info[1].As<Napi::Number>().Uint32Value()) < 0) throw Fail(env, "mkfifo", errno, path.c_str());
  return env.Undefined();
}

void mp_oci_init(Napi::Env env, Napi::Object exports) {
  exports.Set("mkfifo", Napi::Function::New(env, MkFifo));
  exports.Set("openpty", Napi::Function::New(env, OpenPty));
  exports.Set("sendFd", Napi::Function::New(env, SendFd));
  exports.Set("openGate", Napi::Function::New(env, OpenGate));
  exports.Set("releaseGate", Napi::Function::New(env, ReleaseGate));
}
