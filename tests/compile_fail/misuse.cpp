// Misuse that must not compile, each case with a message that says what to write instead.
// Compiled once per case by CTest (tests/CMakeLists.txt), which checks the message.

#include <tako/tako.hpp>

tako::task<int> work() {
    co_return 1;
}

tako::task<void> body() {
#if TAKO_CASE == 1 // spawning an lvalue task would move from it silently
    auto t = work();
    auto h = tako::spawn(t);
#elif TAKO_CASE == 2 // a task cannot be borrowed by select
    auto t = work();
    (void)co_await tako::select(t, tako::yield_now());
#elif TAKO_CASE == 3 // an awaiter that is its own wait node cannot be borrowed
    tako::sync::notify n;
    auto waiter = n.notified();
    (void)co_await tako::select(waiter, tako::yield_now());
#endif
    co_return;
}

int main() {
    tako::runtime rt = tako::runtime::builder::current_thread().build();
    rt.block_on(body());
}
