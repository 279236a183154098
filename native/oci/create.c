/* create and update. create: the bundle's config.json checked and translated (translate.c),
 * the cgroup made and given its resources (cgroup.c), the init spawned by the executor
 * (native/exec) and left waiting at its start gate (ROOT/ID/exec.fifo) in its final cgroup,
 * with the terminal sent over the console socket when asked; then the state file, create's
 * hooks and the pid file (digits, no newline). Anything that fails undoes what was made.
 * `plan` prints what create would run (the plan, the cgroup and its writes) and makes nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../exec/describe.h"
#include "../exec/spawn.h"
#include "create.h"

#define MAX_WRITES 128

static void now_iso(char *out, size_t n) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + k, n - k, ".%06ldZ", (long)tv.tv_usec);
}


/* runc's check before create: the command is there and executable, resolved inside the rootfs
 * (RESOLVE_IN_ROOT: a symlink in it cannot point the check at the host), so start cannot fail on it. */
static int exec_in_root(int rootfd, const char *p) {
  struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
  int fd = (int)syscall(SYS_openat2, rootfd, p, &how, sizeof(how));
  if (fd < 0) return 0;
  struct stat st;
  int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && faccessat(fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS) == 0;
  close(fd);
  return ok;
}

static int find_executable(const char *rootfs, const struct mp_proc *p, struct oci_err *e) {
  const char *argv0 = p->argv[0];
  int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return oci_fail(e, "config.json root.path: %s: %s", rootfs, strerror(errno));
  int ok = 0;
  if (strchr(argv0, '/')) {
    ok = exec_in_root(rootfd, argv0);
    close(rootfd);
    return ok ? 0 : oci_fail(e, "exec: \"%s\": stat %s: no such file or directory", argv0, argv0);
  }
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char **env = p->env; env && *env; env++)
    if (!strncmp(*env, "PATH=", 5)) path = *env + 5;
  char dirs[8192];
  snprintf(dirs, sizeof(dirs), "%s", path);
  for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d && !ok; d = strtok_r(NULL, ":", &save)) {
    char full[OCI_PATH];
    snprintf(full, sizeof(full), "%s/%s", d[0] ? d : ".", argv0);
    ok = exec_in_root(rootfd, full);
  }
  close(rootfd);
  return ok ? 0 : oci_fail(e, "exec: \"%s\": executable file not found in $PATH", argv0);
}

int oci_connect_unix(const char *path, struct oci_err *e) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) return oci_fail(e, "connect %s: %s", path, strerror(ENAMETOOLONG));
  memcpy(sa.sun_path, path, strlen(path));
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return oci_fail(e, "socket: %s", strerror(errno));
  if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    int err = errno;
    close(s);
    return oci_fail(e, "connect %s: %s", path, strerror(err));
  }
  return s;
}

int oci_write_pid_file(const char *file, pid_t pid, struct oci_err *e) {
  char tmp[OCI_PATH + 32], digits[16];
  snprintf(tmp, sizeof(tmp), "%s.%d.tmp", file, (int)getpid());
  int n = snprintf(digits, sizeof(digits), "%d", (int)pid);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return oci_fail(e, "pid file %s: %s", tmp, strerror(errno));
  int ok = write(fd, digits, (size_t)n) == n;
  close(fd);
  if (!ok || rename(tmp, file) < 0) {
    unlink(tmp);
    return oci_fail(e, "pid file %s: %s", file, strerror(errno));
  }
  return 0;
}

