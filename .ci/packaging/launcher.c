/* The first code of the single-file ssh-reset-doctor: a static program that unpacks the
 * runtime appended to it (a Python interpreter, its libraries, glibc and the tool) once into a
 * private cache directory and then runs it with the bundled dynamic loader.
 *
 * Why not unpack on every run (PyInstaller, staticx do): that costs about a second per run.
 * Here a second run only checks the unpacked files (a stat each, against the manifest written
 * when they were unpacked) and execs, so start-up is the interpreter's own.
 *
 * Nothing is exported to the environment: the bundled loader gets its library directory on its
 * command line (--library-path), so commands the tool runs (sshd -t, ss, iptables-save) load
 * the system's libraries, never the bundle's.
 *
 * Where: $TMPDIR, /tmp, /var/tmp, /dev/shm, $HOME/.cache, the first that is writable, allows
 * running programs (not noexec) and has room; a directory "ssh-reset-doctor-ID-UID", mode 0700,
 * used only if it belongs to this user and nobody else can write to it or to its parent
 * (or the parent is sticky, as /tmp is). If none works it says so in one line, exit 2.
 *
 * Payload (built by packaging/bundle.py): one zlib stream of records
 *   type (1 byte: 'D' directory, 'F' file, 'L' symlink, 'E' end), mode (u32 LE),
 *   path length (u16 LE), relative path, data length (u64 LE), data (file bytes, link text)
 * and a 64-byte trailer at the end of the file:
 *   "SRDPACK1", payload offset, payload length, unpacked bytes, entry count (u64 LE each),
 *   ID (16 hex digits: the payload's hash), 8 reserved bytes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

#define NAME "ssh-reset-doctor"
#define TRAILER 64
#define MANIFEST ".srd-manifest"
#define MAX_BASES 6

/* What the interpreter runs: the tool and the packages with extension modules are under
 * <prefix>/site, the pure-Python ones in <prefix>/site.zip (bundle.py). */
static const char BOOT[] =
    "import sys;sys.argv[0]='" NAME "';sys.path+=[sys.prefix+'/site',sys.prefix+'/site.zip'];"
    "from tui.cli import main;sys.exit(main())";

struct trailer {
    uint64_t offset, length, unpacked, entries;
    char id[17];
};

static char why[MAX_BASES][160]; /* one reason per place tried, for the one-line error */
static int nwhy;

static void note(const char *fmt, ...)
{
    if (nwhy >= MAX_BASES)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why[nwhy++], sizeof why[0], fmt, ap);
    va_end(ap);
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int read_trailer(int fd, struct trailer *t)
{
    unsigned char b[TRAILER];
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < TRAILER || pread(fd, b, TRAILER, end - TRAILER) != TRAILER)
        return -1;
    if (memcmp(b, "SRDPACK1", 8) != 0)
        return -1;
    t->offset = le64(b + 8);
    t->length = le64(b + 16);
    t->unpacked = le64(b + 24);
    t->entries = le64(b + 32);
    memcpy(t->id, b + 40, 16);
    t->id[16] = 0;
    for (int i = 0; i < 16; i++)
        if (!strchr("0123456789abcdef", t->id[i]))
            return -1;
    if (t->offset + t->length > (uint64_t)end - TRAILER)
        return -1;
    return 0;
}

/* ---- reading the zlib stream ---- */

struct inflater {
    int fd;
    uint64_t pos, left; /* compressed bytes still to read from the file */
    z_stream z;
    unsigned char in[1 << 16];
    int done;
};

static int inf_open(struct inflater *f, int fd, const struct trailer *t)
{
    memset(f, 0, sizeof *f);
    f->fd = fd;
    f->pos = t->offset;
    f->left = t->length;
    return inflateInit(&f->z) == Z_OK ? 0 : -1;
}

