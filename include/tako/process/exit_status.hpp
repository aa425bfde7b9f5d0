#pragma once
/// \file
/// `tako::process::exit_status`: how a child process ended — an exit code, or a death by
/// a signal (`std::process::ExitStatus` with its Unix extension).
///
/// ```cpp
/// #include <tako/process/exit_status.hpp>
///
/// inline void report(tako::process::exit_status s) {
///     if (s.success()) {
///         std::puts("ok");
///     } else if (auto code = s.code()) {
///         std::printf("exited with %d\n", *code);
///     } else if (auto sig = s.signal()) {
///         std::printf("killed by signal %d%s\n", *sig, s.core_dumped() ? " (core dumped)" : "");
///     }
/// }
/// ```

#include <optional>

namespace tako::process {

/// How a process ended: exactly one of `code()` and `signal()` has a value.
class exit_status {
public:
    /// A process that exited with code 0.
    constexpr exit_status() noexcept = default;
    /// The status as `waitpid(2)` reports it (`WIFEXITED`, `WTERMSIG`, ... apply).
    [[nodiscard]] static constexpr exit_status from_raw(int wait_status) noexcept {
        return exit_status(wait_status);
    }
    /// A process that called `exit(code)` (only the low 8 bits survive, as for the kernel).
    [[nodiscard]] static constexpr exit_status exited(int code) noexcept {
        return exit_status((code & 0xff) << 8);
    }
    /// A process killed by signal `sig`, with or without a core dump.
    [[nodiscard]] static constexpr exit_status killed(int sig, bool core = false) noexcept {
        return exit_status((sig & 0x7f) | (core ? 0x80 : 0));
    }

    /// True if the process exited with code 0.
    [[nodiscard]] constexpr bool success() const noexcept { return raw_ == 0; }
    /// The exit code, if the process exited (rather than being killed by a signal).
    [[nodiscard]] constexpr std::optional<int> code() const noexcept {
        if ((raw_ & 0x7f) != 0) {
            return std::nullopt;
        }
        return (raw_ >> 8) & 0xff;
    }
    /// The signal that killed the process, if one did.
    [[nodiscard]] constexpr std::optional<int> signal() const noexcept {
        if ((raw_ & 0x7f) == 0) {
            return std::nullopt;
        }
        return raw_ & 0x7f;
    }
    /// True if the process was killed by a signal and dumped core.
    [[nodiscard]] constexpr bool core_dumped() const noexcept {
        return (raw_ & 0x7f) != 0 && (raw_ & 0x80) != 0;
    }
    /// The `waitpid(2)`-style status word.
    [[nodiscard]] constexpr int raw() const noexcept { return raw_; }

    friend constexpr bool operator==(exit_status, exit_status) noexcept = default;

private:
    constexpr explicit exit_status(int raw) noexcept : raw_(raw) {}
    int raw_ = 0;
};

} // namespace tako::process
