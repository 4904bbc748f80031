#pragma once
// The app layer may not use the event loop directly: only through the scheduler port.
#include <boost/asio/io_context.hpp>
