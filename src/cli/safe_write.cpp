// All-or-nothing, race-safe output (safe_write.hpp). POSIX and Linux calls: mkstemp, mkdtemp,
// link, renameat2 (RENAME_NOREPLACE / RENAME_EXCHANGE), fsync; signal-safe cleanup of temporaries.
#include "safe_write.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "bwplan/error.hpp"
#include "context.hpp"

namespace bwplan::cli {

namespace fs = std::filesystem;

namespace {

// ---- temporaries to remove on SIGINT/SIGTERM (async-signal-safe: unlink, rmdir) ----

constexpr std::size_t k_slots = 256;
constexpr std::size_t k_path_max = 4096;
struct Slot {
  std::atomic<int> state{0}; ///< 0 free, 1 being filled, 2 a file, 3 a directory (rmdir)
  std::array<char, k_path_max> path{};
};
std::array<Slot, k_slots> g_slots;
std::atomic<bool> g_handlers{false};

extern "C" void remove_temporaries(int sig) {
  // Files first, then directories from the most recently registered (the deepest) up.
  for (Slot& s : g_slots) {
    if (s.state.load() == 2) {
      ::unlink(s.path.data());
    }
  }
  for (std::size_t i = k_slots; i-- > 0;) {
    if (g_slots[i].state.load() == 3) {
      ::rmdir(g_slots[i].path.data());
    }
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

/// Registers `p` for removal on a signal; returns the slot (or -1 when all are taken).
int track(const fs::path& p, bool directory) {
  if (!g_handlers.exchange(true)) {
    std::signal(SIGINT, remove_temporaries);
    std::signal(SIGTERM, remove_temporaries);
    std::signal(SIGHUP, remove_temporaries);
  }
  const std::string s = p.string();
  if (s.size() >= k_path_max) {
    return -1;
  }
  for (std::size_t i = 0; i < k_slots; ++i) {
    int expected = 0;
    if (g_slots[i].state.compare_exchange_strong(expected, 1)) {
      std::memcpy(g_slots[i].path.data(), s.c_str(), s.size() + 1);
      g_slots[i].state.store(directory ? 3 : 2);
      return static_cast<int>(i);
    }
  }
  return -1;
}

void untrack(int slot) {
  if (slot >= 0) {
    g_slots[static_cast<std::size_t>(slot)].state.store(0);
  }
}

std::string errno_text(int e) {
  if (e == ENAMETOOLONG) { // the system's limits, said as what is allowed
    return fmt::format(
        "{} (allowed: a file name of at most {} bytes in a path of at most {} bytes)",
        std::strerror(e), NAME_MAX, PATH_MAX - 1);
  }
  return std::strerror(e);
}

mode_t file_mode(bool executable) {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return (executable ? 0777 : 0666) & ~mask;
}

/// Writes all of `text` to `fd`, then fsyncs; returns 0 or the errno.
int write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return ::fsync(fd) == 0 ? 0 : errno;
}

int rename_flags(const fs::path& from, const fs::path& to, unsigned flags) {
  return ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) == 0 ? 0 : errno;
}

std::string kind_of(mode_t m) {
  if (S_ISLNK(m)) {
    return "a symbolic link";
  }
  if (S_ISDIR(m)) {
    return "a directory";
  }
  if (S_ISFIFO(m)) {
    return "a FIFO";
  }
  if (S_ISSOCK(m)) {
    return "a socket";
  }
  if (S_ISCHR(m) || S_ISBLK(m)) {
    return "a device";
  }
  return "a regular file";
}

fs::path parent_of(const fs::path& p) {
  // "out/new/" names out/new: its parent is out, not out/new.
  const fs::path q = p.has_filename() || !p.has_parent_path() ? p : p.parent_path();
  return q.has_parent_path() ? q.parent_path() : fs::path(".");
}

/// Where a path leads: its existing directories' links and dots resolved (two names of one file
/// through a linked directory compare equal).
fs::path resolved(const fs::path& p) {
  std::error_code ec;
  const fs::path r = fs::weakly_canonical(fs::absolute(p), ec);
  return ec ? fs::absolute(p).lexically_normal() : r;
}

/// Whether `a` and `b` name one file: the same resolved path, or (both existing) the same inode,
/// which catches a hard link.
bool same_file(const fs::path& a, const fs::path& b) {
  if (resolved(a) == resolved(b)) {
    return true;
  }
  std::error_code ec;
  return fs::equivalent(a, b, ec) && !ec;
}

/// Whether `inner` is `outer` or lies inside it, however either is written (relative, `..`, a
/// linked directory, a trailing separator); false when either cannot be resolved (check_target
/// names that).
bool lies_within(const fs::path& inner, const fs::path& outer) {
  std::error_code ec;
  const fs::path in = fs::weakly_canonical(fs::absolute(inner, ec), ec);
  if (ec) {
    return false;
  }
  const fs::path out = fs::weakly_canonical(fs::absolute(outer, ec), ec);
  if (ec || in.empty() || out.empty()) {
    return false;
  }
  auto i = in.begin();
  for (const fs::path& part : out) {
    if (part.empty()) {
      continue; // a trailing separator
    }
    if (i == in.end() || *i != part) {
      return false;
    }
    ++i;
  }
  return true;
}

/// A temporary beside `target`: its name does not grow with the target's, so a target name of
/// up to NAME_MAX bytes can be written.
std::string temporary_pattern(const fs::path& target) {
  return (parent_of(target) / ".bwplan-XXXXXX").string();
}

} // namespace

void check_target(const std::string& flag, const std::string& path, bool force, bool directory) {
  if (path.empty()) {
    throw Error(fmt::format("{}: the path is empty", flag));
  }
  if (!directory && !fs::path(path).has_filename()) {
    throw Error(fmt::format("{} {}: names a directory; allowed: a file name", flag, path));
  }
  const char* want = directory ? "a directory" : "a regular file";
  // A directory named with a trailing '/' is looked at as itself: lstat("link/") follows the link.
  std::string bare = path;
  while (directory && bare.size() > 1 && bare.back() == '/') {
    bare.pop_back();
  }
  if (directory) {
    const std::string last = fs::path(bare).filename().string();
    if (last == "." || last == "..") {
      throw Error(fmt::format("{} {}: ends in '{}'; allowed: a directory named by its own name",
                              flag, path, last));
    }
  }
  struct stat st {};
  if (::lstat(bare.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      throw Error(fmt::format("{} {}: {}", flag, path, errno_text(errno)));
    }
    struct stat pst {};
    const fs::path parent = parent_of(path);
    if (::stat(parent.c_str(), &pst) != 0 || !S_ISDIR(pst.st_mode)) {
      throw Error(
          fmt::format("{} {}: the directory {} does not exist", flag, path, parent.string()));
    }
    return;
  }
  const bool right = directory ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
  if (!right) {
    throw Error(fmt::format("{} {}: is {}; allowed: a new path, or {} to replace with --force",
                            flag, path, kind_of(st.st_mode), want));
  }
  if (!force) {
    throw Error(fmt::format("{} {}: {} exists; pass --force to replace it", flag, path,
                            directory ? "directory" : "file"));
  }
  if (directory) {
    // Replacing the working directory, or one above it, cannot be done (and must not be tried).
    std::error_code here_ec;
    const fs::path here = fs::current_path(here_ec);
    if (!here_ec && lies_within(here, path)) {
      throw Error(fmt::format("{} {}: is the current directory or one above it; allowed: a new "
                              "directory, or another one to replace with --force",
                              flag, path));
    }
  }
}

namespace {

/// Nothing is written inside --configs: a new .json there is read as a catalog entry by every
/// later run on it (and breaks them).
void refuse_inside_configs(const Context& ctx, const std::string& flag, const std::string& path) {
  if (ctx.global == nullptr || ctx.global->configs_dir.empty()) {
    return;
  }
  const fs::path dir = ctx.global->configs_dir;
  // the directory, and its kind folders wherever a link takes them (read_catalog_dir follows)
  for (const fs::path& d :
       {dir, dir / "gpus", dir / "instances", dir / "models", dir / "constants"}) {
    if (lies_within(path, d)) {
      throw Error(fmt::format("{} {}: lies inside --configs {}, whose files are read as "
                              "catalogs; allowed: a path outside it",
                              flag, path, ctx.global->configs_dir));
    }
  }
}

} // namespace

void check_target(const Context& ctx, const std::string& flag, const std::string& path,
                  bool force) {
  refuse_inside_configs(ctx, flag, path);
  for (const InputFile& in : ctx.inputs) {
    if (!path.empty() && same_file(path, in.path)) {
      throw Error(fmt::format("{} '{}' is {}{} this command reads; write elsewhere (--force never "
                              "replaces an input)",
                              flag, path, in.role, in.path == path ? "" : " '" + in.path + "'"));
    }
  }
  check_target(flag, path, force);
}

void check_outside(const std::string& flag, const std::string& path, const std::string& dir_flag,
                   const std::string& dir) {
  if (!lies_within(path, dir)) {
    return;
  }
  throw Error(fmt::format("{} {}: lies inside {} {}, which is written whole; allowed: a path "
                          "outside it",
                          flag, path, dir_flag, dir));
}

struct OutputSet::Item {
  std::string flag;
  fs::path target;
  fs::path temp;
  bool directory = false;
  bool force = false;
  std::vector<int> slots;     ///< tracked temporaries (files, then directories)
  std::vector<fs::path> made; ///< every file and directory made under a temporary directory
  enum class Done { no, created, exchanged } done = Done::no;

