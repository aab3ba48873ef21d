/*
 * moat-init: the first process of a container. It confines what follows with Landlock, then runs
 * the container's command:
 *
 *   moat-init [--landlock-write PATH]... [--landlock-write-files PATH]...
 *             [--landlock-bind PORTS] [--landlock-connect PORTS]
 *             [--landlock-off | --landlock-strict] [--reap] [--error-fd N] -- CMD [ARG]...
 *   moat-init --abi                                   (prints the kernel's Landlock ABI, 0 if none)
 *   moat-init --check-exec ROOTFS CWD PATH CMD        (runc's createContainer hook, see below)
 *
 * Landlock (unprivileged, stacked under the user namespace and seccomp): reading and executing are
 * not restricted; the write-class rights (write a file, truncate, create, remove, rename or link
 * into) are granted only beneath each --landlock-write PATH, and beneath each
 * --landlock-write-files PATH only writing and truncating files that exist there (so /dev's devices
 * can be written, but nothing created in /dev). A PATH that is not there, or that the user cannot
 * reach, is skipped. With --landlock-bind (resp. --landlock-connect), binding a TCP socket (resp.
 * connecting one) is allowed only to the PORTS listed: decimal ports 0-65535 separated by commas,
 * or `none` for no port at all (Landlock ABI 4; binding port 0, an ephemeral port, is allowed only
 * if 0 is listed). Each is given at most once. UDP and other protocols are not covered by Landlock.
 * On a kernel below ABI 4 the TCP rules are not applied, unless --landlock-strict (then status
 * 125). Every process of the container inherits the ruleset; nothing can lift it. Without Landlock in the kernel the
 * command runs without it, unless --landlock-strict (then status 125). no_new_privs is set if it
 * is not already (runc sets it: moat always asks for it).
 *
 * Without --reap the command replaces moat-init (it is PID 1, as without moat-init). With --reap
 * (`moat run --init`), moat-init stays PID 1 as tini does: it runs the command as a child in its
 * own process group (the terminal's foreground group, if there is a terminal), passes on the
 * signals it gets, reaps every process re-parented to it, and exits with the command's status
 * (128+N when the command was killed by signal N) once the command has ended.
 *
 * The command is found as runc finds it (Go's exec.LookPath: a name without '/' is searched in
 * $PATH for an executable regular file; there is no /bin/sh fallback), and a failure is said in
 * runc's words with docker's statuses: 127 not found, 126 not executable. Because runc only looks
 * for its own first argument (moat-init), moat asks runc to run `moat-init --check-exec` as a
 * createContainer hook (in the container's mount namespace, before pivot_root): it looks the
 * command up in the container's root the same way, so a missing command still fails the start
 * (no container comes up) with runc's message, as without moat-init. `moat exec` runs its command
 * through moat-init too (the same ruleset); there runc has started it already, so the reason goes
 * to --error-fd, a pipe moat reads (closed on exec: the command never has it).
 *
 * Statuses of its own: 125 (usage, or Landlock could not be applied).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The kernel's Landlock interface (linux/landlock.h), spelled here: the build host's header may
 * predate ABI 3, and the values are fixed by the kernel's ABI. */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif
#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_REMOVE_DIR (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_CHAR (1ULL << 6)
#define LL_FS_MAKE_DIR (1ULL << 7)
#define LL_FS_MAKE_REG (1ULL << 8)
#define LL_FS_MAKE_SOCK (1ULL << 9)
#define LL_FS_MAKE_FIFO (1ULL << 10)
#define LL_FS_MAKE_BLOCK (1ULL << 11)
#define LL_FS_MAKE_SYM (1ULL << 12)
#define LL_FS_REFER (1ULL << 13)    /* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#define LL_RULE_NET_PORT 2             /* ABI 4 */
#define LL_NET_BIND_TCP (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_NET_ABI 4

struct ll_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net; /* ABI 4: passed only when there are TCP rules */
};
struct ll_path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));
struct ll_net_port_attr {
  uint64_t allowed_access;
  uint64_t port;
};

/* A set of TCP ports: one bit each. `given`: the option was there (an empty set still restricts). */
struct port_set {
  int given;
  unsigned char bits[65536 / 8];
};
static struct port_set bind_ports, connect_ports;

#define MAX_PATHS 256

static void fail(int code, const char *what) {
  fprintf(stderr, "moat-init: %s: %s\n", what, strerror(errno));
  exit(code);
}

static void usage(const char *why) {
  fprintf(stderr,
          "moat-init: %s\nusage: moat-init [--landlock-write PATH]... [--landlock-write-files PATH]... "
          "[--landlock-bind PORTS] [--landlock-connect PORTS] "
          "[--landlock-off|--landlock-strict] [--reap] [--error-fd N] -- CMD [ARG]...\n",
          why);
  exit(125);
}

