/*
 * moat-tty: the console of a container that has a terminal.
 *
 * runc gives a container's pseudo-terminal master to whoever listens on its --console-socket, as
 * a file descriptor over SCM_RIGHTS, and only when it detaches (run -d, exec -d). Node cannot
 * receive a descriptor that way, so this small program does, and stays as the console's proxy:
 *
 *   moat-tty [--pid-file P] [--size ROWSxCOLS] [--ctl-fd N | --ctl FIFO] -- RUNC-ARGV...
 *
 * It becomes a child subreaper, makes a private directory with a listening socket in it, runs
 * RUNC-ARGV with the word @CONSOLE@ replaced by that socket's path, receives the master, waits
 * for runc (its failure is ours: the same status), then reads the container's process ID from P
 * (runc's --pid-file) and copies: its stdin to the master, the master to its stdout. Window sizes
 * come as lines "ROWS COLS" on the control descriptor or FIFO. When that process ends (reaped here:
 * runc has gone, so it was re-parented to us), the rest of the output is copied and the process's
 * status is ours (128+N for signal N), as `runc run` reports it. SIGTERM, SIGINT, SIGHUP, SIGQUIT,
 * SIGUSR1 and SIGUSR2 are passed on to that process; SIGPIPE is ignored (a reader that went away
 * does not end the container: its output is then dropped).
 *
 * Exit statuses of its own: 125 (usage, or the console never came), 126 (runc could not be run).
 * Everything it reads is bounded: one descriptor per message, control lines of 64 bytes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define BUF 32768

static char sockdir[64];
static char sockpath[128];

static void cleanup(void) {
  if (sockpath[0]) unlink(sockpath);
  if (sockdir[0]) rmdir(sockdir);
  sockpath[0] = sockdir[0] = 0;
}

static void die(int code, const char *what) {
  fprintf(stderr, "moat-tty: %s: %s\n", what, strerror(errno));
  cleanup();
  exit(code);
}

static int status_of(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 125;
}

/* Receives one descriptor from a connected socket; -1 if the message carries none. */
static int recv_fd(int conn) {
  char data[256];
  struct iovec iov = {data, sizeof data};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int) * 4)];
  } u;
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  ssize_t n;
  do n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -1;
  int fd = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    int fds[4];
    if (count > 4) count = 4;
    memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)count);
    for (int i = 0; i < count; i++) {
      if (fd < 0) fd = fds[i];
      else close(fds[i]); /* only the first one counts */
    }
  }
  if (fd >= 0 && !isatty(fd)) {
    close(fd);
    errno = ENOTTY;
    return -1;
  }
  return fd;
}

static void set_size(int master, const char *s) {
  unsigned rows = 0, cols = 0;
  if (sscanf(s, "%u%*[ x]%u", &rows, &cols) != 2) return;
  if (rows == 0 || cols == 0 || rows > 10000 || cols > 10000) return;
  struct winsize ws = {0};
  ws.ws_row = (unsigned short)rows;
  ws.ws_col = (unsigned short)cols;
  ioctl(master, TIOCSWINSZ, &ws);
}

/* Writes all of buf to a blocking descriptor; returns -1 once the reader has gone. */
static int write_all(int fd, const char *buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, 1000);
        continue;
      }
      return -1;
    }
    buf += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Statuses of processes reaped before the process's pid was known (runc's helpers, or the process). */
#define EARLY 64
static pid_t early_pid[EARLY];
static int early_status[EARLY];
static int early_n;

static void remember(pid_t pid, int st) {
  if (early_n < EARLY) {
    early_pid[early_n] = pid;
    early_status[early_n++] = status_of(st);
  }
}

static int recalled(pid_t pid) {
  for (int k = 0; k < early_n; k++)
    if (early_pid[k] == pid) return early_status[k];
  return -1;
}

static pid_t read_pid(const char *file) {
  char b[32] = {0};
  int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  ssize_t n = read(fd, b, sizeof b - 1);
  close(fd);
  if (n <= 0) return -1;
  long v = strtol(b, NULL, 10);
  return v > 1 && v < (1L << 22) ? (pid_t)v : -1;
}

