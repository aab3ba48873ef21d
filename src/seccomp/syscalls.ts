/**
 * The syscall data behind moat's default seccomp profile, written for moat (not derived from
 * Docker's JSON). The profile is an allowlist: the default action refuses with EPERM, and only the
 * names below are let through. `default-profile.ts` turns this data into rules.
 *
 * The default filter covers the host's 64-bit ABI only (see ARCH_MAP in default-profile.ts). The
 * 32-bit spellings (`fstat64`, `_llseek`, `*_time64`) stay beside the 64-bit ones so that a custom
 * profile built from this one for the compat ABIs (x86 and x32 on x86_64, arm on aarch64) still
 * runs 32-bit programs; libseccomp skips a name on the ABIs that lack it.
 *
 * Syscalls that take arguments worth filtering (clone, socket, socketpair, personality) are not
 * here: their rules live in `default-profile.ts`, next to the constants they compare against.
 */

export interface SyscallGroup {
  /** Why these calls are allowed, in a few words. */
  readonly purpose: string;
  readonly names: readonly string[];
}

export interface CapabilityGroup extends SyscallGroup {
  /** Allowed when ANY of these capabilities is granted (one rule per capability). */
  readonly anyOf: readonly string[];
  /** Docker-style host arches (`amd64`, `arm64`) the rule is limited to, if any. */
  readonly arches?: readonly string[];
}