/* The highest Landlock ABI the kernel offers; 0 if it has none (not built, or not enabled). */
static int landlock_abi(void) {
  long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : (int)abi;
}

/*
 * Grants `access` beneath `path` (files: the file rights of it only). A path that is not there, or
 * that this user cannot reach (a volume below a directory it may not search), gets no rule: the
 * process could not write there by that path anyway.
 */
static void add_rule(int ruleset, const char *path, uint64_t access) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR || errno == EACCES) return;
    fprintf(stderr, "moat-init: Landlock: open %s: %s\n", path, strerror(errno));
    exit(125);
  }
  struct stat st;
  if (fstat(fd, &st) < 0) fail(125, "Landlock: fstat");
  /* Rights on a file: only those that apply to files (the kernel refuses the others there). */
  if (!S_ISDIR(st.st_mode)) access &= LL_FS_WRITE_FILE | LL_FS_TRUNCATE;
  struct ll_path_beneath_attr pb = {.allowed_access = access, .parent_fd = fd};
  if (syscall(__NR_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &pb, 0) < 0) {
    fprintf(stderr, "moat-init: Landlock: add rule for %s: %s\n", path, strerror(errno));
    exit(125);
  }
  if (close(fd) < 0) fail(125, "Landlock: close");
}

/*
 * PORTS: `none`, or decimal ports 0-65535 (no sign, no leading zero) separated by single commas.
 * Anything else is refused (status 125): a list moat did not mean is not guessed at.
 */
static void bad_ports(const char *opt, const char *why) {
  char msg[128];
  snprintf(msg, sizeof msg, "%s: %s", opt, why);
  usage(msg);
}

static void parse_ports(const char *opt, const char *s, struct port_set *set) {
  if (set->given) bad_ports(opt, "given twice");
  set->given = 1;
  if (strcmp(s, "none") == 0) return;
  for (;;) {
    unsigned long n = 0;
    int digits = 0;
    while (*s >= '0' && *s <= '9') {
      if (digits == 1 && n == 0) bad_ports(opt, "a port has a leading zero");
      n = n * 10 + (unsigned long)(*s++ - '0');
      if (++digits > 5 || n > 65535) bad_ports(opt, "a port is above 65535");
    }
    if (digits == 0) bad_ports(opt, "expected a port number (or none)");
    set->bits[n / 8] |= (unsigned char)(1U << (n % 8));
    if (*s == '\0') return;
    if (*s++ != ',') bad_ports(opt, "ports are separated by commas");
  }
}

/* Lets `access` (bind or connect) to each port of the set. */
static void add_port_rules(int ruleset, const struct port_set *set, uint64_t access) {
  for (unsigned long p = 0; p < 65536; p++) {
    if (!(set->bits[p / 8] & (1U << (p % 8)))) continue;
    struct ll_net_port_attr np = {.allowed_access = access, .port = p};
    if (syscall(__NR_landlock_add_rule, ruleset, LL_RULE_NET_PORT, &np, 0) < 0) {
      fprintf(stderr, "moat-init: Landlock: add rule for TCP port %lu: %s\n", p, strerror(errno));
      exit(125);
    }
  }
}

/* Applies the ruleset to this process (and all it will start). Returns the ABI used, 0 if none. */
static int apply_landlock(const char **write, int nwrite, const char **files, int nfiles, int strict) {
  int abi = landlock_abi();
  if (abi < 1) {
    if (strict) {
      fprintf(stderr, "moat-init: Landlock is not available in this kernel (--security-opt landlock=strict)\n");
      exit(125);
    }
    return 0;
  }
  uint64_t rw = LL_FS_WRITE_FILE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | LL_FS_MAKE_CHAR | LL_FS_MAKE_DIR |
                LL_FS_MAKE_REG | LL_FS_MAKE_SOCK | LL_FS_MAKE_FIFO | LL_FS_MAKE_BLOCK | LL_FS_MAKE_SYM;
  if (abi >= 2) rw |= LL_FS_REFER;
  if (abi >= 3) rw |= LL_FS_TRUNCATE;
  uint64_t net = (bind_ports.given ? LL_NET_BIND_TCP : 0) | (connect_ports.given ? LL_NET_CONNECT_TCP : 0);
  if (net && abi < LL_NET_ABI) {
    if (strict) {
      fprintf(stderr,
              "moat-init: Landlock ABI %d has no TCP rules (ABI %d needed: --security-opt landlock-bind/connect "
              "with landlock=strict)\n",
              abi, LL_NET_ABI);
      exit(125);
    }
    net = 0; /* not applied: moat warned when it made the container */
  }
  struct ll_ruleset_attr attr = {.handled_access_fs = rw, .handled_access_net = net};
  /* Without TCP rules, the ABI 1 size: a kernel below ABI 4 knows no more of the struct. */
  size_t size = net ? sizeof attr : sizeof attr.handled_access_fs;
  int ruleset = (int)syscall(__NR_landlock_create_ruleset, &attr, size, 0);
  if (ruleset < 0) fail(125, "Landlock: create ruleset");
  for (int i = 0; i < nwrite; i++) add_rule(ruleset, write[i], rw);
  for (int i = 0; i < nfiles; i++) add_rule(ruleset, files[i], rw & (LL_FS_WRITE_FILE | LL_FS_TRUNCATE));
  if (net & LL_NET_BIND_TCP) add_port_rules(ruleset, &bind_ports, LL_NET_BIND_TCP);
  if (net & LL_NET_CONNECT_TCP) add_port_rules(ruleset, &connect_ports, LL_NET_CONNECT_TCP);
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    fail(125, "set no_new_privs");
  if (syscall(__NR_landlock_restrict_self, ruleset, 0) < 0) fail(125, "Landlock: restrict self");
  if (close(ruleset) < 0) fail(125, "Landlock: close ruleset");
  return abi;
}

