#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "ctsync/block_vector.hpp"

namespace ctsync {
namespace {

// Small blocks, so that a few dozen elements cross many block boundaries.
template <typename T>
using Small = BlockVector<T, 2>;

TEST(BlockVector, ElementsKeepTheirAddressWhileItGrows) {
  Small<std::uint64_t> v;
  v.push_back(7);
  const std::uint64_t* first = &v[0];
  std::vector<const std::uint64_t*> seen;
  for (std::uint64_t i = 1; i < 1000; ++i) {
    v.push_back(i);
    seen.push_back(&v.back());
  }
  EXPECT_EQ(&v[0], first);
  EXPECT_EQ(*first, 7u);
  for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], &v[i + 1]);
}

TEST(BlockVector, BehavesAsAVectorAcrossBlockBoundaries) {
  Small<std::string> v;
  std::vector<std::string> ref;
  // Up and down across boundaries, with a spare block kept and freed on the way.
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 37; ++i) {
      v.push_back("flow " + std::to_string(round * 100 + i));
      ref.push_back("flow " + std::to_string(round * 100 + i));
    }
    for (int i = 0; i < 23; ++i) {
      v.pop_back();
      ref.pop_back();
    }
    ASSERT_EQ(v.size(), ref.size());
    ASSERT_TRUE(std::equal(v.begin(), v.end(), ref.begin(), ref.end()));
    EXPECT_LE(v.capacity(), v.size() + 2 * Small<std::string>::block_size);
  }
  EXPECT_EQ(v.front(), ref.front());
  EXPECT_EQ(v.back(), ref.back());

  Small<std::string> copy = v;
  v[0] = "changed";
  EXPECT_EQ(copy[0], ref[0]);
  Small<std::string> moved = std::move(copy);
  EXPECT_TRUE(std::equal(moved.begin() + 1, moved.end(), ref.begin() + 1, ref.end()));
  moved.clear();
  EXPECT_TRUE(moved.empty());
  EXPECT_EQ(moved.capacity(), 0u);
}

TEST(BlockVector, IteratorsAreRandomAccess) {
  Small<int> v;
  for (int i = 0; i < 50; ++i) v.push_back(49 - i);
  std::sort(v.begin(), v.end());
  std::vector<int> expect(50);
  std::iota(expect.begin(), expect.end(), 0);
  EXPECT_TRUE(std::equal(v.begin(), v.end(), expect.begin(), expect.end()));
  const auto& cv = v;
  Small<int>::const_iterator it = v.begin();  // a mutable iterator converts
  EXPECT_EQ(cv.end() - it, 50);
  EXPECT_EQ(it[17], 17);
  EXPECT_EQ(*(it + 31), 31);
}

TEST(BlockVector, DestroysWhatItHolds) {
  auto token = std::make_shared<int>(1);
  {
    Small<std::shared_ptr<int>> v;
    for (int i = 0; i < 30; ++i) v.push_back(token);
    EXPECT_EQ(token.use_count(), 31);
    for (int i = 0; i < 10; ++i) v.pop_back();
    EXPECT_EQ(token.use_count(), 21);
  }
  EXPECT_EQ(token.use_count(), 1);
}

}  // namespace
}  // namespace ctsync
