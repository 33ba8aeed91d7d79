/*
 * veritee measured image: the init of the initramfs (PID 1), statically linked.
 *
 * The kernel command line is measured (SEV-SNP kernel-hashes table), so everything
 * this program trusts comes from it:
 *   veritee.mode=production|dev        dev is labelled here, in the measurement
 *   veritee.roothash=<hex>             dm-verity root hash of the root file system
 *   veritee.verity_blocks=<n>          data blocks (4096 bytes) of the root
 *   veritee.verity_salt=<hex>          the verity salt
 *
 * It loads the kernel modules listed in /etc/modules.list (a leading '?' marks an
 * optional one), maps /dev/vda (squashfs) with its hash tree on /dev/vdb as a
 * dm-verity target (no dmsetup: the device-mapper ioctls directly), mounts it
 * read-only as the new root, and runs the guest program there:
 *   /usr/bin/node /usr/lib/veritee/veritee-guest.mjs boot
 * which enforces the component tree against the attested HOST_DATA before it
 * starts the workload. There is no shell anywhere in this path. When the guest
 * program ends (or anything fails) the VM powers off: nothing else can be run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("veritee-init: ", stdout);
  vprintf(fmt, ap);
  fputc('\n', stdout);
  fflush(stdout);
  va_end(ap);
}

static void halt(int code) __attribute__((noreturn));
static void halt(int code) {
  say("powering off (status %d)", code);
  sync();
  reboot(RB_POWER_OFF);
  for (;;) pause();
}

static void die(const char *what) __attribute__((noreturn));
static void die(const char *what) {
  say("FATAL: %s: %s", what, strerror(errno));
  halt(1);
}

static char cmdline[4096];

/* The value of key=... on the command line, copied into out (empty when absent). */
static int param(const char *key, char *out, size_t outlen) {
  size_t kl = strlen(key);
  const char *p = cmdline;
  while (*p) {
    while (*p == ' ' || *p == '\n') p++;
    const char *end = p;
    while (*end && *end != ' ' && *end != '\n') end++;
    if ((size_t)(end - p) > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
      size_t vl = (size_t)(end - p) - kl - 1;
      if (vl >= outlen) return -1;
      memcpy(out, p + kl + 1, vl);
      out[vl] = 0;
      return 0;
    }
    p = end;
  }
  out[0] = 0;
  return -1;
}

static int is_hex(const char *s, size_t len) {
  if (strlen(s) != len) return 0;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return 0;
  return 1;
}

static void load_modules(void) {
  FILE *f = fopen("/etc/modules.list", "r");
  if (!f) die("open /etc/modules.list");
  char line[256];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (!line[0]) continue;
    int optional = line[0] == '?';
    const char *name = line + optional;
    char path[512];
    snprintf(path, sizeof path, "/lib/modules/%s.ko", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die(path);
    if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST) {
      if (!optional) die(path);
      say("optional module %s not loaded: %s", name, strerror(errno));
    }
    close(fd);
  }
  fclose(f);
}