int main(int argc, char **argv) {
  const char *pidfile = NULL, *size = NULL, *ctlpath = NULL;
  int ctl = -1;
  int i = 1;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "--")) {
      i++;
      break;
    } else if (!strcmp(argv[i], "--pid-file") && i + 1 < argc) pidfile = argv[++i];
    else if (!strcmp(argv[i], "--size") && i + 1 < argc) size = argv[++i];
    else if (!strcmp(argv[i], "--ctl-fd") && i + 1 < argc) ctl = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--ctl") && i + 1 < argc) ctlpath = argv[++i];
    else {
      fprintf(stderr, "moat-tty: unknown argument %s\n", argv[i]);
      return 125;
    }
  }
  if (i >= argc || !pidfile) {
    fprintf(stderr, "usage: moat-tty --pid-file P [--size RxC] [--ctl-fd N | --ctl FIFO] -- RUNC-ARGV (with @CONSOLE@)\n");
    return 125;
  }
  char **cmd = argv + i;

  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) die(125, "becoming a subreaper");
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  int fwd[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  for (size_t k = 0; k < sizeof fwd / sizeof fwd[0]; k++) sigaddset(&mask, fwd[k]);
  sigaddset(&mask, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) die(125, "blocking signals");
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die(125, "signalfd");

  /* A private directory (0700, a fresh random name) for the socket: no other user can connect. */
  const char *tmp = getenv("MOAT_TTY_TMPDIR");
  if (!tmp || strlen(tmp) > 40 || tmp[0] != '/') tmp = "/tmp";
  snprintf(sockdir, sizeof sockdir, "%s/moat-tty-XXXXXX", tmp);
  if (!mkdtemp(sockdir)) {
    sockdir[0] = 0;
    die(125, "making the console socket's directory");
  }
  snprintf(sockpath, sizeof sockpath, "%s/console.sock", sockdir);
  int lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lsock < 0) die(125, "socket");
  struct sockaddr_un addr = {0};
  addr.sun_family = AF_UNIX;
  if (strlen(sockpath) >= sizeof addr.sun_path) die(125, "socket path too long");
  memcpy(addr.sun_path, sockpath, strlen(sockpath) + 1);
  if (bind(lsock, (struct sockaddr *)&addr, sizeof addr) < 0) die(125, "bind");
  if (listen(lsock, 1) < 0) die(125, "listen");

  /* The window-size FIFO: made here, before runc, so a size sent once the process runs is read. */
  if (ctlpath) {
    if (mkfifo(ctlpath, 0600) < 0 && errno != EEXIST) die(125, "making the control FIFO");
    ctl = open(ctlpath, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (ctl < 0 || fstat(ctl, &st) < 0 || !S_ISFIFO(st.st_mode)) die(125, "opening the control FIFO");
  }

  int argn = 0;
  while (cmd[argn]) argn++;
  char **args = calloc((size_t)argn + 1, sizeof(char *));
  if (!args) die(125, "calloc");
  for (int k = 0; k < argn; k++) args[k] = strcmp(cmd[k], "@CONSOLE@") ? cmd[k] : sockpath;

  pid_t runc = fork();
  if (runc < 0) die(125, "fork");
  if (runc == 0) {
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_DFL);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(2, 1); /* runc's own words go to stderr, never into the container's output */
    }
    execvp(args[0], args);
    fprintf(stderr, "moat-tty: cannot run %s: %s\n", args[0], strerror(errno));
    _exit(126);
  }

  /* The console, or runc's end. */
  int master = -1, runc_status = -1;
  pid_t init = -1;
  int init_status = -1;
  while (master < 0 || runc_status < 0) {
    /* Once the console has come, only runc's end is awaited (fd -1 is skipped by poll). */
    struct pollfd p[2] = {{lsock, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0 && errno != EINTR) die(125, "poll");
    if (lsock >= 0 && (p[0].revents & POLLIN)) {
      int conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
      if (conn >= 0) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        /* Only a process of our own user (runc) may hand us the console. */
        if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == getuid()) {
          master = recv_fd(conn);
          if (master >= 0) {
            close(lsock);
            lsock = -1;
            cleanup();
          }
        }
        close(conn);
      }
    }
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) == sizeof si) {
      if (si.ssi_signo != SIGCHLD && init > 0) kill(init, (int)si.ssi_signo);
    }
    int st;
    pid_t w;
    while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
      if (w == runc) runc_status = status_of(st);
      else remember(w, st); /* maybe the process itself, ended before runc did (a quick exec) */
    }
    if (runc_status >= 0 && master < 0) {
      if (runc_status == 0) fprintf(stderr, "moat-tty: runc started no console\n");
      cleanup();
      return runc_status ? runc_status : 125;
    }
  }
  if (runc_status != 0) {
    /* runc failed after handing over a console: its status is the answer. */
    return runc_status;
  }
  init = read_pid(pidfile);
  if (init < 0) {
    fprintf(stderr, "moat-tty: no process ID in %s\n", pidfile);
    return 125;
  }
  if (size) set_size(master, size);

  int in_open = 1, out_ok = 1;
  char buf[BUF];
  char line[65];
  size_t linelen = 0;
  /* The process may have ended (and been reaped above) before its pid was known. */
  init_status = recalled(init);
  while (init_status < 0) {
    struct pollfd p[4];
    int n = 0, iin = -1, ictl = -1;
    p[n++] = (struct pollfd){master, POLLIN, 0};
    p[n++] = (struct pollfd){sfd, POLLIN, 0};
    if (in_open) {
      iin = n;
      p[n++] = (struct pollfd){0, POLLIN, 0};
    }
    if (ctl >= 0) {
      ictl = n;
      p[n++] = (struct pollfd){ctl, POLLIN, 0};
    }
    if (poll(p, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      die(125, "poll");
    }
    if (p[0].revents & POLLIN) {
      ssize_t r = read(master, buf, sizeof buf);
      if (r > 0 && out_ok && write_all(1, buf, (size_t)r) < 0) out_ok = 0;
    } else if (p[0].revents & (POLLHUP | POLLERR)) {
      /* Every process holding the terminal has gone; wait for init's status without it. */
      p[0].fd = -1;
      struct timespec t = {0, 20 * 1000 * 1000};
      nanosleep(&t, NULL);
    }
    if (iin >= 0 && (p[iin].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = read(0, buf, sizeof buf);
      if (r > 0) {
        if (write_all(master, buf, (size_t)r) < 0) in_open = 0;
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        in_open = 0;
      }
    }
    if (ictl >= 0 && (p[ictl].revents & (POLLIN | POLLHUP))) {
      char c[64];
      ssize_t r = read(ctl, c, sizeof c);
      if (r == 0 && !ctlpath) {
        close(ctl);
        ctl = -1;
      }
      for (ssize_t k = 0; k < r; k++) {
        if (c[k] == '\n') {
          line[linelen] = 0;
          set_size(master, line);
          linelen = 0;
        } else if (linelen < 64) {
          line[linelen++] = c[k];
        }
      }
    }
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo != SIGCHLD) kill(init, (int)si.ssi_signo);
      }
      int st;
      pid_t w;
      while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
        if (w == init) init_status = status_of(st);
      }
    }
  }
  /* The rest of the output: until the terminal has no writer left (EIO), or a short quiet time. */
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  for (int quiet = 0; quiet < 10;) {
    ssize_t r = read(master, buf, sizeof buf);
    if (r > 0) {
      quiet = 0;
      if (out_ok && write_all(1, buf, (size_t)r) < 0) out_ok = 0;
    } else if (r < 0 && errno == EAGAIN) {
      struct pollfd p = {master, POLLIN, 0};
      if (poll(&p, 1, 20) == 0) quiet++;
    } else {
      break;
    }
  }
  return init_status;
}
