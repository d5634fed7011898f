/*
** Finished downloads made durable off the host's thread. ff_file_commit's
** fsync takes 5-30 ms on an ordinary disk, and a host stepping 60 times a
** second cannot spend that inside ff:step(0); one worker thread per client
** does the flush, fsync, close and rename, in order, and says so on a
** descriptor the engine watches. The worker touches only the commit it
** holds (a FILE, two names, an error): no Lua, no libcurl, nothing of the
** client's.
*/
#ifndef FF_COMMIT_H
#define FF_COMMIT_H

#include <stdint.h>
#include <stdio.h>

#include "protocol.h"

typedef struct ff_commit {
  FILE *file;     /* the download, complete: owned by the commit */
  char *tmp;      /* its temporary name, renamed to path (or removed on failure) */
  char *path;
  int failed;     /* ff_file_commit failed: err says why */
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
/* Frees a commit (its file closed and temporary removed if still held). */
void ff_commit_free(ff_commit *c);

#endif