  ~Item() { remove_temp(); }

  void remove_temp() {
    std::error_code ec;
    if (!temp.empty()) {
      if (directory) {
        fs::remove_all(temp, ec);
      } else {
        fs::remove(temp, ec);
      }
    }
    for (int s : slots) {
      untrack(s);
    }
    slots.clear();
    temp.clear();
  }

  [[noreturn]] void fail(const std::string& what, int e) const {
    throw WriteError(fmt::format("{} {}: cannot write{}{}: {}", flag, target.string(),
                                 what.empty() ? "" : " ", what, errno_text(e)));
  }

  /// Moves the temporary into place (undo() reverses it until finish()).
  void commit() {
    if (!force || !fs::exists(fs::symlink_status(target))) {
      // A new path: never replace what may have appeared since the check.
      int e = 0;
      if (directory) {
        e = rename_flags(temp, target, RENAME_NOREPLACE);
      } else {
        e = ::link(temp.c_str(), target.c_str()) == 0 ? 0 : errno;
        if (e == 0) {
          ::unlink(temp.c_str());
          temp.clear();
        }
      }
      if (e == EEXIST || e == ENOTEMPTY) {
        throw Error(fmt::format("{} {}: appeared while bwplan was writing (another process?); "
                                "nothing was replaced",
                                flag, target.string()));
      }
      if (e != 0) {
        fail("", e);
      }
      if (directory) {
        temp.clear(); // the temporary is the target now
      }
      done = Done::created;
      return;
    }
    // --force on an existing target: swap it with the temporary, which then holds the old one.
    const int e = rename_flags(temp, target, RENAME_EXCHANGE);
    if (e != 0) {
      fail("", e);
    }
    done = Done::exchanged;
  }

