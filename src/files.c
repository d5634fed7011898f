#define _XOPEN_SOURCE 700
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

static const char *what_is(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

/*
** rename() replaces whatever has the name: a device node, a FIFO, another
** program's socket. A save may only take the place of a file.
*/
int ff_file_replaceable(const char *path, ff_error *err) {
  struct stat st;
  if (stat(path, &st) != 0) {
    if (errno == ENOENT) return 0;
    ff_error_set(err, FF_E_IO, "cannot save to %s: %s", path, strerror(errno));
    return -1;
  }
  if (S_ISREG(st.st_mode)) return 0;
  ff_error_set(err, FF_E_IO, "refusing to save over %s: it is %s, and a save replaces only a regular file",
               path, what_is(st.st_mode));
  return -1;
}

FILE *ff_file_tmp(const char *path, ff_rng *rng, char **tmp, ff_error *err) {
  size_t n = strlen(path) + 16;
  int fd = -1, tries;
  FILE *f;
  *tmp = malloc(n);
  if (*tmp == NULL) {
    ff_error_set(err, FF_E_NOMEM, "out of memory saving %s", path);
    return NULL;
  }
  /* Unique per saver, so concurrent saves of one output never share a file. */
  for (tries = 0; fd < 0 && tries < 8; tries++) {
    snprintf(*tmp, n, "%s.part-%08x", path, (unsigned)(ff_rng_next(rng) & 0xffffffffu));
    fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0 || (f = fdopen(fd, "wb")) == NULL) {
    int e = errno;
    if (fd >= 0) {
      close(fd);
      unlink(*tmp);
    }
    free(*tmp);
    *tmp = NULL;
    ff_error_set(err, FF_E_IO, "cannot create %s: %s", path, strerror(e));
    return NULL;
  }
  return f;
}

int ff_file_commit(FILE *f, const char *tmp, const char *path, ff_error *err) {
  int bad = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
  int e = errno;
  /* fclose is checked too: some file systems report a full disk only there. */
  if (fclose(f) != 0 && !bad) {
    bad = 1;
    e = errno;
  }
  if (!bad && rename(tmp, path) != 0) {
    bad = 1;
    e = errno;
  }
  if (bad) {
    unlink(tmp);
    ff_error_set(err, FF_E_IO, "cannot write %s: %s", path, strerror(e ? e : EIO));
    return -1;
  }
  return 0;
}

FILE *ff_file_source(const char *path, long long *size, ff_error *err) {
  struct stat st;
  FILE *f;
  /* O_NONBLOCK: opening a FIFO would wait for a writer; on a regular file it changes nothing. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    ff_error_set(err, FF_E_IO, "cannot read %s: %s", path, strerror(errno));
    return NULL;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ff_error_set(err, FF_E_IO, "cannot read %s: it is %s", path, what_is(st.st_mode));
    close(fd);
    return NULL;
  }
  f = fdopen(fd, "rb");
  if (f == NULL) {
    ff_error_set(err, FF_E_IO, "cannot read %s: %s", path, strerror(errno));
    close(fd);
    return NULL;
  }
  *size = (long long)st.st_size;
  return f;
}

int ff_file_write(const char *path, const char *data, size_t len, ff_rng *rng, ff_error *err) {
  char *tmp;
  FILE *f;
  int rc;
  if (ff_file_replaceable(path, err) != 0 || (f = ff_file_tmp(path, rng, &tmp, err)) == NULL) return -1;
  if (len > 0 && fwrite(data, 1, len, f) != len) {
    int e = errno;
    fclose(f);
    unlink(tmp);
    free(tmp);
    ff_error_set(err, FF_E_IO, "cannot write %s: %s", path, strerror(e ? e : EIO));
    return -1;
  }
  rc = ff_file_commit(f, tmp, path, err);
  free(tmp);
  return rc;
}

int ff_file_copy(const char *src, const char *path, ff_rng *rng, ff_error *err) {
  char buf[65536], *tmp;
  struct stat st;
  size_t n;
  FILE *to, *from;
  if (ff_file_replaceable(path, err) != 0) return -1;
  from = fopen(src, "rb");
  if (from == NULL || fstat(fileno(from), &st) != 0 || !S_ISREG(st.st_mode)) {
    int e = from ? EINVAL : errno;
    if (from) fclose(from);
    ff_error_set(err, FF_E_IO, "cannot read %s: %s", src, strerror(e));
    return -1;
  }
  to = ff_file_tmp(path, rng, &tmp, err);
  if (to == NULL) {
    fclose(from);
    return -1;
  }
  while ((n = fread(buf, 1, sizeof buf, from)) > 0) {
    if (fwrite(buf, 1, n, to) != n) break;
  }
  if (ferror(from) || ferror(to)) {
    int e = errno;
    int reading = ferror(from);
    fclose(from);
    fclose(to);
    unlink(tmp);
    ff_error_set(err, FF_E_IO, "cannot %s %s: %s", reading ? "read" : "write", reading ? src : path,
                 strerror(e ? e : EIO));
    free(tmp);
    return -1;
  }
  fclose(from);
  {
    int r = ff_file_commit(to, tmp, path, err);
    free(tmp);
    return r;
  }
}

void ff_file_stamp(const struct stat *st, char out[FF_STAMP_LEN]) {
  snprintf(out, FF_STAMP_LEN, "%lld:%lld:%llu:%llu", (long long)st->st_size,
           (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec, (unsigned long long)st->st_dev,
           (unsigned long long)st->st_ino);
}

/* "NAME.part-" and eight hex digits: the names ff_file_tmp makes, nothing else. */
static int is_ours(const char *name) {
  size_t len = strlen(name), i;
  if (len < 15 || memcmp(name + len - 14, ".part-", 6) != 0) return 0;
  for (i = len - 8; i < len; i++)
    if (!strchr("0123456789abcdef", name[i])) return 0;
  return 1;
}

int ff_files_clean(const char *dir, double age) {
  DIR *d = opendir(dir);
  struct dirent *ent;
  time_t before = time(NULL) - (time_t)age;
  int removed = 0;
  if (d == NULL) return 0;
  while ((ent = readdir(d)) != NULL) {
    struct stat st;
    if (!is_ours(ent->d_name)) continue;
    if (fstatat(dirfd(d), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISREG(st.st_mode) && st.st_mtime < before && unlinkat(dirfd(d), ent->d_name, 0) == 0) removed++;
  }
  closedir(d);
  return removed;
}

/*
** Only inside a folder the client owns (a cache): ".tmp-" and then letters,
** digits and dashes, as cache.lua names an entry it is building.
*/
int ff_files_clean_tmpdirs(const char *dir, double age) {
  DIR *d = opendir(dir);
  struct dirent *ent;
  time_t before = time(NULL) - (time_t)age;
  int removed = 0;
  if (d == NULL) return 0;
  while ((ent = readdir(d)) != NULL) {
    struct stat st;
    const char *p = ent->d_name;
    size_t path_len;
    char *path;
    ff_error err;
    if (strncmp(p, ".tmp-", 5) != 0 || strspn(p + 5, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") !=
                                           strlen(p + 5))
      continue;
    if (fstatat(dirfd(d), p, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) || st.st_mtime >= before) continue;
    path_len = strlen(dir) + strlen(p) + 2;
    if ((path = malloc(path_len)) == NULL) break;
    snprintf(path, path_len, "%s/%s", dir, p);
    if (ff_remove_tree(path, &err) == 0) removed++;
    free(path);
  }
  closedir(d);
  return removed;
}

char *ff_dirname(const char *path) {
  const char *slash = strrchr(path, '/');
  char *d;
  if (slash == NULL) return ff_strdup(".");
  if (slash == path) return ff_strdup("/");
  d = malloc((size_t)(slash - path) + 1);
  if (d == NULL) return NULL;
  memcpy(d, path, (size_t)(slash - path));
  d[slash - path] = '\0';
  return d;
}

int ff_mkdir_p(const char *dir, ff_error *err) {
  char *p = ff_strdup(dir), *s;
  struct stat st;
  int e = 0;
  if (p == NULL) {
    ff_error_set(err, FF_E_NOMEM, "out of memory");
    return -1;
  }
  for (s = p + 1;; s++) {
    if (*s == '/' || *s == '\0') {
      char c = *s;
      *s = '\0';
      if (mkdir(p, 0777) != 0 && errno != EEXIST) e = errno;
      *s = c;
      if (e || c == '\0') break;
    }
  }
  free(p);
  if (e == 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) e = errno ? errno : ENOTDIR;
  if (e) {
    ff_error_set(err, FF_E_IO, "cannot create the folder %s: %s", dir, strerror(e));
    return -1;
  }
  return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return (flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT ? -1 : 0;
}

int ff_remove_tree(const char *path, ff_error *err) {
  struct stat st;
  if (lstat(path, &st) != 0 && errno == ENOENT) return 0;
  if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
    ff_error_set(err, FF_E_IO, "cannot remove %s: %s", path, strerror(errno));
    return -1;
  }
  return 0;
}
