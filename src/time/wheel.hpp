#pragma once
// The hierarchical timing wheel (docs/design-notes.md, *Time driver*): 6 levels of 64 slots, 1 ms per
// level-0 slot, reaching 2^36 ms (about 2.2 years). Entries are intrusive; insert, cancel and
// fire are O(1). Not synchronized: the time driver's lock guards it.

#include <array>
#include <cstdint>

#include "tako/detail/timer_entry.hpp"

namespace tako::detail {

class timer_wheel {
public:
    static constexpr int levels = 6;
    static constexpr int slots = 64;
    static constexpr std::uint64_t max_tick = (std::uint64_t{1} << (6 * levels)) - 1;

    /// Ticks (ms) the wheel has processed up to.
    [[nodiscard]] std::uint64_t elapsed() const noexcept { return elapsed_; }

    /// Links `e` (e->tick > elapsed()).
    void insert(timer_entry* e) noexcept;
    void remove(timer_entry* e) noexcept;

    /// The earliest tick at which some slot expires, or max if the wheel is empty.
    [[nodiscard]] std::uint64_t next_expiration() const noexcept;

    /// Advances to `now`, calling `fire(entry)` (entry already unlinked) for every entry
    /// whose tick is <= now, and cascading the others down a level.
    template <class Fire>
    void advance(std::uint64_t now, Fire&& fire) noexcept {
        for (;;) {
            int level = 0, slot = 0;
            std::uint64_t deadline = 0;
            if (!next_slot(level, slot, deadline) || deadline > now) {
                break;
            }
            timer_entry* list = take_slot(level, slot);
            elapsed_ = deadline;
            while (list != nullptr) {
                timer_entry* e = list;
                list = e->next;
                e->prev = e->next = nullptr;
                if (e->tick <= deadline) {
                    fire(e);
                } else {
                    insert(e); // lands in a lower level now
                }
            }
        }
        if (now > elapsed_) {
            elapsed_ = now;
        }
    }

private:
    struct level_state {
        std::uint64_t occupied = 0;
        std::array<timer_entry*, slots> heads{};
    };

    static int level_for(std::uint64_t elapsed, std::uint64_t tick) noexcept;
    bool next_slot(int& level, int& slot, std::uint64_t& deadline) const noexcept;
    timer_entry* take_slot(int level, int slot) noexcept;
    static int slot_of(std::uint64_t tick, int level) noexcept {
        return static_cast<int>((tick >> (6 * level)) & (slots - 1));
    }

    std::array<level_state, levels> levels_{};
    std::uint64_t elapsed_ = 0;
};

} // namespace tako::detail
