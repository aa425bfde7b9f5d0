// `echo_client ADDR [WORDS...]`: connects to an echo server, sends its arguments (joined by
// spaces, with a newline) or, without any, all of stdin; closes its write side and prints
// everything the server sends back until the server closes. Exit status 1 on any error.

#include <tako/tako.hpp>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

/// All of stdin; read on the blocking pool (a terminal or pipe read blocks).
std::string read_stdin() {
    std::string all;
    std::array<char, 4096> buf;
    for (;;) {
        const ssize_t n = ::read(0, buf.data(), buf.size());
        if (n <= 0) {
            return all;
        }
        all.append(buf.data(), static_cast<std::size_t>(n));
    }
}

tako::task<bool> receive_all(tako::net::tcp_stream& s) {
    std::array<std::byte, 4096> buf;
    for (;;) {
        auto n = co_await s.read(buf);
        if (!n) {
            std::fprintf(stderr, "echo_client: read: %s\n", n.error().message().c_str());
            co_return false;
        }
        if (*n == 0) {
            co_return true;
        }
        std::fwrite(buf.data(), 1, *n, stdout);
    }
}

} // namespace

tako::task<int> async_main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: echo_client ADDR [WORDS...]\n");
        co_return 2;
    }
    std::string message;
    if (argc > 2) {
        for (int i = 2; i < argc; ++i) {
            message += (i > 2 ? " " : "");
            message += argv[i];
        }
        message += '\n';
    } else {
        message = (co_await tako::spawn_blocking(read_stdin)).value();
    }
    auto s = co_await tako::net::tcp_stream::connect(std::string(argv[1]));
    if (!s) {
        std::fprintf(stderr, "echo_client: connect to %s: %s\n", argv[1],
                     s.error().message().c_str());
        co_return 1;
    }
    // Send and receive at once: a large message would fill both socket buffers otherwise.
    auto sender = tako::spawn(
        [](tako::net::tcp_stream* s, std::string* m) -> tako::task<bool> {
            const bool ok = (co_await s->write_all(*m)).has_value();
            (void)s->shutdown(tako::net::shutdown_how::write);
            co_return ok;
        },
        &*s, &message);
    const bool received = co_await receive_all(*s);
    const bool sent = (co_await sender).value_or(false);
    std::fflush(stdout);
    co_return received && sent ? 0 : 1;
}

TAKO_MAIN(async_main)
