// Exceptions nobody joins: the builder's on_unhandled_exception hook (task id, name and
// spawn location) and the default report on stderr.

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using tako_test::deadline;
using tako_test::throw_runtime_error;
using tako_test::yield_until_finished;

struct hook_record {
    std::mutex lock;
    int calls = 0;
    tako::task_id id;
    std::string name;
    bool name_null = false;
    std::string file;
    unsigned line = 0;
    std::string what;
};

tako::runtime::builder with_hook(tako::runtime::builder b, std::shared_ptr<hook_record> rec) {
    b.on_unhandled_exception([rec](const tako::task_info& info, std::exception_ptr e) {
        std::lock_guard g(rec->lock);
        ++rec->calls;
        rec->id = info.id;
        rec->name_null = info.name == nullptr;
        rec->name = info.name ? info.name : "";
        rec->file = info.location.file_name();
        rec->line = static_cast<unsigned>(info.location.line());
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            rec->what = ex.what();
        } catch (...) {
            rec->what = "?";
        }
    });
    return b;
}

void check_hook_for_detached_named_task(tako::runtime::builder b) {
    auto rec = std::make_shared<hook_record>();
    tako::runtime rt = with_hook(std::move(b), rec).build();
    rt.block_on([rec]() -> tako::task<> {
        tako::sync::notify go;
        auto body = [&go]() -> tako::task<> {
            co_await go.notified();
            throw std::runtime_error("detached boom");
        };
        // clang-format off
        const unsigned line = __LINE__; auto h = tako::spawn_named("boom-task", body);
        // clang-format on
        const tako::task_id id = h.id();
        co_await tako::yield_now();
        h.detach();
        go.notify_one();
        deadline d;
        for (;;) {
            {
                std::lock_guard g(rec->lock);
                if (rec->calls > 0 || d.expired()) {
                    break;
                }
            }
            co_await tako::yield_now();
        }
        std::lock_guard g(rec->lock);
        EXPECT_EQ(rec->calls, 1);
        EXPECT_EQ(rec->id, id);
        EXPECT_EQ(rec->name, "boom-task");
        EXPECT_TRUE(rec->file.ends_with("unhandled_exception_test.cpp")) << rec->file;
        EXPECT_EQ(rec->line, line);
        EXPECT_EQ(rec->what, "detached boom");
    });
}

} // namespace

TEST(unhandled_exception, unhandled_exception_hook_for_detached_named_task) {
    check_hook_for_detached_named_task(tako::runtime::builder::current_thread());
}

TEST(unhandled_exception, unhandled_exception_hook_for_detached_named_task_mt) {
    check_hook_for_detached_named_task(tako::runtime::builder::multi_thread().worker_threads(2));
}

TEST(unhandled_exception, unhandled_exception_hook_unnamed_task_detached_before_start) {
    auto rec = std::make_shared<hook_record>();
    tako::runtime rt = with_hook(tako::runtime::builder::current_thread(), rec).build();
    rt.block_on([]() -> tako::task<> {
        (void)tako::spawn(throw_runtime_error("early"));
        co_await tako::yield_now();
        co_await tako::yield_now();
    });
    std::lock_guard g(rec->lock);
    EXPECT_EQ(rec->calls, 1);
    EXPECT_TRUE(rec->name_null);
    EXPECT_EQ(rec->what, "early");
}

// BUG: an exception is silently lost when the join_handle is dropped after the task already
// failed (without the result being looked at). finish() reports only if JOIN_INTEREST is
// already clear when the task completes; drop_join_handle() never reports. So whether a
// detached task's exception reaches the hook depends on timing (seen as a flaky
// blocking.detached_blocking_exception_reaches_hook under TSan before that test was made
// deterministic), contrary to the design's rule ("never silently dropped"). Fix:
// whichever of finish()/drop_join_handle() runs second reports an unobserved exception.
TEST(unhandled_exception, handle_dropped_after_failure_reports_exception) {
    auto rec = std::make_shared<hook_record>();
    tako::runtime rt = with_hook(tako::runtime::builder::current_thread(), rec).build();
    rt.block_on([]() -> tako::task<> {
        std::vector<tako::join_handle<int>> hs;
        hs.push_back(tako::spawn(throw_runtime_error("after the fact")));
        EXPECT_TRUE(co_await yield_until_finished(&hs));
        hs.clear(); // detach a task that has already failed, unobserved
        co_await tako::yield_now();
    });
    std::lock_guard g(rec->lock);
    EXPECT_EQ(rec->calls, 1);
    EXPECT_EQ(rec->what, "after the fact");
}

TEST(unhandled_exception, hook_not_called_when_join_handle_observes_exception) {
    auto rec = std::make_shared<hook_record>();
    tako::runtime rt = with_hook(tako::runtime::builder::current_thread(), rec).build();
    const bool panic = rt.block_on([]() -> tako::task<bool> {
        auto h = tako::spawn_named("observed", throw_runtime_error("seen"));
        auto r = co_await h;
        co_return !r.has_value() && r.error().is_panic();
    });
    EXPECT_TRUE(panic);
    std::lock_guard g(rec->lock);
    EXPECT_EQ(rec->calls, 0);
}

TEST(unhandled_exception, hook_not_called_for_cancelled_detached_task) {
    auto rec = std::make_shared<hook_record>();
    tako::runtime rt = with_hook(tako::runtime::builder::current_thread(), rec).build();
    rt.block_on([]() -> tako::task<> {
        tako::sync::notify n;
        auto h = tako::spawn([&n]() -> tako::task<> {
            co_await n.notified();
            throw std::runtime_error("never");
        });
        co_await tako::yield_now();
        auto a = h.get_abort_handle();
        h.detach();
        a.abort();
        co_await tako::yield_now();
        co_await tako::yield_now();
        EXPECT_TRUE(a.is_finished());
    });
    std::lock_guard g(rec->lock);
    EXPECT_EQ(rec->calls, 0);
}

TEST(unhandled_exception, default_unhandled_report_goes_to_stderr) {
    tako::runtime rt = tako::runtime::builder::current_thread().build();
    testing::internal::CaptureStderr();
    rt.block_on([]() -> tako::task<> {
        (void)tako::spawn_named("noisy", throw_runtime_error("to stderr"));
        co_await tako::yield_now();
        co_await tako::yield_now();
    });
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("'noisy'"), std::string::npos) << err;
    EXPECT_NE(err.find("unhandled_exception_test.cpp"), std::string::npos) << err;
    EXPECT_NE(err.find("threw: to stderr"), std::string::npos) << err;
}
