#pragma once
// A core header that reaches up into the kernel adapter: the layer check must refuse it.
#include "kernel/netlink_kernel.hpp"