/*
 * Where runc's reason goes when the command cannot run: stderr, or the descriptor --error-fd names
 * (moat exec passes a pipe there, so that a command that is not there is a moat error, as runc's
 * own are, and nothing of it is taken for the command's output).
 */
static int error_fd = -1;

static void reason(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reason(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (error_fd >= 0) vdprintf(error_fd, fmt, ap);
  else vfprintf(stderr, fmt, ap);
  va_end(ap);
}

/* Go's findExecutable: a regular file (or anything but a directory) with an execute bit. */
static int executable(const char *p) {
  struct stat st;
  if (stat(p, &st) < 0) return -1;
  if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111)) {
    errno = EACCES;
    return -1;
  }
  return 0;
}

/*
 * Finds cmd as runc does (Go's exec.LookPath with the given $PATH): the path to run, or NULL after
 * printing runc's reason and setting *status to docker's (127 not found, 126 not executable).
 */
static const char *look_path(const char *cmd, const char *pathenv, char *buf, size_t len, int *status) {
  if (strchr(cmd, '/')) {
    if (executable(cmd) == 0) return cmd;
    int e = errno;
    *status = (e == ENOENT || e == ENOTDIR) ? 127 : 126;
    if (e == ENOENT || e == ENOTDIR)
      reason("exec: \"%s\": stat %s: %s\n", cmd, cmd, e == ENOENT ? "no such file or directory" : "not a directory");
    else reason("exec: \"%s\": permission denied\n", cmd);
    return NULL;
  }
  const char *p = pathenv ? pathenv : "";
  while (*cmd && *p) {
    const char *end = strchr(p, ':');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    int w = n == 0 ? snprintf(buf, len, "./%s", cmd) : snprintf(buf, len, "%.*s/%s", (int)n, p, cmd);
    if (w > 0 && (size_t)w < len && executable(buf) == 0) return buf;
    if (!end) break;
    p = end + 1;
  }
  *status = 127;
  reason("exec: \"%s\": executable file not found in $PATH\n", cmd);
  return NULL;
}

/* Runs the command in place of this process; only returns by exiting with docker's status. */
static void exec_command(char **argv) {
  char buf[PATH_MAX];
  int status = 127;
  const char *file = look_path(argv[0], getenv("PATH"), buf, sizeof buf, &status);
  if (file) {
    execve(file, argv, environ);
    int e = errno;
    status = (e == ENOENT || e == ENOTDIR) ? 127 : 126;
    reason("exec: \"%s\": %s\n", argv[0], e == ENOEXEC ? "exec format error" : e == EACCES ? "permission denied" : strerror(e));
  }
  if (error_fd < 0) fprintf(stderr, "moat-init: could not run the container's command\n");
  exit(status);
}

static int status_of(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 125;
}

/* Signals that are the process's own doing (faults): never blocked, never passed on. */
static int synchronous(int sig) {
  return sig == SIGFPE || sig == SIGILL || sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT || sig == SIGTRAP ||
         sig == SIGSYS || sig == SIGTTIN || sig == SIGTTOU;
}