  void undo() {
    std::error_code ec;
    if (done == Done::created) {
      directory ? static_cast<void>(fs::remove_all(target, ec))
                : static_cast<void>(fs::remove(target, ec));
    } else if (done == Done::exchanged) {
      rename_flags(temp, target, RENAME_EXCHANGE);
    }
    done = Done::no;
  }
};

OutputSet::OutputSet(const Context& ctx) : m_ctx(ctx) {}

namespace {

/// SIGINT, SIGTERM and SIGHUP wait while outputs move into place, so that a signal never leaves
/// some of them moved and others not; they are delivered when the outputs are settled.
void block_signals(bool block) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  ::sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, nullptr);
}

} // namespace

OutputSet::~OutputSet() {
  for (auto it = m_items.rbegin(); it != m_items.rend(); ++it) {
    (*it)->undo();
  }
  if (m_blocked) {
    block_signals(false);
  }
}

namespace {

/// --force replaces a directory only when it holds nothing but what bwplan writes there (an
/// earlier emit's files and folders): it never deletes a user's other files.
void refuse_foreign_entries(const std::string& flag, const std::string& path,
                            const std::vector<EmittedFile>& files) {
  std::set<fs::path> ours;
  for (const EmittedFile& f : files) {
    for (fs::path p = fs::path(f.name); !p.empty(); p = p.parent_path()) {
      ours.insert(p);
    }
  }
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    // lexically: fs::relative resolves links, and would name a link by where it points
    const fs::path rel = it->path().lexically_relative(path);
    const auto kind = it->symlink_status(ec).type();
    const bool dir = kind == fs::file_type::directory;
    if (ec || !ours.contains(rel) || (kind != fs::file_type::regular && !dir)) {
      const std::string what = kind == fs::file_type::symlink           ? " (a symbolic link)"
                               : kind != fs::file_type::regular && !dir ? " (not a plain file)"
                                                                        : "";
      throw Error(fmt::format("{} {}: holds {}, which bwplan does not write there; allowed with "
                              "--force: a directory holding only an earlier emit's files",
                              flag, path,
                              ec ? std::string("an entry it cannot read")
                                 : "'" + rel.string() + "'" + what));
    }
  }
  if (ec) {
    throw Error(fmt::format("{} {}: {}", flag, path, ec.message()));
  }
}

} // namespace

