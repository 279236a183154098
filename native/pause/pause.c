/* minipod's infra process: holds the pod's namespaces and does nothing else.
 *
 * In the mould of Kubernetes' pause: when the pod shares one pid namespace it is PID 1
 * there, so it reaps every orphan (SIGCHLD); SIGTERM or SIGINT ends it with status 0;
 * otherwise it sleeps. Built static (-Os -Wall -Werror) so it needs nothing from the host
 * and costs about one page of private memory per pod.
 *
 * Every container of a pod that shares its pid namespace sees pause as PID 1, so pause
 * first makes itself non-dumpable (execve made it dumpable again): /proc/1/{root,cwd,exe,
 * environ,mem,fd} are then refused to the containers' root, which lacks CAP_SYS_PTRACE.
 * The executor has already put it in a mount namespace of its own over an empty read-only
 * root, without capabilities and with SIGKILL as its parent-death signal.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term(int sig) {
  (void)sig;
  _exit(0);
}

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    puts("minipod-pause 1");
    return 0;
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
    perror("pause: prctl(PR_SET_DUMPABLE)");
    return 1;
  }
  struct sigaction term = {0}, child = {0};
  term.sa_handler = on_term;
  child.sa_handler = on_child;
  child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  if (sigaction(SIGINT, &term, NULL) < 0 || sigaction(SIGTERM, &term, NULL) < 0 ||
      sigaction(SIGCHLD, &child, NULL) < 0) {
    perror("pause: sigaction");
    return 1;
  }
  for (;;) pause();
}
