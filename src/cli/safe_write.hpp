/// \file
/// All-or-nothing output: every file or directory a command writes is first written in full to a
/// private temporary next to its target (created exclusively, never through a symlink, flushed
/// and fsynced), and only when all of them are written are they moved into place. Without
/// --force a target that appeared meanwhile is never replaced (link / renameat2 NOREPLACE), so
/// of two writers exactly one wins. If any step fails, what was already moved is undone and every
/// temporary is removed, also on SIGINT/SIGTERM/SIGHUP (which wait while outputs are moved).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bwplan/sagemaker.hpp"

namespace bwplan::cli {

struct Context;

/// Throws unless `path` (given with `flag`) may be written: a new path in an existing directory,
/// or, with `force`, an existing regular file (a directory for `directory`). Symlinks, devices,
/// FIFOs and sockets are refused.
void check_target(const std::string& flag, const std::string& path, bool force,
                  bool directory = false);
/// The same for a file, first refusing a `path` that is one of the files the command read
/// (ctx.inputs), however written (`a/../b`, a linked directory, a hard link): --force or not.
void check_target(const Context& ctx, const std::string& flag, const std::string& path, bool force);
/// Throws when `path` (given with `flag`) lies inside the directory `dir` (given with
/// `dir_flag`), however written: that directory is written whole, so a file inside it would be
/// lost or fail after the rest was written.
void check_outside(const std::string& flag, const std::string& path, const std::string& dir_flag,
                   const std::string& dir);

class OutputSet {
public:
  /// A file added must not be one of the files the command read (check_target with `ctx`).
  explicit OutputSet(const Context& ctx);
  ~OutputSet(); ///< undoes a commit() that finish() did not follow; removes every temporary
  OutputSet(const OutputSet&) = delete;
  OutputSet& operator=(const OutputSet&) = delete;

  /// Checks the target now; writes `text` to a temporary in its directory (a fixed-length
  /// name, ".bwplan-XXXXXX", so that any name the directory allows can be written).
  void add_file(const std::string& flag, const std::string& path, bool force,
                const std::string& text);
  /// Checks the target now, refusing a directory that holds one of the files the command read;
  /// writes `files` into a temporary directory beside it.
  void add_directory(const std::string& flag, const std::string& path, bool force,
                     const std::vector<EmittedFile>& files);
  /// Moves every temporary into place; on any failure undoes the moves made and throws.
  void commit();
  /// Keeps what commit() moved (removes the replaced old copies). Without it, destroying the set
  /// undoes the commit: a later failure (standard output) leaves none of the outputs.
  void finish();

  struct Item;

private:
  const Context& m_ctx;
  std::vector<std::unique_ptr<Item>> m_items;
  bool m_blocked = false; ///< signals held from commit() to finish()
};

} // namespace bwplan::cli