/* Exactly n bytes into buf, or -1 (a damaged file). */
static int inf_read(struct inflater *f, void *buf, size_t n)
{
    f->z.next_out = buf;
    f->z.avail_out = n;
    while (f->z.avail_out) {
        if (f->done)
            return -1;
        if (!f->z.avail_in) {
            size_t chunk = f->left < sizeof f->in ? f->left : sizeof f->in;
            if (!chunk)
                return -1;
            ssize_t r = pread(f->fd, f->in, chunk, f->pos);
            if (r <= 0)
                return -1;
            f->pos += r;
            f->left -= r;
            f->z.next_in = f->in;
            f->z.avail_in = r;
        }
        int rc = inflate(&f->z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END)
            f->done = 1;
        else if (rc != Z_OK)
            return -1;
    }
    return 0;
}

/* The stream ends here, and its checksum (adler32) matches: every byte unpacked was right. */
static int inf_finish(struct inflater *f)
{
    unsigned char extra;
    while (!f->done) {
        if (inf_read(f, &extra, 1) == 0)
            return -1; /* data after the end record */
        if (!f->done)
            return -1;
    }
    return 0;
}

/* ---- the cache directory ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int safe_path(const char *p)
{
    if (!*p || *p == '/')
        return 0;
    for (const char *s = p; s; s = strchr(s, '/')) {
        if (*s == '/')
            s++;
        if (!strncmp(s, "..", 2) && (s[2] == '/' || !s[2]))
            return 0;
    }
    return 1;
}

static int write_all(int fd, const char *buf, size_t n)
{
    while (n) {
        ssize_t w = write(fd, buf, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += w;
        n -= w;
    }
    return 0;
}

/* Unpack the payload into the new directory `dir`; 0, or -1 with errno set. */
static int unpack(int exe, const struct trailer *t, const char *dir)
{
    static struct inflater f;
    static char data[1 << 16];
    char path[PATH_MAX], rel[PATH_MAX], mpath[PATH_MAX];
    if (inf_open(&f, exe, t) < 0) {
        errno = EIO;
        return -1;
    }
    snprintf(mpath, sizeof mpath, "%s/" MANIFEST, dir);
    FILE *man = fopen(mpath, "wx");
    if (!man)
        goto fail;
    for (;;) {
        unsigned char h[7], lb[8];
        if (inf_read(&f, h, 1) < 0)
            goto damaged;
        if (h[0] == 'E') {
            if (inf_finish(&f) < 0)
                goto damaged;
            break;
        }
        if (inf_read(&f, h + 1, 6) < 0)
            goto damaged;
        unsigned mode = h[1] | h[2] << 8 | h[3] << 16 | (unsigned)h[4] << 24;
        unsigned plen = h[5] | h[6] << 8;
        if (plen == 0 || plen >= sizeof rel || inf_read(&f, rel, plen) < 0)
            goto damaged;
        rel[plen] = 0;
        if (inf_read(&f, lb, 8) < 0 || !safe_path(rel) || strchr(rel, '\n'))
            goto damaged;
        uint64_t size = le64(lb);
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, rel) >= sizeof path) {
            errno = ENAMETOOLONG;
            goto fail;
        }
        if (h[0] == 'D') {
            if (size)
                goto damaged;
            if (mkdir(path, mode & 07777) < 0)
                goto fail;
            continue;
        }
        if (h[0] == 'L') {
            if (size >= sizeof data || inf_read(&f, data, size) < 0)
                goto damaged;
            data[size] = 0;
            if (symlink(data, path) < 0)
                goto fail;
        } else if (h[0] == 'F') {
            int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                          mode & 0777);
            if (fd < 0)
                goto fail;
            for (uint64_t left = size; left;) {
                size_t n = left < sizeof data ? left : sizeof data;
                if (inf_read(&f, data, n) < 0) {
                    close(fd);
                    goto damaged;
                }
                if (write_all(fd, data, n) < 0) {
                    int e = errno;
                    close(fd);
                    errno = e;
                    goto fail;
                }
                left -= n;
            }
            if (close(fd) < 0)
                goto fail;
        } else {
            goto damaged;
        }
        if (fprintf(man, "%llu %s\n", (unsigned long long)size, rel) < 0)
            goto fail;
    }
    inflateEnd(&f.z);
    if (fclose(man) != 0) {
        man = NULL;
        goto fail;
    }
    return 0;
