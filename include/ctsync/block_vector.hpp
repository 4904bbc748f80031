#pragma once
#include <cstddef>
#include <iterator>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace ctsync {

// A sequence with std::vector's indexing and dense layout, stored in fixed-size blocks, so
// that growing never moves what is already stored. A std::vector of a million flows doubles
// by copying 200 MB into fresh pages: a stall of tens of milliseconds in the event loop, long
// enough for the kernel's event queue to overflow under a storm. Here a block at a time is
// added, and an element keeps its address until it is removed.
template <typename T, std::size_t BlockBits = 12>
class BlockVector {
 public:
  static constexpr std::size_t block_size = std::size_t{1} << BlockBits;

  template <bool Const>
  class Iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = std::conditional_t<Const, const T*, T*>;
    using reference = std::conditional_t<Const, const T&, T&>;
    using Owner = std::conditional_t<Const, const BlockVector, BlockVector>;

    Iterator() = default;
    Iterator(Owner* v, std::size_t i) : v_(v), i_(i) {}
    // A mutable iterator converts to a const one, as std's do.
    template <bool Other>
    requires(Const && !Other)
        Iterator(const Iterator<Other>& other)  // NOLINT(google-explicit-constructor)
        : v_(other.v_), i_(other.i_) {}

    reference operator*() const { return (*v_)[i_]; }
    pointer operator->() const { return &(*v_)[i_]; }
    reference operator[](difference_type n) const { return (*v_)[i_ + n]; }
    Iterator& operator++() { return ++i_, *this; }
    Iterator operator++(int) { return {v_, i_++}; }
    Iterator& operator--() { return --i_, *this; }
    Iterator operator--(int) { return {v_, i_--}; }
    Iterator& operator+=(difference_type n) { return i_ += n, *this; }
    Iterator& operator-=(difference_type n) { return i_ -= n, *this; }
    friend Iterator operator+(Iterator a, difference_type n) { return a += n; }
    friend Iterator operator+(difference_type n, Iterator a) { return a += n; }
    friend Iterator operator-(Iterator a, difference_type n) { return a -= n; }
    friend difference_type operator-(const Iterator& a, const Iterator& b) {
      return static_cast<difference_type>(a.i_) - static_cast<difference_type>(b.i_);
    }
    friend bool operator==(const Iterator& a, const Iterator& b) { return a.i_ == b.i_; }
    friend auto operator<=>(const Iterator& a, const Iterator& b) { return a.i_ <=> b.i_; }

   private:
    template <bool>
    friend class Iterator;
    Owner* v_ = nullptr;
    std::size_t i_ = 0;
  };
  using iterator = Iterator<false>;
  using const_iterator = Iterator<true>;

  BlockVector() = default;
  BlockVector(const BlockVector& other) {
    blocks_.reserve(other.blocks_.size());
    try {
      for (const T& x : other) push_back(x);
    } catch (...) {
      clear();
      throw;
    }
  }
  BlockVector(BlockVector&& other) noexcept
      : blocks_(std::move(other.blocks_)), size_(std::exchange(other.size_, 0)) {}
  BlockVector& operator=(BlockVector other) noexcept {
    swap(other);
    return *this;
  }
  ~BlockVector() { clear(); }
  void swap(BlockVector& other) noexcept {
    blocks_.swap(other.blocks_);
    std::swap(size_, other.size_);
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Elements the allocated blocks can hold.
  std::size_t capacity() const { return blocks_.size() * block_size; }

  T& operator[](std::size_t i) { return blocks_[i >> BlockBits][i & (block_size - 1)]; }
  const T& operator[](std::size_t i) const { return blocks_[i >> BlockBits][i & (block_size - 1)]; }
  T& front() { return (*this)[0]; }
  const T& front() const { return (*this)[0]; }
  T& back() { return (*this)[size_ - 1]; }
  const T& back() const { return (*this)[size_ - 1]; }

  iterator begin() { return {this, 0}; }
  iterator end() { return {this, size_}; }
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size_}; }

  // Only the block index is reserved: blocks are allocated as they fill, so a generous
  // reservation costs no memory.
  void reserve(std::size_t n) { blocks_.reserve((n + block_size - 1) / block_size); }

  template <typename... Args>
  T& emplace_back(Args&&... args) {
    if (size_ == capacity()) blocks_.push_back(allocate());
    T* p = &(*this)[size_];
    std::construct_at(p, std::forward<Args>(args)...);
    ++size_;
    return *p;
  }
  void push_back(const T& x) { emplace_back(x); }
  void push_back(T&& x) { emplace_back(std::move(x)); }

  void pop_back() {
    --size_;
    std::destroy_at(&(*this)[size_]);
    // One empty block stays as a spare, so that a size going back and forth across a block
    // boundary does not allocate each time.
    if (blocks_.size() * block_size >= size_ + 2 * block_size) {
      deallocate(blocks_.back());
      blocks_.pop_back();
    }
  }

  void clear() {
    if constexpr (!std::is_trivially_destructible_v<T>) {
      for (std::size_t i = 0; i < size_; ++i) std::destroy_at(&(*this)[i]);
    }
    size_ = 0;
    for (T* b : blocks_) deallocate(b);
    blocks_.clear();
  }

 private:
  static T* allocate() { return std::allocator<T>{}.allocate(block_size); }
  static void deallocate(T* b) { std::allocator<T>{}.deallocate(b, block_size); }

  std::vector<T*> blocks_;
  std::size_t size_ = 0;
};

}  // namespace ctsync
