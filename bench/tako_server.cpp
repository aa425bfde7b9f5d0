// tako side of the anchor network benchmarks (the Tokio, Asio and C epoll servers that
// `compare echo|http` runs beside this one; bench/README.md has the command and the table).
//
// Usage: tako_server <echo|http> <port> [lifetime_s=60]
//
// Same shape as the Tokio anchors (tokio_echo, and tokio_http in raw mode): a multi_thread
// runtime with WORKERS worker threads (env WORKERS, default 2), built with
// tako::runtime::builder::multi_thread().worker_threads(WORKERS).enable_all().build().
// The main thread block_on's a task that spawns the accept loop onto a worker and awaits it;
// the accept loop binds 127.0.0.1:<port> only and spawns one task per connection, with
// TCP_NODELAY set.
//
//   echo: a 64 KiB buffer per connection; every read is written back whole (write_all).
//   http: HTTP/1.1 keep-alive, a 16 KiB request buffer per connection. A request ends at
//         "\r\n\r\n" and has no body. Every complete request found after a read adds one
//         fixed response to an output buffer, and that buffer goes out in one write_all, so
//         pipelined requests that arrive in one read are answered with one write. A
//         request that fills the whole buffer closes the connection.
//
// A detached plain thread ends the process after lifetime_s (std::_Exit: nothing to flush,
// and no runtime shutdown racing the workers). SIGTERM's default action ends it earlier.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <tako/tako.hpp>

namespace {

enum class server_mode { echo, http };

/// Per-connection buffer sizes of the Tokio anchors.
constexpr std::size_t echo_buffer_bytes = 65536;
constexpr std::size_t http_buffer_bytes = 16384;
constexpr std::size_t http_out_reserve = 4096;

constexpr std::string_view http_response =
    "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";
constexpr std::string_view request_end = "\r\n\r\n";

tako::task<> echo_session(tako::net::tcp_stream s) {
    (void)s.set_nodelay(true);
    // Not zero-filled: a page of the buffer becomes resident only once a read reaches it
    // (Tokio's vec![0u8; 65536] gets the same from calloc's fresh zero pages).
    auto storage = std::make_unique_for_overwrite<std::byte[]>(echo_buffer_bytes);
    const std::span<std::byte> buf(storage.get(), echo_buffer_bytes);
    for (;;) {
        auto n = co_await s.read(buf);
        if (!n || *n == 0) {
            co_return; // error, or the peer closed
        }
        if (!co_await s.write_all(std::span<const std::byte>(buf).first(*n))) {
            co_return;
        }
    }
}

tako::task<> http_session(tako::net::tcp_stream s) {
    (void)s.set_nodelay(true);
    std::vector<char> buf(http_buffer_bytes);
    std::size_t len = 0; // bytes of buf holding a request not yet complete
    std::string out;
    out.reserve(http_out_reserve);
    for (;;) {
        auto n = co_await s.read(std::span(buf).subspan(len));
        if (!n || *n == 0) {
            co_return;
        }
        len += *n;
        const std::string_view pending(buf.data(), len);
        std::size_t start = 0;
        for (auto end = pending.find(request_end); end != std::string_view::npos;
             end = pending.find(request_end, start)) {
            out += http_response;
            start = end + request_end.size();
        }
        std::memmove(buf.data(), buf.data() + start, len - start);
        len -= start;
        if (len == buf.size()) {
            co_return; // a request larger than the buffer
        }
        if (!out.empty()) {
            if (!co_await s.write_all(std::string_view(out))) {
                co_return;
            }
            out.clear();
        }
    }
}

tako::task<int> accept_loop(server_mode mode, std::string addr) {
    auto listener = co_await tako::net::tcp_listener::bind(addr);
    if (!listener) {
        std::fprintf(stderr, "tako_server: cannot listen on %s: %s\n", addr.c_str(),
                     listener.error().message().c_str());
        co_return 1;
    }
    for (;;) {
        auto accepted = co_await listener->accept();
        if (!accepted) {
            // accept already waits out EMFILE/ENFILE and skips aborted connections.
            std::fprintf(stderr, "tako_server: accept: %s\n", accepted.error().message().c_str());
            continue;
        }
        if (mode == server_mode::echo) {
            tako::spawn(echo_session, std::move(accepted->first)).detach();
        } else {
            tako::spawn(http_session, std::move(accepted->first)).detach();
        }
    }
}

/// Runs on the block_on thread; the accept loop runs on a worker, as in the anchors.
tako::task<int> serve(server_mode mode, std::string addr) {
    auto done = co_await tako::spawn(accept_loop, mode, std::move(addr));
    co_return done ? *done : 1;
}

int usage() {
    std::fprintf(stderr, "usage: tako_server <echo|http> <port> [lifetime_s=60]\n"
                         "env WORKERS: runtime worker threads (default 2)\n");
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        return usage();
    }
    const std::string_view mode_arg = argv[1];
    server_mode mode{};
    if (mode_arg == "echo") {
        mode = server_mode::echo;
    } else if (mode_arg == "http") {
        mode = server_mode::http;
    } else {
        return usage();
    }
    const long port = std::strtol(argv[2], nullptr, 10);
    const long lifetime_s = argc > 3 ? std::strtol(argv[3], nullptr, 10) : 60;
    const char* workers_env = std::getenv("WORKERS");
    const long workers = workers_env != nullptr ? std::strtol(workers_env, nullptr, 10) : 2;
    if (port <= 0 || port > 65535 || lifetime_s <= 0 || workers <= 0) {
        return usage();
    }

    std::thread([lifetime_s] {
        std::this_thread::sleep_for(std::chrono::seconds(lifetime_s));
        std::_Exit(0);
    }).detach();

    try {
        tako::runtime rt = tako::runtime::builder::multi_thread()
                               .worker_threads(static_cast<std::size_t>(workers))
                               .enable_all()
                               .build();
        std::string addr = "127.0.0.1:" + std::to_string(port);
        // A named, non-coroutine callable: block_on stores it in the task, and the
        // coroutine it returns owns copies of its arguments.
        auto body = [mode, addr] { return serve(mode, addr); };
        return rt.block_on(body);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tako_server: %s\n", e.what());
        return 1;
    }
}
