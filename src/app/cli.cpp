#include "app/cli.hpp"

#include <cstdio>
#include <cstring>
#include <string>

#include "app/app.hpp"
#include "config/config.hpp"
#include "util/build_info.hpp"

namespace dragon::app {

namespace {
void print_help() {
  std::printf(
      "dragon-core %s - live-media server (datarhei Core /api/v3 compatible, WebRTC over WHEP)\n\n"
      "Usage: dragon-core [--config FILE]\n\n"
      "Options:\n"
      "  -c, --config FILE     config file (default: $CORE_CONFIGFILE, else ./config/config.json;\n"
      "                        created with defaults on first start)\n"
      "      --print-config-doc  print the reference of every config key (Markdown) and exit\n"
      "  -v, --version         print the version and exit\n"
      "  -h, --help            print this help and exit\n\n"
      "Every config key can be overridden by its environment variable (CORE_...); see docs/config.md.\n",
      build::k_version);
}
}  // namespace

int run_cli(int argc, char** argv) {
  AppOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      print_help();
      return 0;
    }
    if (arg == "-v" || arg == "--version") {
      std::printf("dragon-core %s (commit %s, built %s, %s)\n", build::k_version,
                  build::k_commit[0] ? build::k_commit : "unknown", build::k_build_date, build::k_compiler);
      return 0;
    }
    if (arg == "--print-config-doc") {
      std::fputs(config::markdown_reference().c_str(), stdout);
      return 0;
    }
    if (arg == "-c" || arg == "--config") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "dragon-core: %s needs a file name\n", arg.c_str());
        return 2;
      }
      options.config_path = argv[++i];
      continue;
    }
    if (arg.rfind("--config=", 0) == 0) {
      options.config_path = arg.substr(9);
      continue;
    }
    std::fprintf(stderr, "dragon-core: unknown option \"%s\" (see --help)\n", arg.c_str());
    return 2;
  }
  App app(options);
  return app.run();
}

}  // namespace dragon::app
