#include "io/io_driver.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "runtime/scheduler.hpp"

namespace tako::detail {

namespace {

constexpr std::uint64_t bits_mask = 0xffff;
constexpr std::uint64_t tick_one = std::uint64_t{1} << 16;
constexpr int max_events = 1024;

std::uint32_t readiness_of(std::uint32_t events) noexcept {
    std::uint32_t r = 0;
    if ((events & (EPOLLIN | EPOLLPRI)) != 0) {
        r |= io_ready::readable;
    }
    if ((events & EPOLLOUT) != 0) {
        r |= io_ready::writable;
    }
    if ((events & (EPOLLRDHUP | EPOLLHUP)) != 0) {
        r |= io_ready::read_closed;
    }
    if ((events & EPOLLHUP) != 0) {
        r |= io_ready::write_closed;
    }
    if ((events & EPOLLERR) != 0) {
        r |= io_ready::error | io_ready::write_closed;
    }
    return r;
}

} // namespace

io_driver::io_driver() {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) {
        throw std::system_error(errno, std::system_category(), "tako: epoll_create1");
    }
    event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd_ < 0) {
        const int e = errno;
        ::close(epoll_);
        throw std::system_error(e, std::system_category(), "tako: eventfd");
    }
    ::epoll_event ev{};
    ev.events = EPOLLIN; // level-triggered: drained when seen
    ev.data.ptr = nullptr;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, event_fd_, &ev) != 0) {
        const int e = errno;
        ::close(event_fd_);
        ::close(epoll_);
        throw std::system_error(e, std::system_category(), "tako: epoll_ctl(eventfd)");
    }
    live_.prev = live_.next = &live_;
}

io_driver::~io_driver() {
    shutdown();
    free_released();
    // Registrations still live belong to sources that outlive the runtime's driver stack
    // but not this object (they hold it); none can be left here.
    ::close(event_fd_);
    ::close(epoll_);
}

io::result<io_registration*> io_driver::add(int fd, bool assume_ready) noexcept {
    return add_registration(fd, assume_ready, nullptr);
}

io::result<io_registration*> io_driver::add_handler(int fd, io_handler* h) noexcept {
    return add_registration(fd, false, h);
}

io::result<io_registration*> io_driver::add_registration(int fd, bool assume_ready,
                                                         io_handler* h) noexcept {
    auto* r = new (std::nothrow) io_registration;
    if (r == nullptr) {
        return std::unexpected(std::make_error_code(std::errc::not_enough_memory));
    }
    r->fd = fd;
    r->handler = h;
    // Sockets start as ready both ways: the first operation tries its syscall at once (a
    // new socket is usually writable) and EAGAIN clears what is not. Otherwise the
    // kernel's first report (epoll queues one at EPOLL_CTL_ADD if the fd is ready) sets it.
    if (assume_ready) {
        r->readiness.store(io_ready::readable | io_ready::writable, std::memory_order_relaxed);
    }
    {
        std::lock_guard guard(lock_);
        if (shut_down_) {
            delete r;
            return std::unexpected(make_error_code(io::errc::runtime_shut_down));
        }
        r->next = &live_;
        r->prev = live_.prev;
        live_.prev->next = r;
        live_.prev = r;
    }
    ::epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET;
    ev.data.ptr = r;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        const std::error_code e(errno, std::system_category());
        std::lock_guard guard(lock_);
        r->prev->next = r->next;
        r->next->prev = r->prev;
        delete r; // never visible to epoll
        return std::unexpected(e);
    }
    return r;
}

void io_driver::remove(io_registration* r) noexcept {
    // Failure (the fd was closed behind our back) leaves nothing registered either way.
    (void)::epoll_ctl(epoll_, EPOLL_CTL_DEL, r->fd, nullptr);
    {
        std::lock_guard guard(lock_);
        r->prev->next = r->next;
        r->next->prev = r->prev;
        r->prev = nullptr;
    }
    push_released(r);
}

void io_driver::push_released(io_registration* r) noexcept {
    // release: the parking thread that takes the stack sees the unlinked registration.
    io_registration* head = released_.load(std::memory_order_relaxed);
    do {
        r->next = head;
    } while (!released_.compare_exchange_weak(head, r, std::memory_order_release,
                                              std::memory_order_relaxed));
}

