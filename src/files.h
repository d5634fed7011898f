/*
** The client's own files on disk: where a save may land, the temporary name
** it is written under, the commit (every write, flush and close checked, then
** the rename), leftovers of killed runs, and the folder helpers the Lua layer
** would otherwise need a shell for. No Lua here.
*/
#ifndef FF_FILES_H
#define FF_FILES_H

#include <stdio.h>

#include "protocol.h"
#include "retry.h"

/* A temporary of ours older than this is a leftover (a live one is written to, or dropped at the stall timeout). */
#define FF_STALE_SECONDS 3600.0

/* 0 when path is missing or a regular file (or a link to one); else FF_E_IO says what sits there. */
int ff_file_replaceable(const char *path, ff_error *err);
/* Creates "<path>.part-xxxxxxxx" exclusively; *tmp gets its name (the caller frees it). NULL: err set. */
FILE *ff_file_tmp(const char *path, ff_rng *rng, char **tmp, ff_error *err);
/* Flushes, fsyncs and closes f, then renames tmp to path; on any failure tmp is removed. */
int ff_file_commit(FILE *f, const char *tmp, const char *path, ff_error *err);
/* Writes data[len] to path through a temporary name of its own, as a download would. */
int ff_file_write(const char *path, const char *data, size_t len, ff_rng *rng, ff_error *err);
/* Copies src to path through a temporary name, as a download would. */
/*
** A regular file opened to be read as a request body, and its size; NULL and
** err (io) otherwise. A FIFO or device is refused without blocking on it.
*/
FILE *ff_file_source(const char *path, long long *size, ff_error *err);
int ff_file_copy(const char *src, const char *path, ff_rng *rng, ff_error *err);
/*
** A file's version as far as stat tells: size, modification time (ns),
** device and inode. A file edited or replaced after it was hashed has another.
*/
struct stat;
void ff_file_stamp(const struct stat *st, char out[FF_STAMP_LEN]);
/* Removes dir's "*.part-xxxxxxxx" files older than age seconds; how many went. */
int ff_files_clean(const char *dir, double age);
/* Removes dir's ".tmp-*" folders older than age seconds (a cache's half-built entries); how many went. */
int ff_files_clean_tmpdirs(const char *dir, double age);
/* The folder a path is in ("." for a bare name); NULL when memory runs out. */
char *ff_dirname(const char *path);
/* mkdir -p, and rm -rf for a tree (links are removed, never followed). */
int ff_mkdir_p(const char *dir, ff_error *err);
int ff_remove_tree(const char *path, ff_error *err);

#endif
