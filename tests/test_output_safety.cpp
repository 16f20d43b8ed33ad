// Output a pipeline can trust (issue 15): private atomic writes, checked writes (standard output
// included), all-or-nothing across a command's outputs, concurrent writers. Runs the real binary
// through a shell where the test needs real file descriptors, as a CI job would.
#include <catch2/catch.hpp>

#include <array>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/app.hpp"
#include "test_support.hpp"

using namespace bwplan;
namespace fs = std::filesystem;

namespace {

/// The AWS settings every emit here needs (no request is sent).
const std::string k_aws = " --role-arn arn:aws:iam::123456789012:role/SageMaker --s3-output "
                          "s3://bkt/o/ --s3-train s3://bkt/t/ --s3-tokenizer s3://bkt/k/";

/// Runs `command` with /bin/sh in `dir`; the exit status.
int sh(const fs::path& dir, const std::string& command) {
  const std::string cmd = "cd '" + dir.string() + "' && " + command;
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

std::string bin() {
  return std::string("'") + BWPLAN_BINARY + "'";
}

/// Hidden entries of `dir` named like bwplan's temporaries (".bwplan-XXXXXX").
int leftovers(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    n += name.starts_with(".") && name.find(".bwplan-") != std::string::npos ? 1 : 0;
  }
  return n;
}

/// Runs the binary with `args` in `dir`, its standard output a pipe whose read end is already
/// closed and SIGPIPE at its default (posix_spawn resets it, as a shell does); the exit status, or
/// 128 + the signal that ended it.
int run_into_closed_pipe(const fs::path& dir, const std::vector<std::string>& args) {
  std::array<int, 2> fds{};
  REQUIRE(::pipe(fds.data()) == 0);
  ::close(fds[0]);
  std::vector<std::string> words{BWPLAN_BINARY};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) {
    argv.push_back(w.data());
  }
  argv.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_adddup2(&files, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&files, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addchdir_np(&files, dir.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0], &files, &attr, argv.data(), environ);
  ::close(fds[1]);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  REQUIRE(spawned == 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace

TEST_CASE("output files are never written through a link or into a device, FIFO or directory",
          "[safety]") {
  const fs::path dir = test::scratch_dir("safety-targets");
  std::ofstream(dir / "victim.txt") << "keep";
  fs::create_symlink(dir / "victim.txt", dir / "link.json");
  ::mkfifo((dir / "fifo.json").c_str(), 0644);
  fs::create_directory(dir / "adir");
  for (const std::string force : {"", " --force"}) {
    for (const char* target : {"link.json", "fifo.json", "adir", "/dev/null"}) {
      const int rc =
          sh(dir, bin() + " models --format json --output " + target + force + " 2>err.txt");
      INFO(target << force << ": " << read_text_file(dir / "err.txt"));
      CHECK(rc == 1);
      CHECK(read_text_file(dir / "err.txt").find("--output") != std::string::npos);
    }
  }
  CHECK(read_text_file(dir / "victim.txt") == "keep");
  CHECK(fs::is_symlink(dir / "link.json"));
  CHECK(fs::is_fifo(dir / "fifo.json"));
  // a user's own file named like an old fixed temporary is left alone
  std::ofstream(dir / "out.json.bwplan-tmp") << "mine";
  CHECK(sh(dir, bin() + " models --format json --output out.json") == 0);
  CHECK(read_text_file(dir / "out.json.bwplan-tmp") == "mine");
  CHECK(nlohmann::json::parse(read_text_file(dir / "out.json")).at("kind") == "models");
  CHECK(leftovers(dir) == 0);
  fs::remove_all(dir);
}

TEST_CASE("a failed write of standard output is exit status 4, never 0", "[safety]") {
  const fs::path dir = test::scratch_dir("safety-stdout");
  CHECK(sh(dir, bin() + " estimate --format json > /dev/full 2>err.txt") == 4);
  CHECK(read_text_file(dir / "err.txt").find("cannot write standard output") != std::string::npos);
  CHECK(sh(dir, bin() + " search --top 3 >&- 2>/dev/null") == 4);
  // help and version text too (they exited 0)
  for (const char* args : {" --help", " --version", " search --help", " estimate --help"}) {
    INFO(args);
    CHECK(sh(dir, bin() + args + " > /dev/full 2>err.txt") == 4);
    CHECK(read_text_file(dir / "err.txt") == "bwplan: error: cannot write standard output\n");
    CHECK(sh(dir, bin() + args + " > out.txt") == 0);
  }
  // a reader that has gone: with SIGPIPE at its default in the child, as a shell leaves it, the
  // write fails (exit 4) and the files written before standard output are taken back
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"calibrate", test::source_path("tests/data/measurements.json"),
                                 "--output", "cp.json"},
        {"search", "--top", "2", "--report", "r.html"}}) {
    INFO(args[0]);
    CHECK(run_into_closed_pipe(dir, args) == 4);
    CHECK_FALSE(fs::exists(dir / "cp.json"));
    CHECK_FALSE(fs::exists(dir / "r.html"));
  }
  // a file-size limit cuts the write short: an error, not a truncated success
  CHECK(sh(dir, "(ulimit -f 1; " + bin() + " search --format json > big.json 2>/dev/null)") == 4);
  // in process: a stream that fails
  std::ofstream full("/dev/full");
  std::ostringstream err;
  CHECK(cli::run({"models", "--format", "json"}, full, err) == 4);
  fs::remove_all(dir);
}

