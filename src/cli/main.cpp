#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "app.hpp"

int main(int argc, char** argv) {
  // A file-size limit makes writes fail (EFBIG, reported with exit status 4) instead of killing
  // the process with SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  // A reader that went away (`| head`) makes a write fail with EPIPE, exit status 4 with every
  // output file taken back, instead of SIGPIPE killing the process after the files were kept.
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  return bwplan::cli::run(args, std::cout, std::cerr);
}
