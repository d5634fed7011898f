#define _POSIX_C_SOURCE 200809L
#include "commit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "files.h"
#include "sha256.h"

#include <string.h>
#include <sys/stat.h>

struct ff_committer {
  pthread_mutex_t lock;
  pthread_cond_t work;
  pthread_t thread;
  int started, stopping;
  ff_commit *todo, *todo_tail; /* pushed, not yet committed */
  ff_commit *done, *done_tail; /* committed, not yet taken */
  size_t pending;              /* pushed and not yet taken */
  int pipe[2];                 /* a byte per finished commit: the engine's poller wakes */
};

static int nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ? -1 : 0;
}

ff_committer *ff_committer_new(void) {
  ff_committer *m = calloc(1, sizeof *m);
  if (m == NULL) return NULL;
  m->pipe[0] = m->pipe[1] = -1;
  if (pipe(m->pipe) != 0 || nonblocking(m->pipe[0]) != 0 || nonblocking(m->pipe[1]) != 0) {
    if (m->pipe[0] >= 0) close(m->pipe[0]);
    if (m->pipe[1] >= 0) close(m->pipe[1]);
    free(m);
    return NULL;
  }
  if (pthread_mutex_init(&m->lock, NULL) != 0) {
    close(m->pipe[0]);
    close(m->pipe[1]);
    free(m);
    return NULL;
  }
  if (pthread_cond_init(&m->work, NULL) != 0) {
    pthread_mutex_destroy(&m->lock);
    close(m->pipe[0]);
    close(m->pipe[1]);
    free(m);
    return NULL;
  }
  return m;
}

int ff_committer_fd(const ff_committer *m) { return m->pipe[0]; }

/*
** Reads src to its end in 64 KiB chunks, each to the hash or the output;
** stops early when the owner cancels. 0, or -1 with c->err set.
*/
static int read_src(ff_commit *c, ff_sha256 *h) {
  char buf[65536], now[FF_STAMP_LEN];
  size_t n;
  struct stat st;
  while ((n = fread(buf, 1, sizeof buf, c->src)) > 0) {
    if (atomic_load(&c->canceled)) {
      ff_error_set(&c->err, FF_E_CANCELED, "cancelled");
      return -1;
    }
    if (h) ff_sha256_update(h, buf, n);
    if (c->file && fwrite(buf, 1, n, c->file) != n) {
      ff_error_set(&c->err, FF_E_IO, "cannot write %s: %s", c->path, strerror(errno ? errno : EIO));
      return -1;
    }
    atomic_fetch_add(&c->done_bytes, (long long)n);
  }
  if (ferror(c->src)) {
    ff_error_set(&c->err, FF_E_IO, "cannot read %s: %s", c->src_path, strerror(errno ? errno : EIO));
    return -1;
  }
  /* Written to while read: what was read is neither the old file nor the new one. */
  if (fstat(fileno(c->src), &st) != 0 || (ff_file_stamp(&st, now), strcmp(now, c->stamp) != 0)) {
    ff_error_set(&c->err, FF_E_IO, "%s changed while it was being read", c->src_path);
    return -1;
  }
  return 0;
}

void ff_commit_run(ff_commit *c) {
  ff_sha256 h;
  if (c->kind == FF_WORK_HASH) {
    ff_sha256_init(&h);
    c->failed = read_src(c, &h) != 0;
    if (!c->failed) ff_sha256_hex(&h, c->digest);
    return;
  }
  if (c->kind == FF_WORK_COPY && read_src(c, NULL) != 0) {
    c->failed = 1;
    fclose(c->file);
    c->file = NULL;
    unlink(c->tmp); /* nothing half-written stays, and nothing is at path */
    return;
  }
  /* A download, or a copy now complete: flushed, fsynced, closed and renamed. */
  c->failed = ff_file_commit(c->file, c->tmp, c->path, &c->err) != 0;
  c->file = NULL; /* closed by the commit, whatever its outcome */
}