TEST_CASE("a command's outputs are all written or none is", "[safety]") {
  const fs::path dir = test::scratch_dir("safety-all-or-nothing");
  // an output in a missing directory: the report is not written either
  CHECK(sh(dir, bin() + " search --top 2 --output nodir/x.json --report r.html 2>/dev/null") == 1);
  CHECK_FALSE(fs::exists(dir / "r.html"));
  // an unwritable output (exit status 4) refuses the launch files too
  CHECK(sh(dir, bin() + " search --top 2 --output /proc/x.json --emit-sagemaker job" + k_aws +
                    " 2>/dev/null") == 4);
  CHECK_FALSE(fs::exists(dir / "job"));
  // the same path twice
  CHECK(sh(dir, bin() + " estimate --output f.json --report f.json 2>err.txt") == 1);
  CHECK_FALSE(fs::exists(dir / "f.json"));
  // standard output fails after the files were moved into place: they are taken back
  CHECK(sh(dir, bin() + " search --top 2 --report r.html --emit-sagemaker job" + k_aws +
                    " > /dev/full 2>/dev/null") == 4);
  CHECK_FALSE(fs::exists(dir / "r.html"));
  CHECK_FALSE(fs::exists(dir / "job"));
  CHECK(leftovers(dir) == 0);
  // and when everything can be written, everything is
  CHECK(sh(dir, bin() + " search --top 2 --report r.html --emit-sagemaker job --output p.json" +
                    " --format json" + k_aws + " >/dev/null") == 0);
  CHECK(fs::exists(dir / "r.html"));
  CHECK(fs::exists(dir / "job" / "source" / "train.py"));
  CHECK(nlohmann::json::parse(read_text_file(dir / "p.json")).at("kind") == "search");
  CHECK(leftovers(dir) == 0);
  // a file inside the launch directory, which is replaced whole, however written: refused up
  // front, nothing touched (it failed, exit 4, after the directory was written)
  fs::create_directory(dir / "elsewhere");
  fs::create_directory_symlink(dir / "job", dir / "elsewhere" / "link");
  const std::string before = read_text_file(dir / "job" / "launch.py");
  for (const char* inside :
       {"--output job/p.json", "--report ./job/../job/r.html", "--output elsewhere/link/p.json"}) {
    INFO(inside);
    CHECK(sh(dir, bin() + " search --top 2 --emit-sagemaker job --force " + inside + k_aws +
                      " >/dev/null 2>err.txt") == 1);
    CHECK_THAT(read_text_file(dir / "err.txt"),
               Catch::Contains("lies inside --emit-sagemaker job, which is written whole"));
    CHECK(read_text_file(dir / "job" / "launch.py") == before);
    CHECK_FALSE(fs::exists(dir / "job" / "p.json"));
  }
  fs::remove_all(dir);
}

