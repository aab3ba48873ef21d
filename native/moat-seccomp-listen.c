/*
 * moat-seccomp-listen SOCKET OUT: the recorder of `moat seccomp learn` (src/seccomp/learn/).
 *
 * runc, given a seccomp profile whose rules say SCMP_ACT_NOTIFY and `listenerPath: SOCKET`,
 * connects to SOCKET once the container's filter is loaded and sends the container's state (JSON)
 * with the filter's notification fd attached (SCM_RIGHTS). Node cannot receive a file descriptor
 * over a unix socket, hence this helper. It binds SOCKET (mode 0600), says "ready" on stdout,
 * takes one connection, then answers every notification with CONTINUE (the call goes on as if
 * unfiltered: this is a recording, not a sandbox) after noting the call's architecture and number.
 * Each pair is written to OUT once, as "ARCH NR\n" (decimal AUDIT_ARCH_* and syscall number).
 * It exits 0 when the container's last task is gone (the notification fd hangs up), 2 on a usage
 * or setup error, 3 if runc never connects within the timeout. Everything it reads is bounded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_ARCHES 4
#define MAX_NR 4096
#define ACCEPT_TIMEOUT_MS 120000

static uint32_t arches[MAX_ARCHES];
static unsigned char seen[MAX_ARCHES][MAX_NR / 8];
static int n_arches;

static void die(const char *what) {
  fprintf(stderr, "moat-seccomp-listen: %s: %s\n", what, strerror(errno));
  exit(2);
}

/* Note (arch, nr) in OUT the first time it is seen. */
static void note(int out, uint32_t arch, int nr) {
  int a;
  if (nr < 0 || nr >= MAX_NR) return;
  for (a = 0; a < n_arches && arches[a] != arch; a++) {
  }
  if (a == n_arches) {
    if (n_arches == MAX_ARCHES) return;
    arches[n_arches++] = arch;
  }
  if (seen[a][nr / 8] & (1 << (nr % 8))) return;
  seen[a][nr / 8] |= (unsigned char)(1 << (nr % 8));
  char line[48];
  int len = snprintf(line, sizeof line, "%u %d\n", arch, nr);
  if (write(out, line, (size_t)len) != len) die("write OUT");
}

/* Receive the notification fd that runc sends with the container's state. */
static int receive_fd(int conn) {
  char state[65536];
  char control[CMSG_SPACE(sizeof(int) * 4)];
  struct iovec iov = {.iov_base = state, .iov_len = sizeof state};
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) die("recvmsg");
  int fd = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int fds[4];
    if (count > 4) count = 4;
    memcpy(fds, CMSG_DATA(c), count * sizeof(int));
    for (size_t i = 0; i < count; i++) {
      if (fd < 0)
        fd = fds[i];
      else
        close(fds[i]); /* only the first is the seccomp fd */
    }
  }
  if (fd < 0) {
    fprintf(stderr, "moat-seccomp-listen: runc sent no file descriptor\n");
    exit(2);
  }
  return fd;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: moat-seccomp-listen SOCKET OUT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int out = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (out < 0) die("open OUT");

  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(argv[1]) >= sizeof addr.sun_path) {
    fprintf(stderr, "moat-seccomp-listen: socket path too long\n");
    return 2;
  }
  strcpy(addr.sun_path, argv[1]);
  int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (srv < 0) die("socket");
  mode_t old = umask(0077);
  if (bind(srv, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  umask(old);
  if (listen(srv, 1) < 0) die("listen");
  if (write(STDOUT_FILENO, "ready\n", 6) != 6) die("write ready");

  struct pollfd p = {.fd = srv, .events = POLLIN};
  int r = poll(&p, 1, ACCEPT_TIMEOUT_MS);
  if (r <= 0) {
    unlink(argv[1]);
    fprintf(stderr, "moat-seccomp-listen: runc did not connect\n");
    return 3;
  }
  int conn = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) die("accept");
  int fd = receive_fd(conn);
  close(conn);
  close(srv);
  unlink(argv[1]);

  struct seccomp_notif_sizes sizes;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) die("SECCOMP_GET_NOTIF_SIZES");
  size_t req_size = sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif : sizeof(struct seccomp_notif);
  size_t resp_size = sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp) ? sizes.seccomp_notif_resp
                                                                                   : sizeof(struct seccomp_notif_resp);
  struct seccomp_notif *req = malloc(req_size);
  struct seccomp_notif_resp *resp = malloc(resp_size);
  if (!req || !resp) die("malloc");

  for (;;) {
    struct pollfd q = {.fd = fd, .events = POLLIN};
    if (poll(&q, 1, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (q.revents & (POLLHUP | POLLERR | POLLNVAL)) break; /* no task left under the filter */
    memset(req, 0, req_size);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
      if (errno == EINTR || errno == ENOENT) continue; /* the caller went meanwhile */
      die("SECCOMP_IOCTL_NOTIF_RECV");
    }
    note(out, req->data.arch, req->data.nr);
    memset(resp, 0, resp_size);
    resp->id = req->id;
    resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT) die("SECCOMP_IOCTL_NOTIF_SEND");
  }
  close(out);
  return 0;
}
