// Task ids: unique per spawned task, stable across suspensions, and current_task_id().

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <cstdint>
#include <set>
#include <vector>

#include "test_support.hpp"

TAKO_TEST(task_id, task_ids_unique_and_current_task_id) {
    const auto root_id = tako::current_task_id();
    EXPECT_TRUE(root_id.has_value()); // block_on's body is a task too
    std::vector<tako::join_handle<tako::task_id>> hs;
    std::set<std::uint64_t> ids;
    for (int i = 0; i < 100; ++i) {
        hs.push_back(tako::spawn([]() -> tako::task<tako::task_id> {
            const auto before = tako::current_task_id();
            co_await tako::yield_now();
            const auto after = tako::current_task_id();
            co_return (before && after && *before == *after) ? *before : tako::task_id{};
        }));
        ids.insert(hs.back().id().value);
        EXPECT_NE(hs.back().id().value, 0u);
    }
    EXPECT_EQ(ids.size(), 100u);
    EXPECT_EQ(ids.count(root_id->value), 0u);
    for (auto& h : hs) {
        const tako::task_id expected = h.id();
        auto r = co_await h;
        TAKO_CO_ASSERT(r.has_value());
        EXPECT_EQ(*r, expected);
    }
    EXPECT_EQ(tako::current_task_id(), root_id);
}

TAKO_TEST_MT(task_id, task_ids_unique_across_workers) {
    std::vector<tako::join_handle<std::vector<std::uint64_t>>> hs;
    for (int w = 0; w < 4; ++w) {
        hs.push_back(tako::spawn([]() -> tako::task<std::vector<std::uint64_t>> {
            std::vector<std::uint64_t> ids;
            for (int i = 0; i < 300; ++i) {
                auto h = tako::spawn([]() -> tako::task<> { co_return; });
                ids.push_back(h.id().value);
                if (i % 50 == 0) {
                    co_await tako::yield_now();
                }
            }
            co_return ids;
        }));
    }
    std::set<std::uint64_t> all;
    std::size_t total = 0;
    for (auto& h : hs) {
        auto r = co_await h;
        TAKO_CO_ASSERT(r.has_value());
        total += r->size();
        all.insert(r->begin(), r->end());
    }
    EXPECT_EQ(total, 1200u);
    EXPECT_EQ(all.size(), 1200u);
}
