// A TCP proxy: `proxy LISTEN UPSTREAM [--buffered]` accepts connections on LISTEN (a port
// on 127.0.0.1, or HOST:PORT) and joins each one to a new connection to UPSTREAM
// (HOST:PORT) with io::copy_bidirectional: bytes flow both ways, a half-close is passed
// on, and a reset on one side closes the other. Between two sockets the bytes move with
// splice(2) inside the kernel; `--buffered` forces the 8 KiB user-space buffer instead
// (for comparison). Prints "listening on PORT" once bound (port 0: the one the kernel
// chose). Worker threads: env WORKERS (default 2).

#include <tako/tako.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

tako::io::copy_mode mode = tako::io::copy_mode::automatic;

tako::task<> relay(tako::net::tcp_stream client, std::string upstream) {
    auto server = co_await tako::net::tcp_stream::connect(upstream);
    if (!server) {
        std::fprintf(stderr, "proxy: cannot connect to %s: %s\n", upstream.c_str(),
                     server.error().message().c_str());
        co_return; // dropping `client` closes it
    }
    (void)client.set_nodelay(true);
    (void)server->set_nodelay(true);
    auto counts = co_await tako::io::copy_bidirectional(client, *server, mode);
    if (!counts && counts.error() != std::errc::connection_reset &&
        counts.error() != std::errc::broken_pipe) {
        std::fprintf(stderr, "proxy: %s\n", counts.error().message().c_str());
    }
    // Returning drops both sockets: after an error (a reset on one side), the other side
    // is closed too.
}

std::size_t worker_count() {
    const char* w = std::getenv("WORKERS");
    const long n = w != nullptr ? std::strtol(w, nullptr, 10) : 2;
    return n > 0 ? static_cast<std::size_t>(n) : 2;
}

} // namespace

tako::task<int> async_main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: proxy LISTEN UPSTREAM [--buffered]\n");
        co_return 2;
    }
    std::string listen = argv[1];
    if (listen.find(':') == std::string::npos) {
        listen = "127.0.0.1:" + listen;
    }
    const std::string upstream = argv[2];
    if (argc > 3 && std::strcmp(argv[3], "--buffered") == 0) {
        mode = tako::io::copy_mode::buffered;
    }
    auto listener = co_await tako::net::tcp_listener::bind(listen);
    if (!listener) {
        std::fprintf(stderr, "proxy: cannot listen on %s: %s\n", listen.c_str(),
                     listener.error().message().c_str());
        co_return 1;
    }
    std::printf("listening on %u\n", static_cast<unsigned>(listener->local_addr()->port()));
    std::fflush(stdout);
    for (;;) {
        auto accepted = co_await listener->accept();
        if (accepted) {
            tako::spawn(relay(std::move(accepted->first), upstream)).detach();
        }
    }
}

TAKO_MAIN_WITH(async_main, tako::runtime::builder::multi_thread().worker_threads(worker_count()))