fail:
    if (man)
        fclose(man);
    inflateEnd(&f.z);
    return -1;
damaged:
    if (man)
        fclose(man);
    inflateEnd(&f.z);
    errno = EBADMSG;
    return -1;
}

/* Every file the manifest names is there with its size: nothing was cleaned away. */
static int intact(const char *dir, const struct trailer *t)
{
    char path[PATH_MAX], line[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/" MANIFEST, dir);
    FILE *man = fopen(path, "re");
    if (!man)
        return 0;
    uint64_t seen = 0;
    int ok = 1;
    while (ok && fgets(line, sizeof line, man)) {
        char *sp = strchr(line, ' '), *nl = strchr(line, '\n');
        if (!sp || !nl) {
            ok = 0;
            break;
        }
        *nl = 0;
        unsigned long long size = strtoull(line, NULL, 10);
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, sp + 1);
        ok = lstat(path, &st) == 0 && (unsigned long long)st.st_size == size;
        seen++;
    }
    fclose(man);
    return ok && seen == t->entries;
}

/* The place is usable for our directory: not writable by others unless sticky. */
static int trusted_parent(const char *base, const struct stat *st)
{
    if (!S_ISDIR(st->st_mode)) {
        note("%s: not a directory", base);
        return 0;
    }
    if (st->st_uid != 0 && st->st_uid != geteuid()) {
        note("%s: owned by another user", base);
        return 0;
    }
    if ((st->st_mode & 022) && !(st->st_mode & S_ISVTX)) {
        note("%s: writable by others and not sticky", base);
        return 0;
    }
    return 1;
}

static int ours(const struct stat *st)
{
    return S_ISDIR(st->st_mode) && st->st_uid == geteuid() && !(st->st_mode & 077);
}

static void run(const char *dir, int argc, char **argv)
{
    char ld[PATH_MAX], lib[PATH_MAX], py[PATH_MAX];
    snprintf(ld, sizeof ld, "%s/libs/ld.so", dir);
    snprintf(lib, sizeof lib, "%s/libs", dir);
    snprintf(py, sizeof py, "%s/bin/python3", dir);
    char **av = calloc(argc + 12, sizeof *av);
    if (!av)
        return;
    int n = 0;
    av[n++] = NAME;
    av[n++] = "--inhibit-cache"; /* never the target's ld.so.cache: only our libraries */
    av[n++] = "--library-path";
    av[n++] = lib;
    av[n++] = py;
    av[n++] = "-I"; /* no PYTHON* variables, no user site, no current directory */
    av[n++] = "-S";
    av[n++] = "-B"; /* the cache stays exactly as unpacked */
    av[n++] = "-c";
    av[n++] = (char *)BOOT;
    for (int i = 1; i < argc; i++)
        av[n++] = argv[i];
    av[n] = NULL;
    execv(ld, av);
    free(av);
}

