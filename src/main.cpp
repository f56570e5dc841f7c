// Parses the command line and runs the server (app/).
#include "app/cli.hpp"

int main(int argc, char** argv) { return dragon::app::run_cli(argc, argv); }