static void wait_for(const char *path) {
  for (int i = 0; i < 300; i++) {
    if (access(path, F_OK) == 0) return;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  errno = ENOENT;
  die(path);
}

static void dm_init(struct dm_ioctl *io, size_t size, const char *name) {
  memset(io, 0, size);
  io->version[0] = DM_VERSION_MAJOR;
  io->version[1] = 0;
  io->version[2] = 0;
  io->data_size = (uint32_t)size;
  io->data_start = sizeof(struct dm_ioctl);
  snprintf(io->name, sizeof io->name, "%s", name);
}

/* Creates the dm-verity device "veritee-root" and returns its device number. */
static dev_t verity_map(const char *roothash, const char *salt, unsigned long long blocks) {
  int ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
  if (ctl < 0) die("open /dev/mapper/control");
  union {
    struct dm_ioctl io;
    char buf[16384];
  } u;
  dm_init(&u.io, sizeof u, "veritee-root");
  if (ioctl(ctl, DM_DEV_CREATE, &u.io) != 0) die("DM_DEV_CREATE");

  dm_init(&u.io, sizeof u, "veritee-root");
  u.io.target_count = 1;
  u.io.flags = DM_READONLY_FLAG;
  struct dm_target_spec *t = (struct dm_target_spec *)(u.buf + sizeof(struct dm_ioctl));
  t->sector_start = 0;
  t->length = blocks * 8; /* 4096-byte blocks in 512-byte sectors */
  snprintf(t->target_type, sizeof t->target_type, "verity");
  char *params = (char *)(t + 1);
  /* version, data device, hash device, block sizes, data blocks, hash start block
   * (after the veritysetup superblock), algorithm, root hash, salt */
  int n = snprintf(params, sizeof u - sizeof(struct dm_ioctl) - sizeof *t, "1 /dev/vda /dev/vdb 4096 4096 %llu 1 sha256 %s %s", blocks, roothash, salt);
  t->next = (uint32_t)(sizeof *t + (size_t)n + 8) & ~7u;
  if (ioctl(ctl, DM_TABLE_LOAD, &u.io) != 0) die("DM_TABLE_LOAD (verity)");

  dm_init(&u.io, sizeof u, "veritee-root");
  if (ioctl(ctl, DM_DEV_SUSPEND, &u.io) != 0) die("DM_DEV_SUSPEND (resume)");
  dev_t dev = (dev_t)u.io.dev;
  close(ctl);
  return dev;
}

static void move_to(const char *from, const char *to) {
  if (mount(from, to, NULL, MS_MOVE, NULL) != 0) die(to);
}

int main(void) {
  /* The kernel opened /dev/console of the initramfs as fds 0-2. */
  if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755") != 0 && errno != EBUSY) die("mount /dev");
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) die("mount /proc");
  if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) die("mount /sys");

  int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open /proc/cmdline");
  ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
  if (n < 0) die("read /proc/cmdline");
  cmdline[n] = 0;
  close(fd);

  char mode[32], roothash[80], salt[80], blocks_s[32];
  param("veritee.mode", mode, sizeof mode);
  param("veritee.roothash", roothash, sizeof roothash);
  param("veritee.verity_salt", salt, sizeof salt);
  param("veritee.verity_blocks", blocks_s, sizeof blocks_s);
  if (strcmp(mode, "production") != 0 && strcmp(mode, "dev") != 0) {
    say("FATAL: veritee.mode must be production or dev on the kernel command line");
    halt(1);
  }
  char *endp = NULL;
  unsigned long long blocks = strtoull(blocks_s, &endp, 10);
  if (!is_hex(roothash, 64) || !is_hex(salt, 64) || !blocks_s[0] || *endp || blocks == 0) {
    say("FATAL: veritee.roothash, veritee.verity_salt (64 hex digits) and veritee.verity_blocks are required");
    halt(1);
  }
  say("mode %s%s, dm-verity root hash %s", mode, strcmp(mode, "dev") == 0 ? " (DEVELOPMENT IMAGE, labelled in the measured command line)" : "", roothash);

  load_modules();
  wait_for("/dev/vda");
  wait_for("/dev/vdb");
  wait_for("/dev/mapper/control");
  dev_t dev = verity_map(roothash, salt, blocks);
  if (mknod("/dev/veritee-root", S_IFBLK | 0400, dev) != 0 && errno != EEXIST) die("mknod /dev/veritee-root");
  say("dm-verity root mapped (%u:%u)", major(dev), minor(dev));

  if (mount("/dev/veritee-root", "/newroot", "squashfs", MS_RDONLY | MS_NODEV, NULL) != 0) die("mount the verity root");
  if (mount("tmpfs", "/newroot/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m") != 0) die("mount /run");
  if (mount("tmpfs", "/newroot/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m") != 0) die("mount /tmp");
  move_to("/dev", "/newroot/dev");
  move_to("/proc", "/newroot/proc");
  move_to("/sys", "/newroot/sys");
  /* configfs-tsm lives under /sys/kernel/config (configfs may be built in or a module). */
  if (mount("configfs", "/newroot/sys/kernel/config", "configfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) say("configfs not mounted: %s", strerror(errno));
  if (chdir("/newroot") != 0) die("chdir /newroot");
  move_to(".", "/");
  if (chroot(".") != 0) die("chroot");
  if (chdir("/") != 0) die("chdir /");

  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    char *argv[] = {"/usr/bin/node", "/usr/lib/veritee/veritee-guest.mjs", "boot", NULL};
    char *envp[] = {"PATH=/usr/bin", "HOME=/run", "NODE_OPTIONS=--max-old-space-size=512", NULL};
    execve(argv[0], argv, envp);
    say("FATAL: exec %s: %s", argv[0], strerror(errno));
    _exit(127);
  }
  int status = 0;
  for (;;) {
    pid_t w = wait(&status);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  say("guest program exited with status %d", code);
  halt(code);
}
