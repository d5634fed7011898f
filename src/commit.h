/*
** File work off the host's thread. ff_file_commit's fsync takes 5-30 ms on
** an ordinary disk, a cache hit's copy as long again, the sha256 of a 12 MB
** upload 50 ms, and a host stepping 60 times a second cannot spend that
** inside ff:step(0). One worker thread per client does them, in order, and
** says so on a descriptor the engine watches:
**   FF_WORK_COMMIT  a finished download's flush, fsync, close and rename;
**   FF_WORK_COPY    src copied into file, then committed as a download is;
**   FF_WORK_HASH    the sha256 of src.
** The worker touches only the commit it holds (FILEs, names, counters, an
** error): no Lua, no libcurl, nothing of the client's.
*/
#ifndef FF_COMMIT_H
#define FF_COMMIT_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "protocol.h"

typedef enum { FF_WORK_COMMIT, FF_WORK_COPY, FF_WORK_HASH } ff_work;

typedef struct ff_commit {
  ff_work kind;
  FILE *file;     /* the output (COMMIT: complete; COPY: empty): owned by the commit */
  char *tmp;      /* its temporary name, renamed to path (or removed on failure) */
  char *path;
  FILE *src;      /* COPY, HASH: the file read, owned by the commit ... */
  char *src_path; /* ... and its name, for messages */
  long long size; /* src's size when opened */
  atomic_llong done_bytes; /* of src, read so far (progress, from the owner's thread) */
  atomic_int canceled;     /* the owner gave up: the worker stops, nothing is left at path */
  char digest[65];         /* HASH: src's sha256, in hex */
  char stamp[FF_STAMP_LEN]; /* src's ff_file_stamp when opened */
  int failed;     /* the work failed: err says why */
  ff_error err;
  uint64_t handle; /* the owner's, unread here */
  void *ud;
  struct ff_commit *next;
} ff_commit;

typedef struct ff_committer ff_committer;

/* NULL when memory or descriptors run out. */
ff_committer *ff_committer_new(void);
/* Readable while finished commits wait to be taken. */
int ff_committer_fd(const ff_committer *m);
/* Hands c to the worker (started on first use). -1: no worker could be had, c is the caller's still. */
int ff_committer_push(ff_committer *m, ff_commit *c);
/* The finished commits, in the order they were pushed (NULL for none); the caller frees them. */
ff_commit *ff_committer_take(ff_committer *m);
/* Commits pushed and not yet taken. */
size_t ff_committer_pending(ff_committer *m);
/* Finished commits wait to be taken. */
int ff_committer_ready(ff_committer *m);
/* Waits for the worker to finish every commit pushed (the files do get saved), then stops it;
   what it finished is still there for ff_committer_take. */
void ff_committer_stop(ff_committer *m);
void ff_committer_free(ff_committer *m);
/* Does c's work on the calling thread (the worker's, or the owner's when no worker can be had). */
void ff_commit_run(ff_commit *c);
/* COPY, HASH: opens the regular file at path as c's src (size, mtime). -1: err set. */
int ff_commit_open_src(ff_commit *c, const char *path, ff_error *err);
/* Frees a commit (its file closed and temporary removed if still held). */
void ff_commit_free(ff_commit *c);

#endif