void io_driver::free_released() noexcept {
    // acquire: pairs with remove()'s release.
    io_registration* list = released_.exchange(nullptr, std::memory_order_acquire);
    while (list != nullptr) {
        io_registration* next = list->next;
        delete list;
        list = next;
    }
}

void io_driver::unpark() noexcept {
    // release: pairs with park's acquire exchange.
    if (state_.exchange(notified, std::memory_order_acq_rel) == parked) {
        const std::uint64_t one = 1;
        // EAGAIN: the counter is saturated, so the driver wakes anyway.
        (void)!::write(event_fd_, &one, sizeof one);
    }
}

void io_driver::park(std::optional<std::chrono::nanoseconds> timeout) noexcept {
    // Registrations released since the last park: no dispatch holds them any more.
    if (released_.load(std::memory_order_relaxed) != nullptr) {
        free_released();
    }
    int ms = -1;
    if (timeout) {
        const auto ns = timeout->count();
        ms = ns <= 0 ? 0
                     : static_cast<int>(std::min<long long>((ns + 999'999) / 1'000'000, 1 << 30));
    }
    if (state_.exchange(parked, std::memory_order_acq_rel) == notified) {
        ms = 0; // unparked before we parked: only collect what is ready
    }
    ::epoll_event events[max_events];
    const int n = ::epoll_wait(epoll_, events, max_events, ms);
    state_.store(idle, std::memory_order_release);
    for (int i = 0; i < n; ++i) {
        auto* r = static_cast<io_registration*>(events[i].data.ptr);
        if (r == nullptr) {
            std::uint64_t drained = 0;
            (void)!::read(event_fd_, &drained, sizeof drained);
            continue;
        }
        dispatch(r, events[i].events);
    }
}

void io_driver::dispatch(io_registration* r, std::uint32_t events) noexcept {
    if (r->handler != nullptr) {
        r->handler->on_ready(*this, r);
        return;
    }
    const std::uint32_t bits = readiness_of(events);
    std::unique_lock guard(r->lock);
    // Under the lock: a waiter that checks readiness under the same lock either sees these
    // bits or is already linked and fired below.
    std::uint64_t cur = r->readiness.load(std::memory_order_relaxed);
    while (!r->readiness.compare_exchange_weak(
        cur, ((cur & ~bits_mask) + tick_one) | (cur & bits_mask) | bits, std::memory_order_acq_rel,
        std::memory_order_relaxed)) {
    }
    constexpr std::uint32_t read_bits =
        io_ready::readable | io_ready::read_closed | io_ready::error;
    constexpr std::uint32_t write_bits =
        io_ready::writable | io_ready::write_closed | io_ready::error;
    wait_list woken;
    if ((bits & read_bits) != 0) {
        woken.splice_back(r->readers);
    }
    if ((bits & write_bits) != 0) {
        woken.splice_back(r->writers);
    }
    fire_all(guard, woken);
}

void io_driver::shutdown() noexcept {
    std::unique_lock guard(lock_);
    if (shut_down_) {
        return;
    }
    shut_down_ = true;
    // Handler registrations leave the live list; their handlers are told after the lock.
    io_registration handlers{};
    handlers.prev = handlers.next = &handlers;
    for (io_registration* r = live_.next; r != &live_;) {
        io_registration* next = r->next;
        if (r->handler != nullptr) {
            r->prev->next = r->next;
            r->next->prev = r->prev;
            r->next = handlers.next;
            handlers.next = r;
        }
        r = next;
    }
    for (io_registration* r = live_.next; r != &live_; r = r->next) {
        std::unique_lock rguard(r->lock);
        r->shut_down.store(true, std::memory_order_release);
        wait_list woken;
        woken.splice_back(r->readers);
        woken.splice_back(r->writers);
        fire_all(rguard, woken);
    }
    guard.unlock();
    for (io_registration* r = handlers.next; r != &handlers;) {
        io_registration* next = r->next;
        (void)::epoll_ctl(epoll_, EPOLL_CTL_DEL, r->fd, nullptr);
        r->handler->on_shutdown();
        push_released(r); // freed like any removed registration
        r = next;
    }
}

io::result<std::shared_ptr<io_driver>> current_io_driver() noexcept {
    runtime_core* core = tls_thread.runtime;
    if (core == nullptr) {
        return std::unexpected(make_error_code(io::errc::no_runtime));
    }
    if (!core->io) {
        return std::unexpected(make_error_code(io::errc::io_disabled));
    }
    return core->io;
}

} // namespace tako::detail