/* --reap: runs the command as a child, passes signals on, reaps all, exits with its status. */
static void reap_and_forward(char **argv) {
  sigset_t all, old;
  if (sigfillset(&all) < 0) fail(125, "sigfillset");
  for (int s = 1; s < NSIG; s++)
    if (synchronous(s)) sigdelset(&all, s);
  if (sigprocmask(SIG_SETMASK, &all, &old) < 0) fail(125, "sigprocmask");
  /* Child subreaper: without it, as PID 1 of the container's namespace, it is the reaper anyway. */
  if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) fail(125, "set child subreaper");
  pid_t child = fork();
  if (child < 0) fail(125, "fork");
  if (child == 0) {
    /* Its own process group, in the terminal's foreground if there is one (tini's isolate_child). */
    if (setpgid(0, 0) < 0) fail(125, "setpgid");
    struct sigaction ign = {0}, ttou, ttin;
    ign.sa_handler = SIG_IGN;
    if (sigaction(SIGTTOU, &ign, &ttou) < 0 || sigaction(SIGTTIN, &ign, &ttin) < 0) fail(125, "sigaction");
    if (tcsetpgrp(STDIN_FILENO, getpgrp()) < 0 && errno != ENOTTY && errno != ENXIO && errno != EBADF &&
        errno != EINVAL)
      fail(125, "tcsetpgrp");
    if (sigaction(SIGTTOU, &ttou, NULL) < 0 || sigaction(SIGTTIN, &ttin, NULL) < 0) fail(125, "sigaction");
    if (sigprocmask(SIG_SETMASK, &old, NULL) < 0) fail(125, "sigprocmask");
    exec_command(argv);
  }
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) {
      if (errno == EINTR) continue;
      fail(125, "sigwaitinfo");
    }
    if (sig != SIGCHLD) {
      /* Passed on to the command; it may have ended already (then there is no one to tell). */
      if (kill(child, sig) < 0 && errno != ESRCH) fail(125, "kill");
      continue;
    }
    for (;;) {
      int st;
      pid_t p = waitpid(-1, &st, WNOHANG);
      if (p < 0) {
        if (errno == EINTR) continue;
        if (errno == ECHILD) break;
        fail(125, "waitpid");
      }
      if (p == 0) break;
      if (p == child) {
        /* The others left are orphans of the command: the container ends with it (as tini). */
        exit(status_of(st));
      }
    }
  }
}

/* --check-exec ROOTFS CWD PATH CMD: the command can be run in that root (see the top). */
static int check_exec(char **a) {
  if (chroot(a[0]) < 0) fail(125, "check: chroot");
  if (chdir("/") < 0) fail(125, "check: chdir /");
  /* A working directory that is not there is runc's to report: look from / then. */
  if (chdir(a[1]) < 0 && chdir("/") < 0) fail(125, "check: chdir");
  char buf[PATH_MAX];
  int status = 0;
  return look_path(a[3], a[2], buf, sizeof buf, &status) ? 0 : status;
}

int main(int argc, char **argv) {
  static const char *write[MAX_PATHS], *files[MAX_PATHS];
  int nwrite = 0, nfiles = 0, off = 0, strict = 0, reap = 0, i = 1;
  if (argc == 2 && strcmp(argv[1], "--abi") == 0) {
    printf("%d\n", landlock_abi());
    return fflush(stdout) == 0 ? 0 : 125;
  }
  if (argc == 6 && strcmp(argv[1], "--check-exec") == 0) return check_exec(argv + 2);
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    int only_files = strcmp(a, "--landlock-write-files") == 0;
    if (only_files || strcmp(a, "--landlock-write") == 0) {
      if (i + 1 >= argc || argv[i + 1][0] != '/') usage("a Landlock path must be absolute");
      if ((only_files ? nfiles : nwrite) >= MAX_PATHS) usage("too many Landlock paths");
      if (only_files) files[nfiles++] = argv[++i];
      else write[nwrite++] = argv[++i];
    } else if (strcmp(a, "--landlock-bind") == 0 || strcmp(a, "--landlock-connect") == 0) {
      if (i + 1 >= argc) usage("a Landlock port option needs PORTS");
      parse_ports(a, argv[i + 1], a[11] == 'b' ? &bind_ports : &connect_ports);
      i++;
    } else if (strcmp(a, "--landlock-off") == 0) off = 1;
    else if (strcmp(a, "--landlock-strict") == 0) strict = 1;
    else if (strcmp(a, "--reap") == 0) reap = 1;
    else if (strcmp(a, "--error-fd") == 0) {
      char *end;
      long fd = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : -1;
      if (fd < 3 || fd > 1024 || *end) usage("--error-fd takes a descriptor number above 2");
      i++;
      /* Not passed on to the command: closed when it runs. */
      if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0) fail(125, "--error-fd");
      error_fd = (int)fd;
    }
    else usage("unknown option");
  }
  if (i >= argc) usage("no command after --");
  if (off && strict) usage("--landlock-off and --landlock-strict exclude each other");
  if (off && (bind_ports.given || connect_ports.given))
    usage("--landlock-off and --landlock-bind/--landlock-connect exclude each other");
  if (!off) apply_landlock(write, nwrite, files, nfiles, strict);
  if (reap) reap_and_forward(argv + i);
  exec_command(argv + i);
  return 125;
}
