// What minipod-oci (src/oci) needs of the addon beyond spawn: the start gate of a created
// container (a FIFO), and a connection to the console socket, over which the executor
// sends the container's terminal (native/exec/child.c, do_console).
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

// connectUnix(path) -> fd: a connected unix stream socket (CLOEXEC), for the executor to
// send a container's terminal over (the console socket).
static Napi::Value ConnectUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
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
  return Napi::Number::New(env, s);
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
  exports.Set("connectUnix", Napi::Function::New(env, ConnectUnix));
  exports.Set("openGate", Napi::Function::New(env, OpenGate));
  exports.Set("releaseGate", Napi::Function::New(env, ReleaseGate));
}