TEST_CASE("concurrent writers: one wins without --force, all succeed whole with it", "[safety]") {
  const fs::path dir = test::scratch_dir("safety-concurrent");
  const auto race = [&](const std::string& extra, const std::string& target) {
    std::string script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do (" + bin() +
                         " search --top 40 --format json " + extra +
                         " 2>/dev/null; echo $? > rc.$i) & "
                         "done; wait";
    sh(dir, script);
    int ok = 0;
    for (int i = 1; i <= 12; ++i) {
      ok += read_text_file(dir / ("rc." + std::to_string(i))).starts_with("0") ? 1 : 0;
    }
    CHECK_NOTHROW(nlohmann::json::parse(read_text_file(dir / target)));
    return ok;
  };
  CHECK(race("--output plans.json", "plans.json") == 1);
  CHECK(race("--output plans.json --force", "plans.json") == 12);
  CHECK(leftovers(dir) == 0);
  // directories: exactly one emit wins
  std::string script = "for i in 1 2 3 4 5 6; do (" + bin() +
                       " search --top 1 --emit-sagemaker job" + k_aws +
                       " >/dev/null 2>&1; echo $? > d.$i) & done; wait";
  sh(dir, script);
  int ok = 0;
  for (int i = 1; i <= 6; ++i) {
    ok += read_text_file(dir / ("d." + std::to_string(i))).starts_with("0") ? 1 : 0;
  }
  CHECK(ok == 1);
  CHECK(fs::exists(dir / "job" / "launch.py"));
  CHECK(leftovers(dir) == 0);
  fs::remove_all(dir);
}

TEST_CASE("an interrupted write leaves no temporary behind", "[safety]") {
  const fs::path dir = test::scratch_dir("safety-signal");
  // SIGTERM at several moments while a large search writes its report and plans (timeout waits
  // for the process to end): nothing half-written remains, and the two files come together
  for (const char* after : {"0.1", "0.5", "0.9", "1.1", "1.2", "1.3"}) {
    sh(dir, std::string("timeout -s TERM ") + after + " " + bin() +
                " search --nodes 1..256 --instance ml.p6-b200.48xlarge,ml.p6-b300.48xlarge"
                " --report r.html --output p.json --force >/dev/null 2>&1");
    INFO("SIGTERM after " << after << " s");
    CHECK(leftovers(dir) == 0);
    CHECK(fs::exists(dir / "r.html") == fs::exists(dir / "p.json"));
  }
  fs::remove_all(dir);
}

TEST_CASE("replacing with --force never empties a directory of the user's files, nor widens a mode",
          "[safety]") {
  const fs::path dir = test::scratch_dir("safety-force");
  REQUIRE(sh(dir, bin() + " estimate --format json -q --output plan.json") == 0);
  // a directory with a file emit does not write: refused with --force, the file kept
  fs::create_directories(dir / "mine");
  std::ofstream(dir / "mine" / "notes.txt") << "precious\n";
  CHECK(sh(dir, bin() + " emit sagemaker --plan plan.json --out mine --force" + k_aws +
                    " 2>err.txt") == 1);
  CHECK(read_text_file(dir / "mine" / "notes.txt") == "precious\n");
  CHECK(read_text_file(dir / "err.txt").find("'notes.txt'") != std::string::npos);
  // an earlier emit's directory is replaced with --force
  CHECK(sh(dir, bin() + " emit sagemaker --plan plan.json --out job -q" + k_aws) == 0);
  CHECK(sh(dir, bin() + " emit sagemaker --plan plan.json --out job --force -q" + k_aws) == 0);
  // the same directory named through a link with a trailing '/', or ending in '.': refused
  // (exit 1) before anything is written, as the link itself is (they failed with exit 4)
  fs::create_directory_symlink(dir / "job", dir / "joblink");
  const std::string launch_py = read_text_file(dir / "job" / "launch.py");
  for (const char* out : {"joblink/", "joblink/.", "job/.", "job/.."}) {
    INFO(out);
    CHECK(sh(dir, bin() + " emit sagemaker --plan plan.json --out " + out + " --force" + k_aws +
                      " 2>err.txt") == 1);
    const std::string err = read_text_file(dir / "err.txt");
    CHECK((err.find("is a symbolic link") != std::string::npos ||
           err.find("allowed: a directory named by its own name") != std::string::npos));
  }
  CHECK(read_text_file(dir / "job" / "launch.py") == launch_py);
  CHECK(sh(dir, bin() + " emit sagemaker --plan plan.json --out job/ --force -q" + k_aws) == 0);
  fs::remove(dir / "joblink");
  CHECK(fs::exists(dir / "job" / "source" / "train.py"));
  // a replaced file keeps its permissions
  std::ofstream(dir / "private.json") << "x";
  fs::permissions(dir / "private.json", fs::perms::owner_read | fs::perms::owner_write);
  CHECK(sh(dir, bin() + " estimate --format json -q --output private.json --force") == 0);
  CHECK(fs::status(dir / "private.json").permissions() ==
        (fs::perms::owner_read | fs::perms::owner_write));
  // two outputs naming one file through a linked directory
  fs::create_directories(dir / "d");
  fs::create_directory_symlink(dir / "d", dir / "d" / "lnk");
  CHECK(sh(dir, bin() + " estimate --format json --output d/s.json --report d/lnk/s.json " +
                    "--force 2>err.txt") == 1);
  CHECK(read_text_file(dir / "err.txt").find("names the same path") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "d" / "s.json"));
  // a region of another partition than the role's
  CHECK(sh(dir, bin() + " emit sagemaker --plan plan.json --out cn --region cn-north-1" + k_aws +
                    " 2>err.txt") == 1);
  CHECK(read_text_file(dir / "err.txt").find("--role-arn is in partition 'aws'") !=
        std::string::npos);
  // empty values of flags that name something are refused, not taken as left out
  CHECK(sh(dir, bin() + " emit sagemaker --plan plan.json --out e --job-name ''" + k_aws +
                    " 2>/dev/null") == 2);
  CHECK(sh(dir, bin() + " estimate --calibration '' 2>/dev/null") == 2);
  CHECK(leftovers(dir) == 0);
  fs::remove_all(dir);
}

