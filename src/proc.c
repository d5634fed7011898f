#define _GNU_SOURCE /* pipe2 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int ff_proc_spawn(ff_proc *p, char *const argv[], int pipe_in, int pipe_out, const char *err_path) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, rc;
  posix_spawn_file_actions_t fa;
  memset(p, 0, sizeof *p);
  p->in = p->out = -1;
  if ((pipe_in && pipe2(in, O_CLOEXEC) != 0) || (pipe_out && pipe2(out, O_CLOEXEC) != 0)) {
    rc = errno;
    goto fail;
  }
  if ((rc = posix_spawn_file_actions_init(&fa)) != 0) goto fail;
  /* dup2 onto 0 and 1 clears close-on-exec there; the originals close at exec. */
  if ((pipe_in && (rc = posix_spawn_file_actions_adddup2(&fa, in[0], 0)) != 0) ||
      (pipe_out && (rc = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) != 0) ||
      (err_path && (rc = posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != 0)) {
    posix_spawn_file_actions_destroy(&fa);
    goto fail;
  }
  rc = posix_spawnp(&p->pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) goto fail;
  if (pipe_in) close(in[0]);
  if (pipe_out) close(out[1]);
  p->in = in[1];
  p->out = out[0];
  return 0;
fail:
  if (in[0] >= 0) close(in[0]), close(in[1]);
  if (out[0] >= 0) close(out[0]), close(out[1]);
  p->pid = 0;
  return rc ? rc : EINVAL;
}

int ff_proc_read_line(ff_proc *p, char *buf, size_t size) {
  size_t n = 0;
  int got = 0;
  if (p->out < 0 || size == 0) return 0;
  for (;;) {
    char c;
    ssize_t r = read(p->out, &c, 1); /* a byte at a time: nothing past the line is taken from the pipe */
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got = 1;
    if (c == '\n') break;
    if (n + 1 < size) buf[n++] = c;
  }
  buf[n] = '\0';
  return got;
}

void ff_proc_close_in(ff_proc *p) {
  if (p->in >= 0) close(p->in);
  p->in = -1;
}

void ff_proc_close_out(ff_proc *p) {
  if (p->out >= 0) close(p->out);
  p->out = -1;
}

int ff_proc_wait(ff_proc *p, int block) {
  pid_t r;
  if (p->reaped) return 1;
  if (p->pid <= 0) return -1;
  r = waitpid(p->pid, &p->status, block ? 0 : WNOHANG);
  if (r == 0) return 0;
  if (r < 0) return -1;
  p->reaped = 1;
  return 1;
}
