#include "runtime/thread_util.hpp"

#include <memory>
#include <string>
#include <system_error>

namespace tako::detail {

namespace {

/// Default stack for runtime threads (Tokio's is 2 MiB too).
constexpr std::size_t default_stack_size = 2 * 1024 * 1024;

struct start_args {
    const runtime::builder::config* cfg;
    std::function<void()> body;
    bool run_stop_hook;
};

void* thread_main(void* p) {
    std::unique_ptr<start_args> args(static_cast<start_args*>(p));
    const auto& cfg = *args->cfg;
    // Linux limits thread names to 15 characters.
    pthread_setname_np(pthread_self(), cfg.thread_name.substr(0, 15).c_str());
    if (cfg.on_thread_start) {
        cfg.on_thread_start();
    }
    args->body();
    if (args->run_stop_hook && cfg.on_thread_stop) {
        cfg.on_thread_stop();
    }
    return nullptr;
}

} // namespace

os_thread start_thread(const runtime::builder::config& cfg, std::function<void()> body,
                       bool run_stop_hook) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, cfg.thread_stack_size != 0 ? cfg.thread_stack_size
                                                                : default_stack_size);
    auto args = std::make_unique<start_args>(start_args{&cfg, std::move(body), run_stop_hook});
    os_thread t;
    const int rc = pthread_create(&t.id_, &attr, &thread_main, args.get());
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        throw std::system_error(rc, std::generic_category(), "tako: cannot start a thread");
    }
    args.release();
    t.joinable_ = true;
    return t;
}

} // namespace tako::detail
