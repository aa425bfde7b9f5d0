#pragma once
// The registry of live tasks (Tokio's OwnedTasks): sharded intrusive lists, so runtime
// shutdown can find and cancel every task, including those parked on resources.

#include <cstddef>
#include <memory>
#include <vector>

#include "tako/detail/spin_lock.hpp"
#include "tako/detail/task_header.hpp"

namespace tako::detail {

class task_registry {
public:
    /// `shards` is rounded up to a power of two.
    explicit task_registry(std::size_t shards);

    /// Adds `t` (shard chosen by id). False once the registry is closed.
    bool insert(task_header* t) noexcept;
    void remove(task_header* t) noexcept;
    /// Refuses further inserts.
    void close() noexcept;
    /// Removes and returns one live task with a new reference (the caller drops it), or
    /// null when empty.
    task_header* pop_any() noexcept;
    [[nodiscard]] std::size_t size() const noexcept;
    /// Tasks inserted since construction (counted under the shard locks: no extra atomics).
    [[nodiscard]] std::uint64_t inserted() const noexcept;

private:
    struct alignas(64) shard {
        spin_lock lock;
        bool closed = false;
        task_header* head = nullptr;
        std::size_t count = 0;
        std::uint64_t inserted = 0;
    };
    shard& shard_for(const task_header* t) noexcept { return shards_[t->id & mask_]; }
    /// Adds up one counter over every shard, each under its lock.
    template <class Field>
    std::uint64_t sum(Field field) const noexcept;

    std::unique_ptr<shard[]> shards_;
    std::size_t mask_;
};

} // namespace tako::detail
