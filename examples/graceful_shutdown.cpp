// Graceful shutdown: `graceful_shutdown [PORT]` (default 0: the kernel picks) serves an echo
// protocol on 127.0.0.1 until it receives SIGINT (ctrl-c) or SIGTERM. Then it stops
// accepting, tells every connection to finish through a cancellation_token (each says
// "server shutting down" to its client and closes), waits for them with a task_tracker for
// at most 5 seconds, and exits 0 (1 if a connection did not finish in time).
// It prints "listening on PORT" once bound and "shutting down" when the signal arrives.

#include <tako/signal.hpp>
#include <tako/tako.hpp>

#include <array>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

// One connection: echo lines until the client leaves or the server stops.
tako::task<void> handle_client(tako::net::tcp_stream socket, tako::cancellation_token stop) {
    std::array<std::byte, 1024> buf;
    for (;;) {
        // A read is cancel-safe: if `stop` wins, nothing was read and nothing is lost.
        auto n = co_await stop.run_until_cancelled(socket.read(buf));
        if (!n) { // the server is shutting down: say so, then close our side
            (void)co_await socket.write_all("server shutting down\n");
            (void)socket.shutdown(tako::net::shutdown_how::write);
            co_return;
        }
        if (!*n || **n == 0) {
            co_return; // error, or the client closed
        }
        if (!co_await socket.write_all(std::span(buf).first(**n))) {
            co_return;
        }
    }
}

tako::task<int> async_main(int argc, char** argv) {
    const std::string port = argc > 1 ? argv[1] : "0";
    auto listener = co_await tako::net::tcp_listener::bind("127.0.0.1:" + port);
    if (!listener) {
        std::fprintf(stderr, "graceful_shutdown: cannot listen on port %s: %s\n", port.c_str(),
                     listener.error().message().c_str());
        co_return 1;
    }
    // Listen for the signals before saying we are ready: from here on they are ours.
    auto interrupt = tako::signal::unix_signal(tako::signal::signal_kind::interrupt());
    auto terminate = tako::signal::unix_signal(tako::signal::signal_kind::terminate());
    if (!interrupt || !terminate) {
        std::fprintf(stderr, "graceful_shutdown: cannot listen for signals\n");
        co_return 1;
    }
    std::printf("listening on %u\n", static_cast<unsigned>(listener->local_addr()->port()));
    std::fflush(stdout);

    tako::cancellation_token stop;  // cancelled once: every connection's token follows
    tako::task_tracker connections; // counts the connection tasks until they end
    for (;;) {
        // accept() and recv() are cancel-safe: the losers of the select lose nothing.
        auto event =
            co_await tako::select(listener->accept(), interrupt->recv(), terminate->recv());
        if (event.index() != 0) {
            break; // SIGINT or SIGTERM
        }
        auto& accepted = std::get<0>(event);
        if (accepted) {
            connections.spawn(handle_client(std::move(accepted->first), stop.child_token()))
                .detach();
        }
    }

    std::printf("shutting down\n");
    std::fflush(stdout);
    *listener = tako::net::tcp_listener(); // stop accepting: new clients are refused
    stop.cancel();                         // tell every connection
    connections.close();                   // no more will come: wait() may complete
    auto drained = co_await tako::time::timeout(5s, connections.wait());
    if (!drained) {
        std::fprintf(stderr, "graceful_shutdown: connections still open after 5 s\n");
        co_return 1; // returning cancels them
    }
    co_return 0;
}

TAKO_MAIN(async_main)
