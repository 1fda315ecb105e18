// Starting a user's program so that nothing of it outlives its trial.
//
// Why by hand: Foundation's Process and swift-subprocess can start a child in a new process
// group, but neither ties the group's life to the worker's: when a worker dies by SIGKILL,
// the program and its children would run on, unowned.
// PR_SET_PDEATHSIG covers only a direct child (and fires when the forking *thread* exits),
// so it cannot reach a program's own children either.
//
// The shape: the worker forks a supervisor, which forks the program into a new process
// group (its pid is the group id) and then waits on two things with poll(2): the program's
// pidfd (it ended) and a lifeline pipe whose only write end the worker holds (EOF: the worker
// is gone). Either way the supervisor sends SIGKILL to the whole group, so no process the
// program started survives it, then reports the program's wait status and exits. The worker
// stops a program by signalling the group itself (SIGTERM, then SIGKILL after a grace period).
//
// A program can leave its group (setsid, setpgid) and so escape the group's SIGKILL. The
// supervisor is therefore a child subreaper (PR_SET_CHILD_SUBREAPER): every process the
// program leaves behind, however it detached, is re-parented to the supervisor instead of
// init, and when the program ends (or the worker goes) the supervisor kills and reaps each
// of its children until none is left (`reap_descendants`). A cgroup per attempt would also
// do; it needs a delegated cgroup tree, which a worker run by hand does not have.
//
// After fork only async-signal-safe calls are made (the worker is multithreaded); both
// children close every descriptor they do not need, so one trial's supervisor never holds
// another trial's lifeline open.
#define _GNU_SOURCE
#include "CProcessGroup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int write_all(int fd, const void *bytes, size_t count) {
  const char *p = bytes;
  while (count > 0) {
    ssize_t n = write(fd, p, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    count -= (size_t)n;
  }
  return 0;
}

static int read_all(int fd, void *bytes, size_t count) {
  char *p = bytes;
  size_t got = 0;
  while (got < count) {
    ssize_t n = read(fd, p + got, count - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    got += (size_t)n;
  }
  return (int)got;
}

/// The parent pid in /proc/PID/stat's text (the field after the command's closing ')').
static long parent_in_stat(const char *text, ssize_t length) {
  ssize_t close_paren = -1;
  for (ssize_t i = 0; i < length; i++)
    if (text[i] == ')') close_paren = i;
  if (close_paren < 0) return -1;
  // ") S PPID ..."
  ssize_t i = close_paren + 1;
  while (i < length && text[i] == ' ') i++;
  while (i < length && text[i] != ' ') i++;
  while (i < length && text[i] == ' ') i++;
  long parent = 0;
  int digits = 0;
  while (i < length && text[i] >= '0' && text[i] <= '9') {
    parent = parent * 10 + (text[i] - '0');
    i++;
    digits++;
  }
  return digits ? parent : -1;
}

/// SIGKILLs every process whose parent is this one, scanning /proc with raw system calls
/// (open, getdents64, read: async-signal-safe, no allocation). Returns how many it found.
static int kill_children(pid_t self) {
  int found = 0;
  int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc < 0) return 0;
  char entries[4096];
  for (;;) {
    long got = syscall(SYS_getdents64, proc, entries, sizeof entries);
    if (got <= 0) break;
    for (long offset = 0; offset < got;) {
      // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[].
      unsigned short length;
      memcpy(&length, entries + offset + 16, sizeof length);
      const char *name = entries + offset + 19;
      offset += length;
      if (name[0] < '1' || name[0] > '9') continue;
      char path[64] = "/proc/";
      size_t at = 6;
      for (const char *c = name; *c && at < sizeof path - 6; c++) path[at++] = *c;
      memcpy(path + at, "/stat", 6);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      char text[512];
      ssize_t n = read(fd, text, sizeof text);
      close(fd);
      if (n <= 0 || parent_in_stat(text, n) != (long)self) continue;
      long pid = 0;
      for (const char *c = name; *c >= '0' && *c <= '9'; c++) pid = pid * 10 + (*c - '0');
      kill((pid_t)pid, SIGKILL);
      found++;
    }
  }
  close(proc);
  return found;
}

/// Kills and reaps every descendant left (re-parented here, the supervisor being a
/// subreaper) until none is: each round kills this process's children; their own children
/// come here as they die, and the next round finds them. Bounded rounds (a fork bomb ends
/// too: a SIGKILLed process forks no more).
static void reap_descendants(void) {
  pid_t self = getpid();
  for (int round = 0; round < 10000; round++) {
    kill_children(self);
    int status;
    pid_t reaped;
    while ((reaped = waitpid(-1, &status, WNOHANG)) > 0) {}
    // -1 (ECHILD): no child is left. 0: some are still dying; look again shortly.
    if (reaped < 0 && errno == ECHILD) return;
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, NULL);
  }
}