TEST_CASE("standard input is read to the 16 MiB limit, as a file is", "[safety]") {
  const fs::path dir = test::scratch_dir("safety-stdin");
  // an endless pipe stops at the limit instead of growing until memory runs out
  CHECK(sh(dir, "yes | " + bin() + " check --plan - 2>err.txt") == 1);
  CHECK(read_text_file(dir / "err.txt").find("standard input: file is larger than 16777216") !=
        std::string::npos);
  REQUIRE(sh(dir, bin() + " estimate --format json -q > plan.json") == 0);
  CHECK(sh(dir, bin() + " check --plan - < plan.json > /dev/null") == 0);
  // validate reads "-" as calibrate does (it said "-: cannot open file")
  CHECK(sh(dir, bin() + " validate - --format json < '" +
                    test::source_path("tests/data/measurements-fresh-holdout.json") +
                    "' > v.json") == 0);
  CHECK(nlohmann::json::parse(read_text_file(dir / "v.json")).at("summary").at("fit_cases") == 4);
  fs::remove_all(dir);
}

TEST_CASE("nothing is written inside --configs, whose files are read as catalogs", "[safety]") {
  // A new plan.json in models/ was read by every later run on that catalog, which then failed.
  const fs::path dir = test::scratch_dir("safety-configs");
  fs::copy(test::source_path("configs"), dir / "cfg", fs::copy_options::recursive);
  CHECK(sh(dir, bin() + " --configs cfg estimate --output cfg/models/plan.json 2>err.txt") == 1);
  CHECK(read_text_file(dir / "err.txt")
            .starts_with("bwplan: error: --output cfg/models/plan.json: lies inside --configs "
                         "cfg, whose files are read as catalogs"));
  CHECK_FALSE(fs::exists(dir / "cfg/models/plan.json"));
  CHECK(sh(dir, bin() + " --configs cfg estimate --report cfg/r.html 2>err.txt") == 1);
  CHECK(sh(dir, bin() + " --configs cfg estimate --output plan.json") == 0);
  CHECK(sh(dir, bin() + " --configs cfg estimate -q > /dev/null") == 0); // the catalog still reads
  // a kind folder linked elsewhere is read through the link: nothing is written there either
  fs::rename(dir / "cfg/models", dir / "ext_models");
  fs::create_directory_symlink("../ext_models", dir / "cfg/models");
  CHECK(sh(dir, bin() + " --configs cfg estimate --output ext_models/plan.json 2>err.txt") == 1);
  CHECK_FALSE(fs::exists(dir / "ext_models/plan.json"));
  fs::remove_all(dir);
}

