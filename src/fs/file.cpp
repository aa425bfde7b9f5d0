// fs::file: reads from the read-ahead buffer, then from the page cache on the calling
// thread (preadv2 RWF_NOWAIT), then on the blocking pool; writes into a buffer that
// write-behind jobs write out. At most one job per file is in flight (`inflight_`), so
// the kernel cursor only ever moves in program order. docs/fs.md tells the whole design.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "fs/file_core.hpp"
#include "tako/fs/file.hpp"
#include "tako/io/util.hpp"
#include "tako/yield.hpp"

namespace tako::fs {

using detail::file_buffer;
using detail::file_core;
using detail::file_job;
using detail::file_job_result;
using detail::file_op;

namespace {

file_buffer take(file_buffer& b) noexcept {
    return std::exchange(b, file_buffer{});
}

/// Makes room for `n` bytes in `b`, keeping its pending bytes [0, len).
void reserve(file_buffer& b, std::size_t n) {
    if (b.capacity >= n) {
        return;
    }
    auto bigger = std::make_unique_for_overwrite<std::byte[]>(n);
    if (b.len > 0) {
        std::memcpy(bigger.get(), b.data.get(), b.len);
    }
    b.data = std::move(bigger);
    b.capacity = n;
}

/// Writes all of `b`'s pending bytes at the fd's cursor; empties `b` either way.
io::result<std::size_t> write_out(int fd, file_buffer& b) noexcept {
    std::size_t done = 0;
    while (done < b.len) {
        const ::ssize_t n = ::write(fd, b.data.get() + done, b.len - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            b.len = 0;
            return detail::errno_error();
        }
        if (n == 0) {
            b.len = 0;
            return std::unexpected(make_error_code(io::errc::write_zero));
        }
        done += static_cast<std::size_t>(n);
    }
    b.len = 0;
    return done;
}

/// One read(2) of up to `want` bytes into `b` (which it resizes): its bytes are [0, len).
io::result<std::size_t> read_in(int fd, file_buffer& b, std::size_t want) {
    reserve(b, want);
    b.pos = 0;
    b.len = 0;
    for (;;) {
        const ::ssize_t n = ::read(fd, b.data.get(), want);
        if (n >= 0) {
            b.len = static_cast<std::size_t>(n);
            return b.len;
        }
        if (errno != EINTR) {
            return detail::errno_error();
        }
    }
}

/// A system call's 0 / -1 as an io::result.
io::result<std::size_t> status(int rc) noexcept {
    if (rc < 0) {
        return detail::errno_error();
    }
    return 0;
}

/// Ends a job of `core`: clears job_active and writes the tail a destroyed file left.
void finish_job(file_core& core) noexcept {
    file_buffer tail;
    {
        std::lock_guard guard(core.lock);
        core.job_active = false;
        tail = take(core.tail);
    }
    (void)write_out(core.fd.get(), tail); // its file is gone: nobody to report to
}

} // namespace

namespace detail {

void mark_job_active(file_core& core) noexcept {
    std::lock_guard guard(core.lock);
    core.job_active = true;
}

file_job_result file_job::operator()() {
    ran = true;
    const int fd = core->fd.get();
    file_job_result r;
    r.was_read = op == file_op::read;
    r.n = write_out(fd, buf);
    if (r.n) {
        switch (op) {
        case file_op::read:
            r.n = read_in(fd, buf, static_cast<std::size_t>(arg));
            break;
        case file_op::write:
            break;
        case file_op::fsync:
            r.n = status(::fsync(fd));
            break;
        case file_op::fdatasync:
            r.n = status(::fdatasync(fd));
            break;
        case file_op::truncate:
            r.n = status(::ftruncate(fd, static_cast<::off_t>(arg)));
            break;
        case file_op::fstat:
            r.n = status(::fstat(fd, &r.st));
            break;
        case file_op::fchmod:
            r.n = status(::fchmod(fd, static_cast<::mode_t>(arg)));
            break;
        }
    }
    r.buf = std::move(buf);
    finish_job(*core);
    core.reset();
    return r;
}

file_job::~file_job() {
    if (core != nullptr && !ran) {
        // Never run: the runtime shut down with the job queued. Its bytes still go out.
        (void)write_out(core->fd.get(), buf);
        finish_job(*core);
    }
}

} // namespace detail

file::file() noexcept = default;
file::file(std::shared_ptr<file_core> core) noexcept : core_(std::move(core)) {}
file::file(file&& o) noexcept
    : core_(std::move(o.core_)), buf_(take(o.buf_)), spare_(take(o.spare_)),
      inflight_(std::move(o.inflight_)), buffer_size_(o.buffer_size_),
      writing_(std::exchange(o.writing_, false)), nowait_(o.nowait_) {}

file& file::operator=(file&& o) noexcept {
    if (this != &o) {
        { file gone(std::move(*this)); } // its pending writes go out as on destruction
        core_ = std::move(o.core_);
        buf_ = take(o.buf_);
        spare_ = take(o.spare_);
        inflight_ = std::move(o.inflight_);
        buffer_size_ = o.buffer_size_;
        writing_ = std::exchange(o.writing_, false);
        nowait_ = o.nowait_;
    }
    return *this;
}

file::~file() {
    if (core_ == nullptr || !writing_ || buf_.len == 0) {
        return; // a job in flight keeps the core; the last owner closes the descriptor
    }
    {
        std::lock_guard guard(core_->lock);
        if (core_->job_active) {
            core_->tail = take(buf_); // written by that job when it ends, after its bytes
            return;
        }
        core_->job_active = true;
    }
    file_job last(core_, take(buf_), file_op::write, 0);
    if (runtime_handle::try_current()) {
        // If the runtime is shutting down the job is dropped unrun, and its destructor
        // writes the bytes right here.
        tako::spawn_blocking(std::move(last)).detach();
    } else {
        (void)last(); // no runtime: this thread may block
    }
}

file file::from_fd(int fd, std::filesystem::path path) {
    struct ::stat st {};
    const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    return file(std::make_shared<file_core>(detail::unique_fd(fd), std::move(path), regular));
}

const std::filesystem::path& file::path() const noexcept {
    static const std::filesystem::path none;
    return core_ ? core_->path : none;
}

int file::native_handle() const noexcept {
    return core_ ? core_->fd.get() : -1;
}

// ---- jobs ----

void file::start(file_op op, std::uint64_t arg, file_buffer pending) {
    detail::mark_job_active(*core_);
    inflight_ = tako::spawn_blocking(file_job(core_, std::move(pending), op, arg));
}

task<io::result<file_job_result>> file::settle() {
    if (!inflight_.valid()) {
        co_return file_job_result{};
    }
    auto done = co_await inflight_; // cancel-safe: the result stays in the handle
    if (!done) {
        co_return std::unexpected(detail::join_failure(done.error()));
    }
    file_job_result r = std::move(*done);
    if (r.was_read) {
        buf_ = std::move(r.buf); // its bytes [0, len) are read-ahead now
    } else {
        spare_ = std::move(r.buf);
        spare_.len = 0;
    }
    if (!r.n) {
        co_return std::unexpected(r.n.error());
    }
    co_return r;
}

task<io::result<file_job_result>> file::run(file_op op, std::uint64_t arg) {
    if (auto s = co_await settle(); !s) {
        co_return s;
    }
    file_buffer pending;
    if (writing_) {
        pending = take(buf_);
        buf_ = take(spare_);
        writing_ = false;
    } else if (op == file_op::read) {
        pending = take(buf_); // the landing buffer, empty
    }
    start(op, arg, std::move(pending));
    co_return co_await settle();
}

task<io::result<void>> file::write_behind() {
    if (inflight_.valid()) {
        if (auto s = co_await settle(); !s) {
            co_return std::unexpected(s.error()); // the pending bytes stay buffered
        }
    }
    file_buffer pending = take(buf_);
    buf_ = take(spare_);
    start(file_op::write, 0, std::move(pending));
    co_return io::result<void>{};
}

io::result<void> file::drop_read_ahead() noexcept {
    if (writing_ || buf_.pos >= buf_.len) {
        return {};
    }
    const auto ahead = static_cast<::off_t>(buf_.len - buf_.pos);
    if (::lseek(core_->fd.get(), -ahead, SEEK_CUR) < 0) {
        return detail::errno_error();
    }
    buf_.pos = buf_.len = 0;
    return {};
}

std::size_t file::take_read_ahead(std::span<std::byte> out) noexcept {
    const std::size_t n = std::min(out.size(), buf_.len - buf_.pos);
    std::memcpy(out.data(), buf_.data.get() + buf_.pos, n);
    buf_.pos += n;
    if (buf_.pos == buf_.len) {
        buf_.pos = buf_.len = 0;
    }
    return n;
}

// ---- reading ----

std::optional<io::result<std::size_t>> file::read_now(std::span<std::byte> out) noexcept {
    ::iovec iov[2] = {{out.data(), out.size()}, {nullptr, 0}};
    int count = 1;
    if (core_->regular && out.size() < buffer_size_) {
        try {
            reserve(buf_, buffer_size_);
        } catch (...) {
            return std::nullopt; // no memory for read-ahead: the pool path reports it
        }
        iov[1] = {buf_.data.get(), buffer_size_};
        count = 2;
    }
    for (;;) {
        const ::ssize_t n = ::preadv2(core_->fd.get(), iov, count, -1, RWF_NOWAIT);
        if (n >= 0) {
            const auto got = static_cast<std::size_t>(n);
            if (got > out.size()) {
                buf_.pos = 0;
                buf_.len = got - out.size();
                return out.size();
            }
            return got;
        }
        switch (errno) {
        case EINTR:
            continue;
        case EAGAIN:
            return std::nullopt; // not in the page cache: the pool reads it
        case EOPNOTSUPP:
        case EINVAL:
        case ENOSYS:
            nowait_ = false; // this file cannot: the pool reads from now on
            return std::nullopt;
        default:
            return detail::errno_error();
        }
    }
}

task<io::result<std::size_t>> file::read(std::span<std::byte> out) {
    if (core_ == nullptr) {
        co_return std::unexpected(make_error_code(io::errc::closed));
    }
    if (out.empty()) {
        co_return 0;
    }
    // Spend the budget before any byte moves: cancelled at this yield, nothing is lost.
    co_await tako::consume_budget();
    if (inflight_.valid() || writing_) {
        if (auto d = co_await drain(); !d) {
            co_return std::unexpected(d.error());
        }
    }
    if (buf_.pos < buf_.len) {
        co_return take_read_ahead(out);
    }
    out = out.first(std::min(out.size(), max_io_size));
    if (nowait_) {
        if (auto n = read_now(out)) {
            co_return *n;
        }
    }
    const std::size_t want =
        core_->regular ? std::clamp(out.size(), buffer_size_, max_io_size) : out.size();
    if (auto s = co_await run(file_op::read, want); !s) {
        co_return std::unexpected(s.error());
    }
    co_return take_read_ahead(out); // 0: end of file
}

task<io::result<void>> file::read_exact(std::span<std::byte> buf) {
    co_return co_await io::read_exact(*this, buf);
}

// ---- writing ----

task<io::result<std::size_t>> file::write(std::span<const std::byte> in) {
    if (core_ == nullptr) {
        co_return std::unexpected(make_error_code(io::errc::closed));
    }
    if (in.empty()) {
        co_return 0;
    }
    co_await tako::consume_budget(); // before taking bytes: a cancel here takes none
    if (!writing_) {
        // A job left by a cancelled operation ends first (a read's bytes become
        // read-ahead, which is then given back): the cursor moves in program order.
        if (auto s = co_await settle(); !s) {
            co_return std::unexpected(s.error());
        }
        if (auto d = drop_read_ahead(); !d) {
            co_return std::unexpected(d.error());
        }
        writing_ = true;
        buf_.pos = buf_.len = 0;
    }
    if (buf_.len + in.size() > buffer_size_ && buf_.len > 0) {
        if (auto w = co_await write_behind(); !w) {
            co_return std::unexpected(w.error());
        }
    }
    std::size_t n = in.size();
    if (n > buffer_size_) {
        // Larger than the buffer: one write-behind of it (at most max_io_size) at once.
        if (auto s = co_await settle(); !s) {
            co_return std::unexpected(s.error());
        }
        n = std::min(n, max_io_size);
        reserve(buf_, n);
        std::memcpy(buf_.data.get(), in.data(), n);
        buf_.len = n;
        if (auto w = co_await write_behind(); !w) {
            co_return std::unexpected(w.error());
        }
        co_return n;
    }
    reserve(buf_, buffer_size_);
    std::memcpy(buf_.data.get() + buf_.len, in.data(), n);
    buf_.len += n;
    co_return n;
}

task<io::result<void>> file::write_all(std::span<const std::byte> buf) {
    co_return co_await io::write_all(*this, buf);
}

task<io::result<void>> file::drain() {
    if (auto s = co_await settle(); !s) {
        co_return std::unexpected(s.error());
    }
    if (writing_ && buf_.len > 0) {
        if (auto r = co_await run(file_op::write, 0); !r) {
            co_return std::unexpected(r.error());
        }
    }
    writing_ = false;
    co_return io::result<void>{};
}

task<io::result<void>> file::flush() {
    if (core_ == nullptr) {
        co_return std::unexpected(make_error_code(io::errc::closed));
    }
    co_return co_await drain();
}

// ---- position ----

task<io::result<std::uint64_t>> file::seek(seek_from pos) {
    if (core_ == nullptr) {
        co_return std::unexpected(make_error_code(io::errc::closed));
    }
    if (auto f = co_await drain(); !f) {
        co_return std::unexpected(f.error());
    }
    std::int64_t offset = pos.offset();
    if (pos.whence() == SEEK_CUR) {
        offset -= static_cast<std::int64_t>(buf_.len - buf_.pos); // the kernel is ahead
    }
    const ::off_t at = ::lseek(core_->fd.get(), offset, pos.whence());
    if (at < 0) {
        co_return detail::errno_error();
    }
    buf_.pos = buf_.len = 0;
    co_return static_cast<std::uint64_t>(at);
}

task<io::result<std::uint64_t>> file::stream_position() {
    if (core_ == nullptr) {
        co_return std::unexpected(make_error_code(io::errc::closed));
    }
    if (auto f = co_await drain(); !f) {
        co_return std::unexpected(f.error());
    }
    const ::off_t at = ::lseek(core_->fd.get(), 0, SEEK_CUR);
    if (at < 0) {
        co_return detail::errno_error();
    }
    co_return static_cast<std::uint64_t>(at) - (buf_.len - buf_.pos);
}

// ---- the rest: one job each, after the pending writes ----

namespace {
io::result<void> as_void(const io::result<file_job_result>& r) {
    if (!r) {
        return std::unexpected(r.error());
    }
    return {};
}
} // namespace

task<io::result<void>> file::sync_all() {
    if (core_ == nullptr) {
        co_return std::unexpected(make_error_code(io::errc::closed));
    }
    co_return as_void(co_await run(file_op::fsync, 0));
}

task<io::result<void>> file::sync_data() {
    if (core_ == nullptr) {
        co_return std::unexpected(make_error_code(io::errc::closed));
    }
    co_return as_void(co_await run(file_op::fdatasync, 0));
}

task<io::result<void>> file::set_len(std::uint64_t size) {
    if (core_ == nullptr) {
        co_return std::unexpected(make_error_code(io::errc::closed));
    }
    if (auto s = co_await settle(); !s) {
        co_return std::unexpected(s.error());
    }
    if (auto d = drop_read_ahead(); !d) { // the bytes read ahead may be cut off
        co_return d;
    }
    co_return as_void(co_await run(file_op::truncate, size));
}

task<io::result<file_metadata>> file::metadata() {
    if (core_ == nullptr) {
        co_return std::unexpected(make_error_code(io::errc::closed));
    }
    auto r = co_await run(file_op::fstat, 0);
    if (!r) {
        co_return std::unexpected(r.error());
    }
    co_return file_metadata(r->st);
}

task<io::result<void>> file::set_permissions(std::filesystem::perms perms) {
    if (core_ == nullptr) {
        co_return std::unexpected(make_error_code(io::errc::closed));
    }
    co_return as_void(co_await run(file_op::fchmod, static_cast<std::uint64_t>(perms)));
}

task<io::result<file>> file::try_clone() {
    if (core_ == nullptr) {
        co_return std::unexpected(make_error_code(io::errc::closed));
    }
    if (auto f = co_await drain(); !f) {
        co_return std::unexpected(f.error());
    }
    if (auto d = drop_read_ahead(); !d) {
        co_return std::unexpected(d.error());
    }
    const int fd = ::fcntl(core_->fd.get(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        co_return detail::errno_error();
    }
    file clone(std::make_shared<file_core>(detail::unique_fd(fd), core_->path, core_->regular));
    clone.buffer_size_ = buffer_size_;
    clone.nowait_ = nowait_;
    co_return clone;
}

} // namespace tako::fs
