// IdSlots: native state found by a plain-number id (generation << 20 | slot), so that hot calls pass a number
// instead of a wrapped object. Thread-safety: one instance per env, used on its JS thread only (thread_local).
//
// An id whose state was removed (its JS object collected) or that was never issued no longer matches its slot's
// generation, so a stale or forged id is refused rather than reaching another object's state. Rejected: napi_unwrap
// plus a type-tag check per call (they cost more than the rest of a 16-byte fetch outside the kernel).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace shm {

template <typename T>
class IdSlots {
 public:
  static constexpr int32_t kSlotBits = 20;

  // The id of `state`, or -1 when 2^20 are live already.
  int32_t Add(std::shared_ptr<T> state) {
    size_t slot;
    if (!free_.empty()) {
      slot = static_cast<size_t>(free_.back());
      free_.pop_back();
    } else {
      if (slots_.size() >= (size_t{1} << kSlotBits)) return -1;
      slot = slots_.size();
      slots_.emplace_back();
    }
    Slot& s = slots_[slot];
    s.gen = (s.gen + 1) & ((1 << (31 - kSlotBits)) - 1);
    s.state = std::move(state);
    return (s.gen << kSlotBits) | static_cast<int32_t>(slot);
  }

  // Frees the slot of a live id; anything else is ignored.
  void Remove(int32_t id) {
    if (!Find(id)) return;
    size_t slot = SlotOf(id);
    slots_[slot].state.reset();
    free_.push_back(static_cast<int32_t>(slot));
  }

  // The live state of `id`, or null.
  const std::shared_ptr<T>* Find(int32_t id) const {
    size_t slot = SlotOf(id);
    if (id < 0 || slot >= slots_.size() || !slots_[slot].state || slots_[slot].gen != (id >> kSlotBits))
      return nullptr;
    return &slots_[slot].state;
  }

 private:
  struct Slot {
    std::shared_ptr<T> state;
    int32_t gen = 0;
  };
  static size_t SlotOf(int32_t id) { return static_cast<size_t>(id & ((1 << kSlotBits) - 1)); }
  std::vector<Slot> slots_;
  std::vector<int32_t> free_;
};

}  // namespace shm