TEST_CASE("an output that is a file the command reads is refused, with --force too", "[safety]") {
  const fs::path dir = test::scratch_dir("safety-inputs");
  REQUIRE(sh(dir, bin() + " estimate --format json -q --output p.json") == 0);
  const std::string plan = read_text_file(dir / "p.json");
  fs::copy_file(test::source_path("tests/data/measurements.json"), dir / "m.json");
  const std::string meas = read_text_file(dir / "m.json");
  fs::copy_file(test::source_path("tests/fixtures/hf/llama-3.1-8b.config.json"), dir / "mdl.json");
  REQUIRE(sh(dir, bin() + " calibrate m.json --output prof.json -q >/dev/null") == 0);
  const std::string prof = read_text_file(dir / "prof.json");
  std::ofstream(dir / "run.log") << "a log\n";
  fs::create_directories(dir / "sub");
  fs::create_hard_link(dir / "p.json", dir / "hard.json");
  const auto refused = [&](const std::string& args, const std::string& words) {
    for (const std::string force : {"", " --force"}) {
      INFO(args << force);
      CHECK(sh(dir, bin() + " " + args + force + " >out.txt 2>err.txt") == 1);
      const std::string err = read_text_file(dir / "err.txt");
      INFO(err);
      CHECK(err.starts_with("bwplan: error: "));
      CHECK(err.find(words) != std::string::npos);
      CHECK(err.find("write elsewhere") != std::string::npos);
      CHECK(read_text_file(dir / "out.txt").empty());
    }
  };
  refused("check --plan p.json --output p.json", "--output 'p.json' is the --plan file this");
  refused("check --plan p.json --output sub/../p.json",
          "--output 'sub/../p.json' is the --plan file 'p.json' this command reads");
  refused("check --plan p.json --output hard.json", "the --plan file 'p.json'"); // a hard link
  refused("validate m.json --output m.json",
          "--output 'm.json' is the measurements file this command reads");
  refused("calibrate m.json --output ./m.json", "the measurements file 'm.json'");
  refused("calibrate m.json --output x.json --report m.json", "--report 'm.json' is the");
  refused("calibrate m.json --calibration prof.json --output prof.json",
          "is the --calibration profile");
  refused("calibrate --run p.json=run.log --output run.log", "is the --run log");
  refused("calibrate --run p.json=run.log --output p.json", "is the --run plan");
  refused("estimate --calibration prof.json --report prof.json", "is the --calibration profile");
  refused("estimate --model mdl.json --format json --output mdl.json", "is the --model file");
  refused("search --top 1 --model mdl.json --output x.json --report mdl.json",
          "--report 'mdl.json' is the --model file");
  CHECK(read_text_file(dir / "p.json") == plan);
  CHECK(read_text_file(dir / "m.json") == meas);
  CHECK(read_text_file(dir / "prof.json") == prof);
  CHECK(read_text_file(dir / "run.log") == "a log\n");
  CHECK_FALSE(fs::exists(dir / "x.json"));
  CHECK(leftovers(dir) == 0);
  CHECK(leftovers(dir / "sub") == 0);
  // standard input is no file: --plan - beside --output p.json replaces it with --force
  CHECK(sh(dir, bin() + " check --plan - --output p.json --force -q < hard.json") == 0);
  fs::remove_all(dir);
}