/* The state create leaves for the other verbs (src/oci/state.ts and native/oci/state.c read it). */
static int write_state(const char *dir, const char *id, const char *bundle, pid_t pid, const struct mp_json *config,
                       const struct oci_cgroup *cg, const struct mp_json *plan, struct oci_err *e) {
  struct jw w = {0};
  char created[64];
  now_iso(created, sizeof(created));
  JW_LIT(&w, "{");
  jw_key(&w, "id");
  oci_jstr(&w, id);
  jw_key(&w, "bundle");
  oci_jstr(&w, bundle);
  jw_key(&w, "pid");
  jw_putf(&w, "%d", (int)pid);
  jw_key(&w, "start");
  jw_putf(&w, "%llu", oci_start_time(pid));
  jw_key(&w, "created");
  oci_jstr(&w, created);
  jw_key(&w, "annotations");
  const struct mp_json *ann = mp_json_get(config, "annotations");
  if (ann && ann->type == MP_JOBJ) jw_node(&w, ann);
  else JW_LIT(&w, "{}");
  if (cg) {
    jw_key(&w, "cgroup");
    JW_LIT(&w, "{\"path\":");
    oci_jstr(&w, cg->path);
    JW_LIT(&w, ",\"dirs\":[");
    for (int i = 0; i < cg->ndirs; i++) {
      if (i) JW_LIT(&w, ",");
      oci_jstr(&w, cg->dirs[i]);
    }
    JW_LIT(&w, "]}");
    if (cg->freezer[0]) {
      jw_key(&w, "freezer");
      jw_putf(&w, "{\"v2\":%s,\"dir\":", cg->freezer_v2 ? "true" : "false");
      oci_jstr(&w, cg->freezer);
      JW_LIT(&w, "}");
    }
  }
  /* What an exec joins (by type, as the config names them) and the filter it gets too. */
  jw_key(&w, "namespaces");
  JW_LIT(&w, "[");
  const struct mp_json *linux_ = mp_json_get(config, "linux"), *nss = linux_ ? mp_json_get(linux_, "namespaces") : NULL;
  for (const struct mp_json *n = nss && nss->type == MP_JARR ? nss->child : NULL; n; n = n->next) {
    if (n != nss->child) JW_LIT(&w, ",");
    oci_jstr(&w, mp_json_str(n, "type", ""));
  }
  JW_LIT(&w, "]");
  const struct mp_json *sc = mp_json_get(plan, "seccomp");
  if (sc) {
    jw_key(&w, "seccomp");
    jw_node(&w, sc);
  }
  const struct mp_json *hooks = mp_json_get(config, "hooks");
  jw_key(&w, "hooks");
  JW_LIT(&w, "{");
  const char *kinds[3] = {"poststart", "poststop", "startContainer"}; /* the last for start: it sends them the state */
  for (int i = 0; i < 3; i++) {
    const struct mp_json *h = hooks && hooks->type == MP_JOBJ ? mp_json_get(hooks, kinds[i]) : NULL;
    if (!h || (i == 2 && (h->type != MP_JARR || !h->child))) continue;
    jw_key(&w, kinds[i]);
    jw_node(&w, h);
  }
  JW_LIT(&w, "}}");
  char file[OCI_PATH + 16];
  snprintf(file, sizeof(file), "%s/state.json", dir);
  int rc = jw_commit(&w, file, 0600);
  free(w.b);
  return rc < 0 ? oci_fail(e, "write %s: %s", file, strerror(errno)) : 0;
}


/* "@userns/user" in the plan: the user namespace create made (its fd). */
static int resolve_userns(void *ctx, const char *who) {
  return !strcmp(who, "userns") ? *(int *)ctx : -1;
}

/* A new user namespace with the config's mappings, made the way the supervisor makes a pod's
 * (native/shim/userns.c: a throwaway child unshares, its maps are written as host root); its fd. */
static int make_userns(const struct mp_json *config, struct oci_err *e) {
  const struct mp_json *linux_ = mp_json_get(config, "linux");
  struct jw w = {0};
  JW_LIT(&w, "{\"uidMap\":");
  jw_node(&w, mp_json_get(linux_, "uidMappings"));
  JW_LIT(&w, ",\"gidMap\":");
  jw_node(&w, mp_json_get(linux_, "gidMappings"));
  JW_LIT(&w, "}");
  struct mp_arena a = {0};
  char err[256];
  const struct mp_json *spec = w.oom ? NULL : mp_json_parse(&a, w.b, w.len, err, sizeof(err));
  int fd = spec ? userns_make(spec, err, sizeof(err)) : -1;
  if (fd < 0) oci_fail(e, "config.json linux.uidMappings: %s", spec ? err : "out of memory");
  mp_arena_free(&a);
  free(w.b);
  return fd;
}

static int load_layout(const char *mountinfo_file, struct oci_layout *l) {
  char *mi = oci_slurp(mountinfo_file ? mountinfo_file : "/proc/self/mountinfo", NULL);
  if (!mi) return -1;
  oci_layout_parse(mi, !mountinfo_file, l);
  free(mi);
  return 0;
}

