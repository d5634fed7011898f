/* The committer: finished downloads flushed, fsynced and renamed on its worker, in order. */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "commit.h"

static char dir[] = "/tmp/ff-commit-XXXXXX";

static ff_commit *one(const char *name, const char *text) {
  ff_commit *c = calloc(1, sizeof *c);
  char buf[256];
  snprintf(buf, sizeof buf, "%s/%s.part-00000000", dir, name);
  c->tmp = strdup(buf);
  snprintf(buf, sizeof buf, "%s/%s", dir, name);
  c->path = strdup(buf);
  ff_error_init(&c->err);
  c->file = fopen(c->tmp, "wb");
  fputs(text, c->file); /* left in stdio's buffer: the commit flushes it */
  return c;
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static int readable(int fd, int ms) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, ms) == 1;
}

static void commits_end_in_order_and_the_descriptor_says_so(void) {
  ff_committer *m = ff_committer_new();
  ff_commit *c[3], *done, *d;
  char tmp0[256], path0[256];
  int i, n = 0, got = 0;
  CHECK(m != NULL);
  CHECK(!readable(ff_committer_fd(m), 0));
  c[0] = one("a.png", "first");
  c[1] = one("b.png", "second");
  c[2] = one("c.png", "third");
  strcpy(tmp0, c[0]->tmp);
  strcpy(path0, c[0]->path);
  for (i = 0; i < 3; i++) {
    c[i]->handle = (uint64_t)(i + 1);
    CHECK(ff_committer_push(m, c[i]) == 0);
  }
  CHECK(ff_committer_pending(m) == 3);
  while (got < 3 && readable(ff_committer_fd(m), 10000)) {
    done = ff_committer_take(m);
    for (d = done; d; d = done) {
      done = d->next;
      CHECK(d->handle == (uint64_t)(++n)); /* in the order pushed */
      CHECK(!d->failed);
      CHECK(d->file == NULL);
      CHECK(exists(d->path) && !exists(d->tmp));
      ff_commit_free(d);
      got++;
    }
  }
  CHECK(got == 3);
  CHECK(ff_committer_pending(m) == 0 && !ff_committer_ready(m));
  CHECK(!readable(ff_committer_fd(m), 0)); /* taken: nothing to hear */
  CHECK(exists(path0) && !exists(tmp0));
  ff_committer_free(m);
}

static void a_commit_that_cannot_rename_fails_and_leaves_no_temporary(void) {
  ff_committer *m = ff_committer_new();
  ff_commit *c = one("d.png", "fourth"), *done = NULL;
  char tmp[256];
  free(c->path);
  c->path = strdup("/nonexistent-ff-dir/d.png");
  strcpy(tmp, c->tmp);
  CHECK(ff_committer_push(m, c) == 0);
  if (readable(ff_committer_fd(m), 10000)) done = ff_committer_take(m);
  CHECK(done == c);
  if (done) {
    CHECK(done->failed);
    CHECK(strstr(done->err.message, "/nonexistent-ff-dir/d.png") != NULL);
    ff_commit_free(done);
  }
  CHECK(!exists(tmp));
  ff_committer_free(m);
}

static void stopping_waits_for_every_commit_pushed(void) {
  ff_committer *m = ff_committer_new();
  ff_commit *done, *d;
  char paths[8][256];
  int i, n = 0;
  for (i = 0; i < 8; i++) {
    char name[16];
    ff_commit *c;
    snprintf(name, sizeof name, "e%d.png", i);
    c = one(name, "many");
    strcpy(paths[i], c->path);
    CHECK(ff_committer_push(m, c) == 0);
  }
  ff_committer_stop(m);
  for (i = 0; i < 8; i++) CHECK(exists(paths[i]));
  done = ff_committer_take(m);
  for (d = done; d; d = done) {
    done = d->next;
    n++;
    ff_commit_free(d);
  }
  CHECK(n == 8);
  ff_commit *late = one("late.png", "after the stop");
  CHECK(ff_committer_push(m, late) == -1); /* stopped: the caller keeps it */
  ff_commit_free(late);
  ff_committer_free(m);
}

/* A source file of n bytes at dir/name. */
static void source(const char *name, size_t n) {
  char path[256];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "wb");
  while (n-- > 0) fputc('a', f);
  fclose(f);
}

