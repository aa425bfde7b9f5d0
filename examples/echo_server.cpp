// The TCP echo server from tako's front page: `echo_server [ADDR]` (default
// 127.0.0.1:8080) serves until it is killed, echoing every byte back to its sender.
// It prints "listening on ADDR" once bound (with port 0, the port the kernel chose).

#include <tako/tako.hpp>

#include <array>
#include <cstdio>
#include <string>

tako::task<> handle_client(tako::net::tcp_stream socket) {
    std::array<std::byte, 1024> buf;
    for (;;) {
        auto n = co_await socket.read(buf);
        if (!n || *n == 0) co_return; // error, or the peer closed
        if (!co_await socket.write_all(std::span(buf).first(*n))) co_return;
    }
}

tako::task<int> async_main(int argc, char** argv) {
    std::string addr = argc > 1 ? argv[1] : "127.0.0.1:8080";
    auto listener = co_await tako::net::tcp_listener::bind(addr);
    if (!listener) {
        std::fprintf(stderr, "echo_server: cannot listen on %s: %s\n", addr.c_str(),
                     listener.error().message().c_str());
        co_return 1;
    }
    std::printf("listening on %s\n", listener->local_addr()->to_string().c_str());
    std::fflush(stdout);
    for (;;) {
        auto accepted = co_await listener->accept(); // io::result<pair<tcp_stream, address>>
        if (accepted) tako::spawn(handle_client(std::move(accepted->first))).detach();
    }
}

TAKO_MAIN(async_main)