int ff_commit_open_src(ff_commit *c, const char *path, ff_error *err) {
  struct stat st;
  c->src = ff_file_source(path, &c->size, err);
  if (c->src == NULL) return -1;
  if ((c->src_path = ff_strdup(path)) == NULL || fstat(fileno(c->src), &st) != 0) {
    ff_error_set(err, FF_E_NOMEM, "out of memory reading %s", path);
    return -1;
  }
  ff_file_stamp(&st, c->stamp);
  return 0;
}

static void *worker(void *ud) {
  ff_committer *m = ud;
  pthread_mutex_lock(&m->lock);
  for (;;) {
    ff_commit *c;
    while (m->todo == NULL && !m->stopping) pthread_cond_wait(&m->work, &m->lock);
    if (m->todo == NULL) break; /* stopping, and nothing left to save */
    c = m->todo;
    m->todo = c->next;
    if (m->todo == NULL) m->todo_tail = NULL;
    pthread_mutex_unlock(&m->lock);
    c->next = NULL;
    ff_commit_run(c);
    pthread_mutex_lock(&m->lock);
    if (m->done_tail) m->done_tail->next = c; else m->done = c;
    m->done_tail = c;
    /* A full pipe already says "ready": the byte is a wake-up, not a count. */
    if (write(m->pipe[1], "", 1) < 0) { /* EAGAIN: readable anyway */ }
  }
  pthread_mutex_unlock(&m->lock);
  return NULL;
}

int ff_committer_push(ff_committer *m, ff_commit *c) {
  int r = 0;
  c->next = NULL;
  pthread_mutex_lock(&m->lock);
  if (m->stopping) {
    r = -1;
  } else if (!m->started) {
    /*
    ** Every signal stays with the host's threads: a Ctrl-C must interrupt the
    ** host's poll (src/lfirefly.c's trap), not a worker's fsync. The new
    ** thread inherits the mask in force when it is created.
    */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&m->thread, NULL, worker, m) == 0)
      m->started = 1;
    else
      r = -1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  if (r == 0) {
    if (m->todo_tail) m->todo_tail->next = c; else m->todo = c;
    m->todo_tail = c;
    m->pending++;
    pthread_cond_signal(&m->work);
  }
  pthread_mutex_unlock(&m->lock);
  return r;
}

ff_commit *ff_committer_take(ff_committer *m) {
  char sink[64];
  ff_commit *list, *c;
  while (read(m->pipe[0], sink, sizeof sink) > 0) {}
  pthread_mutex_lock(&m->lock);
  list = m->done;
  m->done = m->done_tail = NULL;
  for (c = list; c; c = c->next) m->pending--;
  pthread_mutex_unlock(&m->lock);
  return list;
}

size_t ff_committer_pending(ff_committer *m) {
  size_t n;
  pthread_mutex_lock(&m->lock);
  n = m->pending;
  pthread_mutex_unlock(&m->lock);
  return n;
}

int ff_committer_ready(ff_committer *m) {
  int r;
  pthread_mutex_lock(&m->lock);
  r = m->done != NULL;
  pthread_mutex_unlock(&m->lock);
  return r;
}

void ff_committer_stop(ff_committer *m) {
  int started;
  pthread_mutex_lock(&m->lock);
  m->stopping = 1;
  started = m->started;
  pthread_cond_signal(&m->work);
  pthread_mutex_unlock(&m->lock);
  if (started) pthread_join(m->thread, NULL);
  m->started = 0;
}

void ff_commit_free(ff_commit *c) {
  if (c == NULL) return;
  if (c->file) {
    fclose(c->file);
    if (c->tmp) unlink(c->tmp);
  }
  if (c->src) fclose(c->src);
  ff_error_free(&c->err);
  free(c->tmp);
  free(c->path);
  free(c->src_path);
  free(c);
}

void ff_committer_free(ff_committer *m) {
  ff_commit *c;
  if (m == NULL) return;
  ff_committer_stop(m);
  while ((c = m->done) != NULL) {
    m->done = c->next;
    ff_commit_free(c);
  }
  pthread_cond_destroy(&m->work);
  pthread_mutex_destroy(&m->lock);
  close(m->pipe[0]);
  close(m->pipe[1]);
  free(m);
}