/* Use or create the cache under `base`, then exec; returns only on failure (noted). */
static void try_base(const char *base, int exe, const struct trailer *t, int argc, char **argv)
{
    char dir[PATH_MAX], tmp[PATH_MAX];
    struct stat st;
    struct statvfs vfs;
    if (stat(base, &st) < 0) {
        note("%s: %s", base, strerror(errno));
        return;
    }
    if (!trusted_parent(base, &st))
        return;
    if ((size_t)snprintf(dir, sizeof dir, "%s/" NAME "-%s-%u", base, t->id,
                         (unsigned)geteuid()) >= sizeof dir - 16) {
        note("%s: path too long", base);
        return;
    }
    if (statvfs(base, &vfs) == 0 && (vfs.f_flag & ST_NOEXEC)) {
        note("%s: mounted noexec", base);
        return;
    }
    if (lstat(dir, &st) == 0) {
        if (!ours(&st)) {
            note("%s: not ours (owner or mode)", dir);
            return;
        }
        if (intact(dir, t)) {
            run(dir, argc, argv);
            note("%s: %s", dir, strerror(errno));
            return;
        }
        rm_tree(dir); /* something (a tmp cleaner) removed part of it: unpack again */
    }
    if (statvfs(base, &vfs) == 0) {
        if (vfs.f_flag & ST_RDONLY) {
            note("%s: read-only", base);
            return;
        }
        uint64_t need = t->unpacked + (t->unpacked >> 4) + (1 << 20);
        uint64_t free_ = (uint64_t)vfs.f_bavail * vfs.f_frsize;
        if (free_ < need) {
            note("%s: %llu MB free", base, (unsigned long long)(free_ >> 20));
            return;
        }
    }
    /* Ctrl-C while unpacking waits until the directory is complete or removed: never a
     * half-unpacked tree left behind (a second at most). */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    sigaddset(&stop, SIGQUIT);
    sigprocmask(SIG_BLOCK, &stop, &old);
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", dir);
    if (!mkdtemp(tmp)) {
        note("%s: %s", base, strerror(errno));
        sigprocmask(SIG_SETMASK, &old, NULL);
        return;
    }
    if (unpack(exe, t, tmp) < 0) {
        int e = errno;
        rm_tree(tmp);
        sigprocmask(SIG_SETMASK, &old, NULL);
        note("%s: %s", base, e == EBADMSG ? "this file is damaged (download it again)"
                                          : strerror(e));
        return;
    }
    int renamed = rename(tmp, dir);
    int e = errno;
    if (renamed < 0)
        rm_tree(tmp);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (renamed < 0) {
        /* Another run unpacked it at the same moment: use theirs if it is sound. */
        if (!((e == EEXIST || e == ENOTEMPTY) && lstat(dir, &st) == 0 && ours(&st) &&
              intact(dir, t))) {
            note("%s: %s", base, strerror(e));
            return;
        }
    }
    run(dir, argc, argv);
    note("%s: %s", dir, strerror(errno));
}

int main(int argc, char **argv)
{
    int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (exe < 0 && argv[0] && strchr(argv[0], '/'))
        exe = open(argv[0], O_RDONLY | O_CLOEXEC);
    if (exe < 0) {
        fprintf(stderr, NAME ": cannot read its own file: mount /proc (%s)\n", strerror(errno));
        return 2;
    }
    struct trailer t;
    if (read_trailer(exe, &t) < 0) {
        fprintf(stderr, NAME ": this file is damaged or incomplete: download it again\n");
        return 2;
    }
    umask(077);
    const char *bases[MAX_BASES];
    int nb = 0;
    const char *env = getenv("TMPDIR");
    if (env && *env == '/')
        bases[nb++] = env;
    bases[nb++] = "/tmp";
    bases[nb++] = "/var/tmp";
    bases[nb++] = "/dev/shm";
    char home[PATH_MAX];
    env = getenv("HOME");
    if (env && *env == '/' && strcmp(env, "/") != 0 &&
        (size_t)snprintf(home, sizeof home, "%s/.cache", env) < sizeof home)
        bases[nb++] = home;
    for (int i = 0; i < nb; i++)
        try_base(bases[i], exe, &t, argc, argv);
    fprintf(stderr, NAME ": cannot unpack its runtime (%llu MB) anywhere:",
            (unsigned long long)((t.unpacked >> 20) + 1));
    for (int i = 0; i < nwhy; i++)
        fprintf(stderr, "%s %s", i ? ";" : "", why[i]);
    fprintf(stderr, ". Set TMPDIR to a writable directory that allows running programs, "
                    "e.g. TMPDIR=/root " NAME "\n");
    return 2;
}
