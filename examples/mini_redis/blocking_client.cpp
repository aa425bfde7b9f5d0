#include "blocking_client.hpp"

namespace mini_redis {

client_result<blocking_client> blocking_client::connect(std::string host_port) {
    auto rt = std::make_unique<tako::runtime>(
        tako::runtime::builder::current_thread().enable_all().build());
    auto c = rt->block_on(client::connect(std::move(host_port)));
    if (!c) {
        return std::unexpected(std::move(c.error()));
    }
    return blocking_client(std::move(rt), std::move(*c));
}

client_result<std::string> blocking_client::ping(std::optional<std::string> msg) {
    return rt_->block_on(client_.ping(std::move(msg)));
}

client_result<std::optional<std::string>> blocking_client::get(std::string key) {
    return rt_->block_on(client_.get(std::move(key)));
}

client_result<void> blocking_client::set(std::string key, std::string value,
                                         std::optional<tako::time::duration> expire) {
    return rt_->block_on(client_.set(std::move(key), std::move(value), expire));
}

client_result<std::int64_t> blocking_client::publish(std::string channel, std::string content) {
    return rt_->block_on(client_.publish(std::move(channel), std::move(content)));
}

} // namespace mini_redis
