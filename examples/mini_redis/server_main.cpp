// mini_redis_server [--port N] [--host ADDR] [--workers N] [--max-connections N]: a Redis-compatible server with
// mini-redis's command set (PING, GET, SET with EX/PX, PUBLISH, SUBSCRIBE, UNSUBSCRIBE).
// Port 6379 by default (0: the kernel picks one); prints "listening on ADDR" once bound.
// SIGINT or SIGTERM shuts it down gracefully: it stops accepting, lets every connection
// finish its command, and exits with status 0.

#include "server.hpp"

#include <tako/runtime.hpp>
#include <tako/select.hpp>
#include <tako/signal.hpp>
#include <tako/spawn.hpp>
#include <tako/time/timeout.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

struct options {
    std::string host = "127.0.0.1";
    long port = 6379;
    long workers = 0; // 0: one per core
    long max_connections = 250;
};

bool parse_options(int argc, char** argv, options& o) {
    for (int i = 1; i < argc; ++i) {
        const bool has_value = i + 1 < argc;
        if (std::strcmp(argv[i], "--port") == 0 && has_value) {
            o.port = std::strtol(argv[++i], nullptr, 10);
        } else if (std::strcmp(argv[i], "--host") == 0 && has_value) {
            o.host = argv[++i];
        } else if (std::strcmp(argv[i], "--workers") == 0 && has_value) {
            o.workers = std::strtol(argv[++i], nullptr, 10);
        } else if (std::strcmp(argv[i], "--max-connections") == 0 && has_value) {
            o.max_connections = std::strtol(argv[++i], nullptr, 10);
        } else {
            return false;
        }
    }
    return o.port >= 0 && o.port <= 65535 && o.workers >= 0 && o.max_connections > 0;
}

} // namespace

int main(int argc, char** argv) {
    options opts;
    if (!parse_options(argc, argv, opts)) {
        std::fprintf(stderr, "usage: mini_redis_server [--port N] [--host ADDR] [--workers N] "
                             "[--max-connections N]\n");
        return 2;
    }
    auto builder = tako::runtime::builder::multi_thread();
    if (opts.workers > 0) {
        builder.worker_threads(static_cast<std::size_t>(opts.workers));
    }
    tako::runtime rt = builder.enable_all().build();
    return rt.block_on([&]() -> tako::task<int> {
        const auto addr = opts.host + ":" + std::to_string(opts.port);
        auto listener = co_await tako::net::tcp_listener::bind(addr);
        if (!listener) {
            std::fprintf(stderr, "mini_redis_server: cannot listen on %s: %s\n", addr.c_str(),
                         listener.error().message().c_str());
            co_return 1;
        }
        // The signals are ours before we say we are ready.
        auto interrupt = tako::signal::unix_signal(tako::signal::signal_kind::interrupt());
        auto terminate = tako::signal::unix_signal(tako::signal::signal_kind::terminate());
        if (!interrupt || !terminate) {
            std::fprintf(stderr, "mini_redis_server: cannot listen for signals\n");
            co_return 1;
        }
        std::printf("listening on %s\n", listener->local_addr()->to_string().c_str());
        std::fflush(stdout);
        tako::cancellation_token shutdown;
        auto server = tako::spawn(mini_redis::serve(
            std::move(*listener), shutdown,
            {.max_connections = static_cast<std::size_t>(opts.max_connections)}));
        // SIGINT or SIGTERM: stop accepting, let each connection finish the command it is
        // executing and write its replies, then exit 0 (after 10 s at most).
        (void)co_await tako::select(interrupt->recv(), terminate->recv(), server);
        std::fprintf(stderr, "mini_redis_server: shutting down\n");
        shutdown.cancel();
        auto finished = co_await tako::time::timeout(std::chrono::seconds(10), server);
        if (!finished) {
            std::fprintf(stderr, "mini_redis_server: connections still busy after 10 s\n");
            co_return 1;
        }
        co_return 0;
    });
}
