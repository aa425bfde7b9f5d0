// join_error: why a spawned task produced no value.

#include "tako/join_error.hpp"

#include <stdexcept>
#include <string>

namespace tako {

void join_error::rethrow() const {
    if (exception_) {
        std::rethrow_exception(exception_);
    }
    throw std::logic_error("tako::join_error::rethrow: the task was cancelled, not failed");
}

std::string join_error::message() const {
    std::string m = "task " + std::to_string(id_.value);
    if (!exception_) {
        return m + " was cancelled";
    }
    try {
        std::rethrow_exception(exception_);
    } catch (const std::exception& e) {
        return m + " failed: " + e.what();
    } catch (...) {
        return m + " failed with a non-standard exception";
    }
}


} // namespace tako