TEST_CASE("a launch directory that holds a file the command reads is not replaced", "[safety]") {
  const fs::path dir = test::scratch_dir("safety-input-dirs");
  REQUIRE(sh(dir, bin() + " estimate --format json -q --output p.json") == 0);
  fs::copy_file(test::source_path("tests/data/measurements.json"), dir / "m.json");
  REQUIRE(sh(dir, bin() + " calibrate m.json --output prof.json -q >/dev/null") == 0);
  REQUIRE(sh(dir, bin() + " emit sagemaker --plan p.json --out job" + k_aws + " >/dev/null") == 0);
  fs::copy_file(dir / "p.json", dir / "job" / "hyperparameters.json",
                fs::copy_options::overwrite_existing);
  fs::copy_file(dir / "prof.json", dir / "job" / "README.md", fs::copy_options::overwrite_existing);
  const std::string plan = read_text_file(dir / "job" / "hyperparameters.json");
  const std::string prof = read_text_file(dir / "job" / "README.md");
  const auto refused = [&](const std::string& args, const std::string& words) {
    INFO(args);
    CHECK(sh(dir, bin() + " " + args + " --force" + k_aws + " >out.txt 2>err.txt") == 1);
    const std::string err = read_text_file(dir / "err.txt");
    INFO(err);
    CHECK(err.starts_with("bwplan: error: "));
    CHECK(err.find(words) != std::string::npos);
    CHECK(err.find("--force never replaces an input") != std::string::npos);
  };
  refused("emit sagemaker --plan job/hyperparameters.json --out job",
          "--out job: holds the --plan file 'job/hyperparameters.json'");
  refused("emit sagemaker --plan p.json --calibration job/README.md --out ./job",
          "holds the --calibration profile 'job/README.md'");
  refused("search --top 1 --calibration job/README.md --emit-sagemaker job",
          "--emit-sagemaker job: holds the --calibration profile");
  // a model file given again to emit (the plan names its model only)
  fs::copy_file(test::source_path("tests/fixtures/hf/llama-3.1-8b.config.json"),
                dir / "job" / "config.json");
  REQUIRE(sh(dir, bin() + " estimate --model job/config.json --format json -q --output mp.json") ==
          0);
  refused("emit sagemaker --plan mp.json --model job/config.json --out job",
          "--out job: holds the --model file 'job/config.json'");
  CHECK(fs::exists(dir / "job" / "config.json"));
  CHECK(read_text_file(dir / "job" / "hyperparameters.json") == plan);
  CHECK(read_text_file(dir / "job" / "README.md") == prof);
  CHECK(leftovers(dir) == 0);
  fs::remove_all(dir);
}

TEST_CASE("the notes standard output gets after the files are part of all or nothing", "[safety]") {
  const fs::path dir = test::scratch_dir("safety-notes");
  // with the document in a file, the launch note is standard output's alone: its failure takes
  // the directory and the file back
  for (const std::string format : {"", " --format json"}) {
    INFO(format);
    CHECK(sh(dir, bin() + " search --top 2 --emit-sagemaker es" + k_aws + format +
                      " --output so.json > /dev/full 2>err.txt") == 4);
    CHECK(read_text_file(dir / "err.txt").find("cannot write standard output") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(dir / "es"));
    CHECK_FALSE(fs::exists(dir / "so.json"));
  }
  // beside a JSON document on stdout the note goes to stderr, and its failure is one too
  CHECK(sh(dir, bin() + " search --top 2 --format json --emit-sagemaker es" + k_aws +
                    " > so.json 2>/dev/full") == 4);
  CHECK_FALSE(fs::exists(dir / "es"));
  // emit's own summary
  REQUIRE(sh(dir, bin() + " estimate --format json -q --output plan.json") == 0);
  CHECK(sh(dir, bin() + " emit sagemaker --plan plan.json --out em" + k_aws +
                    " > /dev/full 2>/dev/null") == 4);
  CHECK_FALSE(fs::exists(dir / "em"));
  // estimate with both documents in files writes nothing to stdout: a full one does not matter
  CHECK(sh(dir, bin() + " estimate --report r.html --output o.txt > /dev/full") == 0);
  CHECK(fs::exists(dir / "r.html"));
  CHECK(fs::exists(dir / "o.txt"));
  CHECK(leftovers(dir) == 0);
  fs::remove_all(dir);
}

TEST_CASE("a target name up to 255 bytes can be written: the temporary's name is short",
          "[safety]") {
  const fs::path dir = test::scratch_dir("safety-long-name");
  for (const std::size_t n : {std::size_t{241}, std::size_t{255}}) {
    const std::string name(n, 'b');
    INFO(n);
    CHECK(sh(dir, bin() + " estimate -q --output " + name) == 0);
    CHECK(fs::is_regular_file(dir / name));
    const std::string folder(n, 'd');
    CHECK(sh(dir, bin() + " search --top 1 -q --emit-sagemaker " + folder + k_aws + " --output " +
                      std::string(n, 's') + " >/dev/null") == 0);
    CHECK(fs::exists(dir / folder / "launch.py"));
  }
  // One byte more is the system's ENAMETOOLONG, said with what is allowed.
  const test::CliResult r =
      test::run_cli({"estimate", "--output", (dir / std::string(256, 'b')).string()});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::EndsWith("File name too long (allowed: a file name of at most 255 "
                                    "bytes in a path of at most 4095 bytes)\n"));
  CHECK(leftovers(dir) == 0);
  fs::remove_all(dir);
}