/** Allowed for every container, whatever its capabilities. */
// prettier-ignore
export const ALLOWED: readonly SyscallGroup[] = [
  {
    purpose: 'process lifecycle: start, exec, exit, wait, signal other processes',
    names: [
      'execve', 'execveat', 'fork', 'vfork', 'exit', 'exit_group',
      'wait4', 'waitid', 'waitpid',
      'kill', 'tkill', 'tgkill', 'pidfd_open', 'pidfd_send_signal',
      'getpid', 'getppid', 'gettid', 'getpgid', 'setpgid', 'getpgrp', 'getsid', 'setsid',
      'set_tid_address', 'restart_syscall', 'prctl', 'process_mrelease',
    ],
  },
  {
    // The kernel still checks these against the container's capabilities and user namespace.
    purpose: 'credentials and capabilities of the calling process',
    names: [
      'getuid', 'geteuid', 'getgid', 'getegid', 'getresuid', 'getresgid', 'getgroups',
      'setuid', 'setgid', 'setreuid', 'setregid', 'setresuid', 'setresgid', 'setgroups',
      'setfsuid', 'setfsgid',
      'getuid32', 'geteuid32', 'getgid32', 'getegid32', 'getresuid32', 'getresgid32', 'getgroups32',
      'setuid32', 'setgid32', 'setreuid32', 'setregid32', 'setresuid32', 'setresgid32', 'setgroups32',
      'setfsuid32', 'setfsgid32',
      'capget', 'capset',
    ],
  },
  {
    purpose: 'signal handling',
    names: [
      'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigpending', 'rt_sigsuspend',
      'rt_sigtimedwait', 'rt_sigtimedwait_time64', 'rt_sigqueueinfo', 'rt_tgsigqueueinfo',
      'sigaltstack', 'sigreturn', 'sigprocmask', 'signalfd', 'signalfd4', 'pause', 'alarm',
    ],
  },
  {
    // mbind/set_mempolicy & co. are not here: they move memory across NUMA nodes (CAP_SYS_NICE).
    purpose: 'memory management of the own address space',
    names: [
      'brk', 'mmap', 'mmap2', 'munmap', 'mremap', 'mprotect', 'madvise', 'mincore', 'msync',
      'mlock', 'mlock2', 'munlock', 'mlockall', 'munlockall', 'remap_file_pages',
      'membarrier', 'memfd_create', 'memfd_secret', 'mseal', 'map_shadow_stack',
      'pkey_alloc', 'pkey_free', 'pkey_mprotect',
    ],
  },
  {
    purpose: 'threads, futexes, restartable sequences, scheduling of own tasks',
    names: [
      'futex', 'futex_time64', 'futex_waitv', 'futex_wake', 'futex_wait', 'futex_requeue',
      'set_robust_list', 'get_robust_list', 'rseq', 'set_thread_area', 'get_thread_area',
      'sched_yield', 'sched_getaffinity', 'sched_setaffinity', 'sched_getparam', 'sched_setparam',
      'sched_getscheduler', 'sched_setscheduler', 'sched_getattr', 'sched_setattr',
      'sched_get_priority_max', 'sched_get_priority_min',
      'sched_rr_get_interval', 'sched_rr_get_interval_time64',
      'getpriority', 'setpriority', 'ioprio_get', 'ioprio_set', 'getcpu',
    ],
  },
  {
    // Reading clocks and per-process timers. Setting the clock is CAP_SYS_TIME (below);
    // adjtimex/clock_adjtime in read mode are harmless and the kernel refuses changes.
    purpose: 'clocks, sleeping and timers',
    names: [
      'clock_gettime', 'clock_gettime64', 'clock_getres', 'clock_getres_time64',
      'clock_nanosleep', 'clock_nanosleep_time64', 'nanosleep', 'gettimeofday', 'time', 'times',
      'adjtimex', 'clock_adjtime', 'clock_adjtime64',
      'getitimer', 'setitimer',
      'timer_create', 'timer_delete', 'timer_getoverrun',
      'timer_gettime', 'timer_gettime64', 'timer_settime', 'timer_settime64',
      'timerfd_create', 'timerfd_gettime', 'timerfd_gettime64', 'timerfd_settime', 'timerfd_settime64',
    ],
  },
  {
    purpose: 'resource limits and system information',
    names: [
      'getrlimit', 'setrlimit', 'ugetrlimit', 'prlimit64', 'getrusage', 'sysinfo', 'uname', 'umask',
      'getrandom',
    ],
  },
  {
    purpose: 'file descriptor I/O',
    names: [
      'read', 'write', 'readv', 'writev', 'pread64', 'pwrite64', 'preadv', 'pwritev', 'preadv2', 'pwritev2',
      'lseek', '_llseek', 'close', 'close_range', 'dup', 'dup2', 'dup3', 'fcntl', 'fcntl64', 'ioctl',
      'pipe', 'pipe2', 'sendfile', 'sendfile64', 'splice', 'tee', 'vmsplice', 'copy_file_range',
      'flock', 'fsync', 'fdatasync', 'sync', 'syncfs', 'sync_file_range', 'readahead',
      'fadvise64', 'fadvise64_64', 'fallocate', 'ftruncate', 'ftruncate64', 'truncate', 'truncate64',
      'cachestat',
    ],
  },
  {
    // mknod is safe here: device nodes need CAP_MKNOD in the initial user namespace, which a
    // rootless container never has.
    purpose: 'paths: open, stat, directories, links, permissions, timestamps',
    names: [
      'open', 'openat', 'openat2', 'creat', 'access', 'faccessat', 'faccessat2',
      'stat', 'lstat', 'fstat', 'newfstatat', 'stat64', 'lstat64', 'fstat64', 'fstatat64', 'statx',
      'statfs', 'fstatfs', 'statfs64', 'fstatfs64',
      'getdents', 'getdents64', 'getcwd', 'chdir', 'fchdir', 'mkdir', 'mkdirat', 'rmdir',
      'rename', 'renameat', 'renameat2', 'link', 'linkat', 'unlink', 'unlinkat',
      'symlink', 'symlinkat', 'readlink', 'readlinkat',
      'chmod', 'fchmod', 'fchmodat', 'fchmodat2',
      'chown', 'fchown', 'lchown', 'fchownat', 'chown32', 'fchown32', 'lchown32',
      'mknod', 'mknodat', 'utime', 'utimes', 'utimensat', 'utimensat_time64', 'futimesat',
    ],
  },
  {
    purpose: 'extended attributes',
    names: [
      'getxattr', 'lgetxattr', 'fgetxattr', 'setxattr', 'lsetxattr', 'fsetxattr',
      'listxattr', 'llistxattr', 'flistxattr', 'removexattr', 'lremovexattr', 'fremovexattr',
      'getxattrat', 'setxattrat', 'listxattrat', 'removexattrat',
    ],
  },
  {
    // fanotify_init is CAP_SYS_ADMIN (below); marking is useless without it.
    purpose: 'waiting for events: select/poll/epoll, eventfd, inotify',
    names: [
      'select', '_newselect', 'pselect6', 'pselect6_time64', 'poll', 'ppoll', 'ppoll_time64',
      'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2',
      'eventfd', 'eventfd2', 'inotify_init', 'inotify_init1', 'inotify_add_watch', 'inotify_rm_watch',
      'fanotify_mark',
    ],
  },
  {
    // io_uring is deliberately absent: its submissions bypass seccomp entirely, and it has been
    // the source of a steady stream of kernel privilege escalations.
    purpose: 'legacy asynchronous I/O (aio)',
    names: [
      'io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents',
      'io_pgetevents', 'io_pgetevents_time64',
    ],
  },
  {
    // socket() and socketpair() are filtered by family in default-profile.ts.
    purpose: 'using sockets once created',
    names: [
      'bind', 'connect', 'listen', 'accept', 'accept4', 'getsockname', 'getpeername',
      'getsockopt', 'setsockopt', 'shutdown',
      'sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg', 'recvmmsg_time64',
      'send', 'recv',
    ],
  },
  {
    // The container has its own IPC namespace.
    purpose: 'System V IPC and POSIX message queues',
    names: [
      'shmget', 'shmat', 'shmdt', 'shmctl', 'semget', 'semop', 'semtimedop', 'semtimedop_time64', 'semctl',
      'msgget', 'msgsnd', 'msgrcv', 'msgctl', 'ipc',
      'mq_open', 'mq_unlink', 'mq_timedsend', 'mq_timedsend_time64',
      'mq_timedreceive', 'mq_timedreceive_time64', 'mq_notify', 'mq_getsetattr',
    ],
  },
  {
    // These only ever take privileges away from the caller.
    purpose: 'self-sandboxing',
    names: ['seccomp', 'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self'],
  },
  {
    // The x86_64 trampoline return for uretprobes; the kernel only honours it from that page.
    purpose: 'uprobe return trampoline',
    names: ['uretprobe'],
  },
];