void OutputSet::add_file(const std::string& flag, const std::string& path, bool force,
                         const std::string& text) {
  check_target(m_ctx, flag, path, force);
  auto item = std::make_unique<Item>();
  item->flag = flag;
  item->target = path;
  item->force = force;
  for (const auto& other : m_items) {
    if (same_file(other->target, item->target)) {
      throw Error(fmt::format("{} {}: {} names the same path", flag, path, other->flag));
    }
  }
  std::string pattern = temporary_pattern(item->target);
  const int fd = ::mkstemp(pattern.data());
  if (fd < 0) {
    item->fail("a temporary file", errno);
  }
  item->temp = pattern;
  item->slots.push_back(track(item->temp, false));
  // A replaced file keeps its permissions (a 0600 file stays private).
  mode_t mode = file_mode(false);
  struct stat old {};
  if (force && ::stat(path.c_str(), &old) == 0 && S_ISREG(old.st_mode)) {
    mode = old.st_mode & 07777;
  }
  int e = ::fchmod(fd, mode) == 0 ? 0 : errno;
  if (e == 0) {
    e = write_all(fd, text);
  }
  if (::close(fd) != 0 && e == 0) {
    e = errno;
  }
  if (e != 0) {
    item->fail("", e);
  }
  m_items.push_back(std::move(item));
}

void OutputSet::add_directory(const std::string& flag, const std::string& path, bool force,
                              const std::vector<EmittedFile>& files) {
  // The directory is replaced whole: a file the command read inside it would be lost.
  for (const InputFile& in : m_ctx.inputs) {
    if (lies_within(in.path, path)) {
      throw Error(fmt::format("{} {}: holds {} '{}' this command reads; write elsewhere (--force "
                              "never replaces an input)",
                              flag, path, in.role, in.path));
    }
  }
  refuse_inside_configs(m_ctx, flag, path);
  check_target(flag, path, force, true);
  if (force && fs::is_directory(fs::symlink_status(path))) {
    refuse_foreign_entries(flag, path, files);
  }
  auto item = std::make_unique<Item>();
  item->flag = flag;
  item->target = path;
  item->force = force;
  item->directory = true;
  std::string pattern = temporary_pattern(item->target);
  if (::mkdtemp(pattern.data()) == nullptr) {
    item->fail("a temporary directory", errno);
  }
  item->temp = pattern;
  std::vector<int> dirs = {track(item->temp, true)};
  ::chmod(item->temp.c_str(), file_mode(true));
  for (const EmittedFile& f : files) {
    const fs::path rel(f.name);
    fs::path at = item->temp;
    for (auto part = rel.begin(); std::next(part) != rel.end(); ++part) {
      at /= *part;
      if (::mkdir(at.c_str(), file_mode(true)) == 0) {
        dirs.push_back(track(at, true));
      } else if (errno != EEXIST) {
        item->fail(f.name, errno);
      }
    }
    const fs::path file = item->temp / rel;
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                          file_mode(f.executable));
    if (fd < 0) {
      item->fail(f.name, errno);
    }
    item->slots.push_back(track(file, false));
    int e = write_all(fd, f.contents);
    if (::close(fd) != 0 && e == 0) {
      e = errno;
    }
    if (e != 0) {
      item->fail(f.name, e);
    }
  }
  item->slots.insert(item->slots.end(), dirs.begin(), dirs.end());
  m_items.push_back(std::move(item));
}

void OutputSet::commit() {
  block_signals(true);
  m_blocked = true;
  std::size_t i = 0;
  try {
    for (; i < m_items.size(); ++i) {
      m_items[i]->commit();
    }
  } catch (...) {
    while (i-- > 0) {
      m_items[i]->undo();
    }
    throw;
  }
}

void OutputSet::finish() {
  // What the temporaries hold now (the replaced old copies) goes.
  for (auto& item : m_items) {
    item->done = Item::Done::no;
    item->remove_temp();
  }
  m_items.clear();
  if (m_blocked) {
    m_blocked = false;
    block_signals(false);
  }
}

} // namespace bwplan::cli
