// ctsyncd: connection-tracking synchronisation daemon.
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "config/config_parser.hpp"
#include "config/environment_check.hpp"
#include "log/log.hpp"
#include "runtime/daemon.hpp"

#ifndef CTSYNC_VERSION
#define CTSYNC_VERSION "dev"
#endif

int main(int argc, char** argv) {
  CLI::App app{"ctsyncd - keeps the conntrack tables of a firewall pair in sync"};
  std::string config_path = "/etc/ctsyncd/ctsyncd.toml";
  bool check = false, strict = false, version = false;
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.add_flag("--check-config", check, "validate the configuration and exit");
  app.add_flag("--strict", strict,
               "with --check-config: also check key files, interface and ports");
  app.add_flag("-V,--version", version, "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0; real usage errors exit 2.
    app.exit(e);
    return e.get_exit_code() == 0 ? 0 : 2;
  }

  if (version) {
    std::printf("ctsyncd %s\n", CTSYNC_VERSION);
    return 0;
  }
  if (sodium_init() < 0) {
    std::fprintf(stderr, "ctsyncd: libsodium failed to initialise\n");
    return 3;
  }
  auto config = ctsync::load_config(config_path);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 1;
  }
  if (check) {
    if (strict) {
      const auto problems = ctsync::check_environment(*config);
      for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.c_str());
      if (!problems.empty()) return 1;
    }
    std::printf("%s: configuration OK%s\n", config_path.c_str(), strict ? " (strict)" : "");
    return 0;
  }
  ctsync::log::configure(config->log_level, "ctsyncd[" + std::to_string(config->node_id) + "]");
  auto node = ctsync::Daemon::create(std::move(*config));
  if (!node) {
    ctsync::log::error("cannot start: " + node.error().message);
    return 3;
  }
  return (*node)->run();
}