/** Allowed only for the host arches listed (Docker's Go spelling). */
// prettier-ignore
export const ALLOWED_BY_ARCH: readonly (SyscallGroup & { readonly arches: readonly string[] })[] = [
  {
    // Thread-local storage setup; every x86_64 program calls it. (modify_ldt is not allowed: only
    // 16-bit code and old Wine need it, and it has a history of kernel bugs.)
    purpose: 'x86 thread-local storage',
    arches: ['amd64'],
    names: ['arch_prctl'],
  },
  {
    purpose: '32-bit arm ABI calls (cache flush, TLS, fadvise/sync_file_range spellings)',
    arches: ['arm64'],
    names: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'],
  },
];

/**
 * Allowed only when a capability is granted, mirroring what the kernel would check anyway.
 * Granting the capability is the user's explicit choice (`--cap-add`); the filter then stops
 * standing in the way of what that capability is for.
 */
// prettier-ignore
export const ALLOWED_WITH_CAPABILITY: readonly CapabilityGroup[] = [
  {
    // clone with namespace flags and clone3 are in default-profile.ts; pivot_root stays blocked.
    purpose: 'namespaces, mounts and the new mount API, hostname, quotas, fanotify',
    anyOf: ['CAP_SYS_ADMIN'],
    names: [
      'unshare', 'setns', 'mount', 'umount', 'umount2',
      'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree', 'mount_setattr',
      'sethostname', 'setdomainname', 'quotactl', 'quotactl_fd', 'fanotify_init',
    ],
  },
  { purpose: 'eBPF programs and maps', anyOf: ['CAP_BPF', 'CAP_SYS_ADMIN'], names: ['bpf'] },
  {
    purpose: 'performance monitoring',
    anyOf: ['CAP_PERFMON', 'CAP_SYS_ADMIN'],
    names: ['perf_event_open'],
  },
  { purpose: 'changing the root directory', anyOf: ['CAP_SYS_CHROOT'], names: ['chroot'] },
  {
    purpose: 'loading and unloading kernel modules',
    anyOf: ['CAP_SYS_MODULE'],
    names: ['init_module', 'finit_module', 'delete_module'],
  },
  {
    // Blocked without the capability: ptrace (and the calls with the same power over another
    // process) lets one process in the container take over any other with the same uid. Debuggers
    // ask for --cap-add SYS_PTRACE, which is also what the kernel checks for foreign processes.
    purpose: 'tracing and inspecting other processes',
    anyOf: ['CAP_SYS_PTRACE'],
    names: ['ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd', 'process_madvise', 'userfaultfd'],
  },
  {
    purpose: 'setting the system clock',
    anyOf: ['CAP_SYS_TIME'],
    names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'],
  },
  { purpose: 'rebooting', anyOf: ['CAP_SYS_BOOT'], names: ['reboot'] },
  { purpose: 'process accounting', anyOf: ['CAP_SYS_PACCT'], names: ['acct'] },
  {
    purpose: 'NUMA memory placement',
    anyOf: ['CAP_SYS_NICE'],
    names: ['mbind', 'get_mempolicy', 'set_mempolicy', 'set_mempolicy_home_node', 'migrate_pages', 'move_pages'],
  },
  { purpose: 'kernel log', anyOf: ['CAP_SYSLOG'], names: ['syslog'] },
  {
    purpose: 'raw x86 I/O ports',
    anyOf: ['CAP_SYS_RAWIO'],
    arches: ['amd64'],
    names: ['iopl', 'ioperm'],
  },
  {
    // The kernel checks CAP_DAC_READ_SEARCH in the initial user namespace, so a rootless
    // container still cannot use these; the rule only keeps parity with rootful runtimes.
    purpose: 'file handles',
    anyOf: ['CAP_DAC_READ_SEARCH'],
    names: ['name_to_handle_at', 'open_by_handle_at'],
  },
  { purpose: 'hanging up the terminal', anyOf: ['CAP_SYS_TTY_CONFIG'], names: ['vhangup'] },
];

/**
 * Names in `ALLOWED` that libseccomp 2.5.4 (Debian bookworm) does not know. runc drops unknown
 * names, so until libseccomp learns them these calls fail with the default EPERM (or ENOSYS
 * via runc's stub for numbers past libseccomp's table). Listed so a typo cannot hide among them;
 * a unit test checks this list against `scmp_sys_resolver`.
 */
export const NEWER_THAN_LIBSECCOMP: readonly string[] = [
  'mseal',
  'getxattrat',
  'setxattrat',
  'listxattrat',
  'removexattrat',
  'uretprobe',
];
