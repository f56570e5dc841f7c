#pragma once
namespace dragon::app {
// dragon-core [--config FILE] | --version | --help | --print-config-doc
int run_cli(int argc, char** argv);
}  // namespace dragon::app
