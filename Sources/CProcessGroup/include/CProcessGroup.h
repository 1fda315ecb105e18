#ifndef SWEEPD_PROCESS_GROUP_H
#define SWEEPD_PROCESS_GROUP_H

#include <sys/types.h>

/// A program started in its own process group under a small supervisor (see spawn.c).
typedef struct {
  /// The supervisor's pid: the caller waits for it (waitpid) once `report_fd` has said
  /// how the program ended.
  pid_t supervisor;
  /// The program's pid, which is also its process group id: signal `-group` to reach the
  /// program and every process it started.
  pid_t group;
  /// Read end of the supervisor's report pipe: 4 bytes (the program's wait status) once the
  /// program has ended and every process left in its group has been killed.
  int report_fd;
  /// Write end of the lifeline: while the caller holds it open the program may live; when
  /// it closes (the caller exits, even by SIGKILL) the supervisor kills the whole group.
  int lifeline_fd;
} sweepd_program;

/// Starts `path` with `argv` and `envp` (NULL-terminated) in `directory`, its standard
/// input from /dev/null, standard output and error on `stdout_fd` and `stderr_fd`, and
/// `metrics_fd` open in the program as descriptor `metrics_target` (every other descriptor
/// closed). Returns 0, or an errno value (the program did not start: `exec` failed, for
/// example ENOENT); on failure nothing is left running.
/// `uid`, `gid` ≥ 0: the program runs as that user and group (no supplementary groups);
/// -1: as the worker.
int sweepd_spawn_program(const char *path, char *const argv[], char *const envp[], const char *directory,
                         int stdout_fd, int stderr_fd, int metrics_fd, int metrics_target, long uid, long gid,
                         sweepd_program *out);

/// pipe2(fds, O_CLOEXEC): a pipe no other program inherits. Returns 0 or an errno value.
int sweepd_pipe_cloexec(int fds[2]);

#endif
