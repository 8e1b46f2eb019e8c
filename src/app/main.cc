// The composition root: the only place that reads flags, environment and config files.
#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"MeterHub: smart-metering platform for electricity and water utilities"};
  app.set_version_flag("--version", "meterhub 0.1.0");
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