static ff_commit *reading(ff_work kind, const char *name) {
  ff_commit *c = calloc(1, sizeof *c);
  char path[256];
  ff_error err;
  ff_error_init(&err);
  ff_error_init(&c->err);
  c->kind = kind;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  CHECK(ff_commit_open_src(c, path, &err) == 0);
  return c;
}

/* A copy of the source name into dir/to, through its temporary (path and tmp receive both names). */
static ff_commit *copying(const char *name, const char *to, char *path, char *tmp, size_t size) {
  ff_commit *c = reading(FF_WORK_COPY, name);
  snprintf(path, size, "%s/%s", dir, to);
  snprintf(tmp, size, "%s/%s.part-00000001", dir, to);
  c->path = strdup(path);
  c->tmp = strdup(tmp);
  c->file = fopen(tmp, "wb");
  return c;
}

static void a_hash_reads_the_whole_file_and_gives_its_sha256_and_stamp(void) {
  ff_commit *c;
  source("h.bin", 200000); /* more than one 64 KiB chunk */
  c = reading(FF_WORK_HASH, "h.bin");
  ff_commit_run(c);
  CHECK(!c->failed);
  /* sha256 of 200000 'a's */
  CHECK(strcmp(c->digest, "2287d207f24a941ff3b56c04c8a25ad56b63e3023207b3bb5b4ac0c9869d74be") == 0);
  CHECK(atomic_load(&c->done_bytes) == 200000);
  CHECK(strncmp(c->stamp, "200000:", 7) == 0);
  ff_commit_free(c);
}

static void a_canceled_copy_stops_and_leaves_nothing_at_its_path_or_temporary(void) {
  ff_commit *c;
  char path[256], tmp[256];
  source("big.bin", 1 << 20);
  c = copying("big.bin", "copy.bin", path, tmp, sizeof path);
  atomic_store(&c->canceled, 1);
  ff_commit_run(c);
  CHECK(c->failed && c->err.kind == FF_E_CANCELED);
  CHECK(!exists(path) && !exists(tmp));
  ff_commit_free(c);
}

static void a_copy_is_committed_whole_under_its_name(void) {
  ff_commit *c;
  char path[256], tmp[256];
  struct stat st;
  c = copying("big.bin", "whole.bin", path, tmp, sizeof path);
  ff_commit_run(c);
  CHECK(!c->failed);
  CHECK(stat(path, &st) == 0 && st.st_size == 1 << 20 && !exists(tmp));
  ff_commit_free(c);
}

static void a_file_changed_while_hashed_is_an_error_naming_it(void) {
  ff_commit *c;
  char path[256];
  FILE *f;
  source("edit.bin", 1000);
  c = reading(FF_WORK_HASH, "edit.bin");
  snprintf(path, sizeof path, "%s/edit.bin", dir);
  f = fopen(path, "ab"); /* written to after it was opened for hashing */
  fputs("more", f);
  fclose(f);
  ff_commit_run(c);
  CHECK(c->failed && c->err.kind == FF_E_IO && strstr(c->err.message, "edit.bin changed") != NULL);
  ff_commit_free(c);
}

int main(void) {
  CHECK(mkdtemp(dir) != NULL);
  a_hash_reads_the_whole_file_and_gives_its_sha256_and_stamp();
  a_canceled_copy_stops_and_leaves_nothing_at_its_path_or_temporary();
  a_copy_is_committed_whole_under_its_name();
  a_file_changed_while_hashed_is_an_error_naming_it();
  commits_end_in_order_and_the_descriptor_says_so();
  a_commit_that_cannot_rename_fails_and_leaves_no_temporary();
  stopping_waits_for_every_commit_pushed();
  {
    static const char *const left[] = {"a.png", "b.png", "c.png", "e0.png", "e1.png", "e2.png", "e3.png",
                                       "e4.png", "e5.png", "e6.png", "e7.png",
                                       "h.bin", "big.bin", "whole.bin", "edit.bin"};
    char path[256];
    size_t i;
    for (i = 0; i < sizeof left / sizeof left[0]; i++) {
      snprintf(path, sizeof path, "%s/%s", dir, left[i]);
      unlink(path);
    }
    CHECK(rmdir(dir) == 0); /* nothing else was left behind */
  }
  return CHECK_DONE();
}