/// Moves `fd` to exactly `target` (without CLOEXEC).
static int place(int fd, int target) {
  if (fd == target) {
    int flags = fcntl(fd, F_GETFD);
    return flags < 0 ? -1 : fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  return dup2(fd, target) < 0 ? -1 : 0;
}

static void reset_signals(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = SIG_DFL;
  for (int signal = 1; signal < NSIG; signal++) {
    if (signal == SIGKILL || signal == SIGSTOP) continue;
    sigaction(signal, &action, NULL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

/// In the program's process (after the supervisor's fork): its own group, plain signals,
/// its descriptors, its directory, then exec. On failure the errno goes to `exec_fd`.
static void become_program(const char *path, char *const argv[], char *const envp[], const char *directory,
                           int stdout_fd, int stderr_fd, int metrics_fd, int metrics_target, int exec_fd,
                           long uid, long gid) {
  setpgid(0, 0);
  reset_signals();
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  // Park every descriptor we keep above the ones we are about to fill, then place them.
  int high = metrics_target > 16 ? metrics_target + 1 : 17;
  int out = fcntl(stdout_fd, F_DUPFD_CLOEXEC, high);
  int err = fcntl(stderr_fd, F_DUPFD_CLOEXEC, high);
  int met = fcntl(metrics_fd, F_DUPFD_CLOEXEC, high);
  int exe = fcntl(exec_fd, F_DUPFD_CLOEXEC, high);
  int nul = null_fd < 0 ? -1 : fcntl(null_fd, F_DUPFD_CLOEXEC, high);
  int code = 0;
  if (out < 0 || err < 0 || met < 0 || exe < 0 || nul < 0) code = errno ? errno : EBADF;
  if (code == 0 && (place(nul, 0) || place(out, 1) || place(err, 2) || place(met, metrics_target))) code = errno;
  // Another user (`--program-user`): no supplementary groups, its group, then its user —
  // after which the program cannot read what only the worker's user may (its keys).
  if (code == 0 && gid >= 0 && (setgroups(0, NULL) != 0 || setgid((gid_t)gid) != 0)) code = errno;
  if (code == 0 && uid >= 0 && setuid((uid_t)uid) != 0) code = errno;
  if (code == 0) {
    // Everything else closes: below the parked copies (but not the ones placed), and above.
    for (int fd = 3; fd < high; fd++)
      if (fd != metrics_target) close(fd);
    if (exe > high) close_range((unsigned)high, (unsigned)exe - 1, 0);
    close_range((unsigned)exe + 1, ~0U, 0);
    if (directory && chdir(directory) != 0) code = errno;
  }
  if (code == 0) {
    // ETXTBSY: another slot's supervisor, forked while this attempt's copy of the program
    // was open for writing, still holds that descriptor for the microseconds before it
    // closes everything. Retried, as Go's os/exec does, for up to a second.
    for (int tries = 0;; tries++) {
      execve(path, argv, envp);
      code = errno;
      if (code != ETXTBSY || tries >= 1000) break;
      struct timespec pause = {0, 1000000};
      nanosleep(&pause, NULL);
    }
  }
  write_all(exe, &code, sizeof code);
  _exit(127);
}

/// What the program's process needs, for `start_program` on its own stack.
typedef struct {
  const char *path;
  char *const *argv;
  char *const *envp;
  const char *directory;
  int stdout_fd, stderr_fd, metrics_fd, metrics_target, exec_fd;
  long uid, gid;
} program_start;

static int start_program(void *argument) {
  program_start *start = argument;
  become_program(start->path, start->argv, start->envp, start->directory, start->stdout_fd, start->stderr_fd,
                 start->metrics_fd, start->metrics_target, start->exec_fd, start->uid, start->gid);
  return 127;
}

/// Closes every open descriptor of `pipes` (six, -1 when not made) and returns `code`.
static int close_pipes(int pipes[6], int code) {
  for (int i = 0; i < 6; i++)
    if (pipes[i] >= 0) close(pipes[i]);
  return code;
}

/// The stack the program's process starts on (see below); one per supervisor, which starts
/// one program.
enum { program_stack_bytes = 64 * 1024 };

int sweepd_spawn_program(const char *path, char *const argv[], char *const envp[], const char *directory,
                         int stdout_fd, int stderr_fd, int metrics_fd, int metrics_target, long uid, long gid,
                         sweepd_program *out) {
  // Three pipes, held in one array so every failure closes what was made: the lifeline
  // (read end to the supervisor), the report (write end to the supervisor) and the exec
  // pipe (the program's errno if execve fails; closed by a successful one).
  int pipes[6] = {-1, -1, -1, -1, -1, -1};
  int *lifeline = pipes, *report = pipes + 2, *exec_pipe = pipes + 4;
  for (int made = 0; made < 3; made++) {
    if (pipe2(pipes + 2 * made, O_CLOEXEC) != 0) return close_pipes(pipes, errno);
  }
  // The program's process starts with clone(CLONE_VM | CLONE_VFORK), as posix_spawn does: it
  // shares the supervisor's memory on a stack of its own until execve, so the (large)
  // worker's address space is copied once per trial, not twice. Allocated here, before any
  // fork: after fork only async-signal-safe calls are made.
  static __thread char *program_stack = NULL;
  if (!program_stack) program_stack = malloc(program_stack_bytes);
  if (!program_stack) return close_pipes(pipes, ENOMEM);
  pid_t supervisor = fork();
  if (supervisor < 0) return close_pipes(pipes, errno);
  if (supervisor == 0) {
    // The supervisor. It ignores SIGTERM/SIGINT/SIGHUP (a signal meant for the worker's
    // terminal group must not orphan the program unkilled) and keeps SIGCHLD default.
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGTERM, &ignore, NULL);
    sigaction(SIGINT, &ignore, NULL);
    sigaction(SIGHUP, &ignore, NULL);
    sigaction(SIGPIPE, &ignore, NULL);
    // Orphans of the program's tree come here, not to init (see the top of this file).
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    program_start start = {path,       argv,      envp,           directory,    stdout_fd, stderr_fd,
                           metrics_fd, metrics_target, exec_pipe[1], uid, gid};
    pid_t program = clone(start_program, program_stack + program_stack_bytes, CLONE_VM | CLONE_VFORK | SIGCHLD,
                          &start);
    // Keep only the lifeline's read end, the report's write end and the exec pipe's read
    // end — closing everything else *before* waiting on anything: another trial's
    // supervisor, forked at the same moment from another slot thread, may hold our pipes
    // as we hold its, and each would wait for the other's EOF forever.
    int keep_life = lifeline[0], keep_report = report[1], keep_exec = exec_pipe[0];
    int message[2] = {program < 0 ? -1 : program, program < 0 ? errno : 0};
    for (int fd = 3; fd < 1024; fd++)
      if (fd != keep_life && fd != keep_report && fd != keep_exec) close(fd);
    close_range(1024, ~0U, 0);
    if (program > 0) {
      setpgid(program, program);
      int exec_error = 0;
      if (read_all(keep_exec, &exec_error, sizeof exec_error) == (int)sizeof exec_error) message[1] = exec_error;
    }
    close(keep_exec);
    write_all(keep_report, message, sizeof message);
    if (program < 0) _exit(1);
    int status = 0;
    if (message[1] != 0) {
      waitpid(program, &status, 0);
      _exit(1);
    }
    int pidfd = pidfd_open(program, 0);
    struct pollfd watched[2] = {{.fd = keep_life, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
    for (;;) {
      int ready = poll(watched, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? -1 : 50);
      if (ready < 0 && errno != EINTR) break;
      if (watched[0].revents) {
        char byte;
        if (read(keep_life, &byte, 1) <= 0) {
          // The worker is gone: nothing of the program may outlive it.
          kill(-program, SIGKILL);
          waitpid(program, &status, 0);
          reap_descendants();
          _exit(0);
        }
      }
      if (pidfd < 0 || watched[1].revents) {
        // Ended (not yet reaped, so its group id cannot be reused): whatever it left
        // running in its group ends with it, then it is reaped.
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (waitid(P_PID, (id_t)program, &info, WEXITED | WNOWAIT | (pidfd >= 0 ? 0 : WNOHANG)) == 0 &&
            info.si_pid == program) {
          kill(-program, SIGKILL);
          waitpid(program, &status, 0);
          // And whatever left the group (setsid): it was re-parented here.
          reap_descendants();
          break;
        }
      }
    }
    write_all(keep_report, &status, sizeof status);
    _exit(0);
  }
  close(lifeline[0]);
  close(report[1]);
  close(exec_pipe[0]);
  close(exec_pipe[1]);
  int message[2] = {0, 0};
  int code = 0;
  if (read_all(report[0], message, sizeof message) != (int)sizeof message) {
    code = EIO;
  } else if (message[1] != 0 || message[0] <= 0) {
    code = message[1] ? message[1] : EAGAIN;
  }
  if (code != 0) {
    // Not started: the supervisor has exited or is exiting; reap it.
    int status;
    close(report[0]);
    close(lifeline[1]);
    waitpid(supervisor, &status, 0);
    return code;
  }
  out->supervisor = supervisor;
  out->group = message[0];
  out->report_fd = report[0];
  out->lifeline_fd = lifeline[1];
  return 0;
}

int sweepd_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC) == 0 ? 0 : errno; }
