/*
** Starting a helper process (the emulator) without a shell: posix_spawnp with
** an argument vector, so no path or flag value is ever read by /bin/sh. Its
** stdin and stdout may be pipes to this process; both ends kept here are
** close-on-exec, so no other child this process starts inherits them (the
** stdin pipe is the helper's lifeline: it ends at EOF). No Lua here.
*/
#ifndef FF_PROC_H
#define FF_PROC_H

#include <sys/types.h>

typedef struct ff_proc {
  pid_t pid;
  int in;      /* write end of its stdin, -1 when inherited or closed */
  int out;     /* read end of its stdout, -1 when inherited or closed */
  int status;  /* waitpid's status once reaped */
  int reaped;
} ff_proc;

/*
** Starts argv[0] (looked up on PATH when it has no '/'). pipe_in / pipe_out:
** give it pipes for stdin / stdout; err_path: its stderr goes to this file
** (created, truncated), NULL: inherited. 0, or an errno value.
*/
int ff_proc_spawn(ff_proc *p, char *const argv[], int pipe_in, int pipe_out, const char *err_path);
/* One line of its stdout without the newline, into buf[size] (longer lines are cut); 1, or 0 at EOF. */
int ff_proc_read_line(ff_proc *p, char *buf, size_t size);
void ff_proc_close_in(ff_proc *p);
void ff_proc_close_out(ff_proc *p);
/* Reaps it: blocking, or not (0 while it runs). 1 once reaped, -1 on an error (EINTR: a signal came first). */
int ff_proc_wait(ff_proc *p, int block);

#endif
