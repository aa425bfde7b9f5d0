// A line-based echo server on tako::codec::framed: `lines_echo [PORT|ADDR] [MAX_LENGTH]`
// (default 127.0.0.1:8080 and 1024 bytes). Every line a client sends comes back upper-cased
// ("\n" or "\r\n" endings; replies end in "\n"). It prints "listening on ADDR" once bound
// (with port 0, the port the kernel chose) and serves until it is killed.
//
// A line longer than MAX_LENGTH bytes is answered with "ERROR: line too long (max N bytes)"
// and skipped, up to its "\n"; the connection goes on with the next line. When a client
// half-closes, every line it sent is answered (a last line without "\n" too), then the
// server closes the connection.

#include <tako/tako.hpp>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>

tako::task<> handle_client(tako::net::tcp_stream socket, std::size_t max_length) {
    tako::codec::framed lines(std::move(socket), tako::codec::lines_codec(max_length));
    for (;;) {
        auto line = co_await lines.next(); // io::result<std::optional<std::string>>
        if (!line) {
            if (line.error() != tako::codec::errc::max_length_exceeded) {
                break; // an I/O error: give up on this client
            }
            auto error = "ERROR: line too long (max " + std::to_string(max_length) + " bytes)";
            if (!co_await lines.send(error)) {
                break;
            }
            continue;
        }
        if (!*line) {
            break; // the client closed its side: every line has been answered
        }
        for (char& c : **line) {
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        if (!co_await lines.send(**line)) { // encodes "LINE\n", writes it, flushes
            break;
        }
    }
    (void)co_await lines.shutdown(); // anything unsent, then FIN
}

tako::task<int> async_main(int argc, char** argv) {
    std::string addr = argc > 1 ? argv[1] : "127.0.0.1:8080";
    if (addr.find(':') == std::string::npos) {
        addr = "127.0.0.1:" + addr; // a bare port
    }
    const std::size_t max_length = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1024;
    auto listener = co_await tako::net::tcp_listener::bind(addr);
    if (!listener) {
        std::fprintf(stderr, "lines_echo: cannot listen on %s: %s\n", addr.c_str(),
                     listener.error().message().c_str());
        co_return 1;
    }
    std::printf("listening on %s\n", listener->local_addr()->to_string().c_str());
    std::fflush(stdout);
    for (;;) {
        auto accepted = co_await listener->accept();
        if (accepted) {
            tako::spawn(handle_client(std::move(accepted->first), max_length)).detach();
        }
    }
}

TAKO_MAIN(async_main)
