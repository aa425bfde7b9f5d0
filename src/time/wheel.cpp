#include "time/wheel.hpp"

#include <bit>

namespace tako::detail {

int timer_wheel::level_for(std::uint64_t elapsed, std::uint64_t tick) noexcept {
    // The highest bit in which the deadline differs from now picks the level: a timer
    // differing only in the low 6 bits is within this level-0 rotation, and so on.
    const std::uint64_t masked = (elapsed ^ tick) | (slots - 1);
    const int significant = 63 - std::countl_zero(masked);
    const int level = significant / 6;
    return level < levels ? level : levels - 1;
}

void timer_wheel::insert(timer_entry* e) noexcept {
    // A deadline beyond the wheel's reach is placed at the reach's end and keeps its real
    // tick: when that slot expires, advance() finds the tick later and inserts it again.
    // (Clamping the tick itself would fire it early, and once the runtime is older than
    // the reach, at once.)
    const std::uint64_t place =
        e->tick > elapsed_ && e->tick - elapsed_ > max_tick ? elapsed_ + max_tick : e->tick;
    const int level = level_for(elapsed_, place);
    const int slot = slot_of(place, level);
    level_state& l = levels_[level];
    e->level = static_cast<std::uint8_t>(level);
    e->slot = static_cast<std::uint8_t>(slot);
    e->prev = nullptr;
    e->next = l.heads[slot];
    if (e->next != nullptr) {
        e->next->prev = e;
    }
    l.heads[slot] = e;
    l.occupied |= std::uint64_t{1} << slot;
}

void timer_wheel::remove(timer_entry* e) noexcept {
    const int slot = e->slot;
    level_state& l = levels_[e->level];
    if (e->prev != nullptr) {
        e->prev->next = e->next;
    } else {
        l.heads[slot] = e->next;
    }
    if (e->next != nullptr) {
        e->next->prev = e->prev;
    }
    e->prev = e->next = nullptr;
    if (l.heads[slot] == nullptr) {
        l.occupied &= ~(std::uint64_t{1} << slot);
    }
}

bool timer_wheel::next_slot(int& level, int& slot, std::uint64_t& deadline) const noexcept {
    for (int lv = 0; lv < levels; ++lv) {
        const level_state& l = levels_[lv];
        if (l.occupied == 0) {
            continue;
        }
        const std::uint64_t slot_range = std::uint64_t{1} << (6 * lv);
        const std::uint64_t level_range = slot_range << 6;
        const int now_slot = static_cast<int>((elapsed_ / slot_range) % slots);
        const int zeros = std::countr_zero(std::rotr(l.occupied, now_slot));
        const int s = (zeros + now_slot) % slots;
        const std::uint64_t level_start = elapsed_ & ~(level_range - 1);
        std::uint64_t d = level_start + static_cast<std::uint64_t>(s) * slot_range;
        if (d + slot_range <= elapsed_) {
            d += level_range; // the slot is in the next rotation of this level
        }
        level = lv;
        slot = s;
        deadline = d < elapsed_ ? elapsed_ : d;
        return true;
    }
    return false;
}

std::uint64_t timer_wheel::next_expiration() const noexcept {
    int level = 0, slot = 0;
    std::uint64_t deadline = 0;
    return next_slot(level, slot, deadline) ? deadline : ~std::uint64_t{0};
}

timer_entry* timer_wheel::take_slot(int level, int slot) noexcept {
    level_state& l = levels_[level];
    timer_entry* head = l.heads[slot];
    l.heads[slot] = nullptr;
    l.occupied &= ~(std::uint64_t{1} << slot);
    return head;
}

} // namespace tako::detail
