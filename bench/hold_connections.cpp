// hold_connections PORT N: opens N TCP connections to 127.0.0.1:PORT, sends one byte on
// each and reads its echo (so every server-side connection has served a read and is
// parked on the next one), prints "ready", then holds them all until stdin closes.
// bench/idle_connections.sh uses it to measure a server's memory per idle connection.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: hold_connections PORT N\n");
        return 2;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[1])));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int n = std::atoi(argv[2]);
    std::vector<int> fds;
    fds.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
            std::perror("hold_connections: connect");
            return 1;
        }
        fds.push_back(fd);
    }
    for (int fd : fds) {
        char b = 'x';
        if (::write(fd, &b, 1) != 1 || ::read(fd, &b, 1) != 1) {
            std::perror("hold_connections: round trip");
            return 1;
        }
    }
    std::printf("ready\n");
    std::fflush(stdout);
    char c;
    while (::read(0, &c, 1) > 0) {
    }
    return 0;
}