int oci_create(const char *root, const char *id, const struct oci_create_opts *o, void (*warn)(const char *), struct oci_err *e) {
  if (oci_check_id(id, e) < 0) return -1;
  char bundle[OCI_PATH], cwd[OCI_PATH], file[OCI_PATH + 32];
  if (!getcwd(cwd, sizeof(cwd))) return oci_fail(e, "getcwd: %s", strerror(errno));
  oci_resolve(cwd, o->bundle && o->bundle[0] ? o->bundle : ".", bundle, sizeof(bundle));
  snprintf(file, sizeof(file), "%s/config.json", bundle);
  size_t len;
  char *text = oci_slurp(file, &len);
  if (!text) return oci_fail(e, "%s: %s", file, strerror(errno));
  struct mp_arena arena = {0};
  char jerr[256];
  struct mp_json *config = mp_json_parse(&arena, text, len, jerr, sizeof(jerr));
  free(text);
  struct oci_layout *layout = calloc(1, sizeof(*layout));
  struct oci_cgroup *cg = calloc(1, sizeof(*cg));
  struct oci_write *writes = calloc(MAX_WRITES, sizeof(*writes));
  struct jw plan = {0}, devlist = {0};
  int v2dev = 0;
  char dir[OCI_PATH + 1100] = "";
  int rc = -1, nwrites = 0, made_cgroup = 0, gate = -1, console = -1, userns = -1;
  pid_t pid = 0;
  if (!layout || !cg || !writes) { oci_fail(e, "out of memory"); goto out; }
  if (!config || config->type != MP_JOBJ) { oci_fail(e, "%s: %s", file, config ? "not an object" : jerr); goto out; }
  const struct mp_json *proc = mp_json_get(config, "process"), *linux_ = mp_json_get(config, "linux");
  if (proc && mp_json_bool(proc, "terminal", 0) && !o->console_socket && !o->print_plan) { oci_fail(e, "config.json process.terminal: needs --console-socket"); goto out; }
  if (load_layout(o->mountinfo, layout) < 0) { oci_fail(e, "read mountinfo: %s", strerror(errno)); goto out; }
  int have_cg = layout->version != 0;
  if (have_cg) {
    char cgpath[OCI_PATH];
    if (oci_cgroup_path(linux_ ? mp_json_str(linux_, "cgroupsPath", NULL) : NULL, id, o->systemd, cgpath, sizeof(cgpath), e) < 0) goto out;
    oci_cgroup_dirs(layout, cgpath, cg);
    nwrites = oci_resource_writes(layout, linux_ ? mp_json_get(linux_, "resources") : NULL, linux_ ? mp_json_get(linux_, "devices") : NULL, writes, MAX_WRITES, e);
    if (nwrites < 0) goto out;
    if (layout->version == 2 && (v2dev = oci_v2_devices(linux_ ? mp_json_get(linux_, "resources") : NULL, linux_ ? mp_json_get(linux_, "devices") : NULL, &devlist, e)) < 0) goto out;
  }
  char lsms[256];
  if (o->lsms) snprintf(lsms, sizeof(lsms), "%s", o->lsms);
  else oci_host_lsms(lsms, sizeof(lsms));
  char dropped[512] = "";
  int user = oci_user_namespace(config, e);
  if (user < 0) goto out;
  struct oci_translate_in in = {.user = user, .config = config, .bundle = bundle, .id = id, .layout = layout, .cgroup = have_cg ? cg : NULL, .lsms = lsms,
                                .runtime_caps = oci_own_bounding(), .dropped = dropped, .dropped_len = sizeof(dropped)};
  if (oci_translate(&in, &plan, e) < 0) goto out;
  if (dropped[0] && warn) {
    char m[700];
    snprintf(m, sizeof(m), "config.json process.capabilities: %s left out: this runtime does not hold them", dropped);
    warn(m);
  }
  if (o->print_plan) {
    struct jw w = {0};
    JW_LIT(&w, "{\"plan\":");
    jw_put(&w, plan.b, plan.len);
    if (have_cg) {
      JW_LIT(&w, ",\"cgroup\":{\"path\":");
      oci_jstr(&w, cg->path);
      JW_LIT(&w, ",\"writes\":[");
      for (int i = 0; i < nwrites; i++) {
        if (i) JW_LIT(&w, ",");
        JW_LIT(&w, "{\"controller\":");
        oci_jstr(&w, writes[i].controller < OCI_V1_N ? oci_v1_name(writes[i].controller) : "unified");
        JW_LIT(&w, ",\"file\":");
        oci_jstr(&w, writes[i].file);
        JW_LIT(&w, ",\"value\":");
        oci_jstr(&w, writes[i].value);
        JW_LIT(&w, "}");
      }
      JW_LIT(&w, "]");
      if (v2dev) {
        JW_LIT(&w, ",\"devices\":");
        jw_put(&w, devlist.b, devlist.len);
      }
      JW_LIT(&w, "}");
    }
    JW_LIT(&w, "}\n");
    if (!w.oom) fwrite(w.b, 1, w.len, stdout);
    free(w.b);
    rc = w.oom ? oci_fail(e, "out of memory") : 0;
    goto out;
  }
  /* The plan as the executor decodes it: every field checked again, fail closed. */
  char msg[512];
  struct mp_json *pj = mp_json_parse(&arena, plan.b, plan.len, msg, sizeof(msg));
  struct mp_proc p;
  if (user && strstr(plan.b, "\"@userns/user\"") && (userns = make_userns(config, e)) < 0) goto out;
  if (!pj || mp_plan_decode(&arena, pj, &p, resolve_userns, &userns, msg, sizeof(msg)) < 0) { oci_fail(e, "plan: %s", msg); goto out; }
  char rootfs[OCI_PATH];
  oci_resolve(bundle, mp_json_str(mp_json_get(config, "root"), "path", "."), rootfs, sizeof(rootfs));
  if (find_executable(rootfs, &p, e) < 0) goto out;

  /* ROOT and any parent it lacks (containerd passes ROOT/NAMESPACE), root-only. */
  char up[OCI_PATH];
  snprintf(up, sizeof(up), "%s", root);
  for (char *sl = up + 1; (sl = strchr(sl, '/')); sl++) {
    *sl = 0;
    if (mkdir(up, 0700) < 0 && errno != EEXIST) { oci_fail(e, "mkdir %s: %s", up, strerror(errno)); goto out; }
    *sl = '/';
  }
  if (mkdir(root, 0700) < 0 && errno != EEXIST) { oci_fail(e, "mkdir %s: %s", root, strerror(errno)); goto out; }
  if (chmod(root, 0700) < 0) { oci_fail(e, "chmod %s: %s", root, strerror(errno)); goto out; }
  snprintf(dir, sizeof(dir), "%s/%s", root, id);
  if (mkdir(dir, 0700) < 0) {
    if (errno == EEXIST) oci_fail(e, "container with id \"%s\" already exists", id);
    else oci_fail(e, "mkdir %s: %s", dir, strerror(errno));
    dir[0] = 0; /* not ours to remove */
    goto out;
  }
  if (have_cg) {
    made_cgroup = 1;
    if (oci_cgroup_make(layout, cg, writes, nwrites, e) < 0 || oci_apply_writes(layout, cg, writes, nwrites, 1, warn, e) < 0) goto out;
    if (v2dev) {
      /* v2's device control: the same BPF program the supervisor gives a pod's containers */
      struct mp_arena da = {0};
      char derr[512];
      const struct mp_json *dl = mp_json_parse(&da, devlist.b, devlist.len, derr, sizeof(derr));
      int r = dl ? cgroup_devices_attach(cg->dirs[0], dl, derr, sizeof(derr)) : -1;
      mp_arena_free(&da);
      if (r < 0) { oci_fail(e, "config.json linux.resources.devices: %s", derr); goto out; }
    }
  }
  char fifo[OCI_PATH + 1200];
  snprintf(fifo, sizeof(fifo), "%s/exec.fifo", dir);
  if (mkfifo(fifo, 0600) < 0) { oci_fail(e, "mkfifo %s: %s", fifo, strerror(errno)); goto out; }
  /* O_RDWR: never blocks; the init waits to read a byte from it before its execve. */
  gate = open(fifo, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (gate < 0) { oci_fail(e, "open %s: %s", fifo, strerror(errno)); goto out; }
  /* With a terminal, the init opens it in its own devpts and sends the master to the console
   * socket itself, before create returns (as runc's init does). */
  if (p.ctty && (console = oci_connect_unix(o->console_socket, e)) < 0) goto out;
  struct mp_spawn_io io = {.gate_fd = gate, .console_fd = console};
  for (int i = 0; i < 3; i++) io.stdio[i] = console >= 0 ? MP_STDIO_NULL : MP_STDIO_INHERIT;
  struct mp_spawn_result res;
  struct mp_error err;
  if (mp_spawn(&p, &io, &res, &err) < 0) {
    mp_describe(&err, e->msg, sizeof(e->msg));
    goto out;
  }
  pid = res.pid;
  close(res.pidfd);
  close(gate);
  gate = -1;
  if (console >= 0) { close(console); console = -1; }
  if (write_state(dir, id, bundle, pid, config, have_cg ? cg : NULL, pj, e) < 0) goto out;
  struct oci_state st;
  if (oci_state_load(root, id, &st, e) < 0) { oci_state_free(&st); goto out; }
  char *sj = oci_state_json(&st, OCI_CREATED);
  /* create's hooks, from the config (the state keeps only those of start and delete) */
  st.root = config;
  int hr = sj ? 0 : oci_fail(e, "out of memory");
  const char *kinds[3] = {"prestart", "createRuntime", "createContainer"};
  for (int i = 0; i < 3 && hr == 0; i++) hr = oci_run_hooks(&st, kinds[i], sj, 1, NULL, e);
  free(sj);
  oci_state_free(&st);
  if (hr < 0) goto out;
  if (o->pid_file && o->pid_file[0]) {
    char pf[OCI_PATH];
    oci_resolve(cwd, o->pid_file, pf, sizeof(pf));
    if (oci_write_pid_file(pf, pid, e) < 0) goto out;
  }
  rc = 0;
out:
  if (rc < 0 && !o->print_plan) {
    if (pid > 0) {
      kill(pid, SIGKILL); /* our own child, not yet reaped: the pid cannot have been reused */
      for (int i = 0; i < 200 && oci_start_time(pid); i++) usleep(5000);
    }
    if (made_cgroup) {
      const char *dirs[OCI_V1_N];
      for (int i = 0; i < cg->ndirs; i++) dirs[i] = cg->dirs[i];
      for (int i = 0; i < 50 && oci_cgroup_remove_dirs(cg->path, dirs, cg->ndirs) < 0; i++) usleep(5000);
    }
    if (dir[0]) oci_remove_dir(dir);
  }
  if (gate >= 0) close(gate);
  if (console >= 0) close(console);
  if (userns >= 0) close(userns);
  free(plan.b);
  free(devlist.b);
  free(layout);
  free(cg);
  free(writes);
  mp_arena_free(&arena);
  return rc;
}

int oci_update(const char *root, const char *id, const char *resources_file, struct oci_err *e) {
  struct oci_state s;
  int rc = oci_state_load(root, id, &s, e);
  struct oci_layout *layout = calloc(1, sizeof(*layout));
  struct oci_cgroup *cg = calloc(1, sizeof(*cg));
  struct oci_write *writes = calloc(MAX_WRITES, sizeof(*writes));
  struct mp_arena arena = {0};
  if (rc < 0) goto out;
  rc = -1;
  if (!layout || !cg || !writes) { oci_fail(e, "out of memory"); goto out; }
  if (load_layout(NULL, layout) < 0 || !layout->version || !s.cgroup_path) { oci_fail(e, "the container has no cgroup"); goto out; }
  size_t len;
  char *text = oci_slurp(strcmp(resources_file, "-") ? resources_file : "/dev/stdin", &len);
  if (!text) { oci_fail(e, "%s: %s", resources_file, strerror(errno)); goto out; }
  char jerr[256];
  struct mp_json *r = mp_json_parse(&arena, text, len, jerr, sizeof(jerr));
  free(text);
  if (!r || r->type != MP_JOBJ) { oci_fail(e, "%s: %s", resources_file, r ? "not an object" : jerr); goto out; }
  oci_cgroup_dirs(layout, s.cgroup_path, cg);
  int n = oci_resource_writes(layout, r, NULL, writes, MAX_WRITES, e);
  if (n < 0 || oci_apply_writes(layout, cg, writes, n, 0, NULL, e) < 0) goto out;
  rc = 0;
out:
  free(layout);
  free(cg);
  free(writes);
  mp_arena_free(&arena);
  oci_state_free(&s);
  return rc;
}
