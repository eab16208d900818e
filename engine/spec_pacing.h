// How many tokens a speculating sequence drafts next, from how its recent
// drafts fared. Kept apart from the step loop so the rule is tested alone
// (SpecPacing.* in tests/engine/speculative_test.cc); it only sets draft lengths, so no
// choice here can change an output (verification keeps outputs identical).
//
//   all drafts kept        -> draft twice as many next time (up to the cap)
//   some kept, then a miss -> draft one more than were kept
//   none kept              -> halve; after two such steps in a row, also
//                             pause drafting for 2, 4 ... 64 steps
// A copy-heavy output is mostly long runs of right drafts broken by single
// misses where the model departs from its source: doubling regains the
// full length within a few steps, and one miss does not pause drafting.
// Text without repeats rarely matches at all; when it does and misses twice
// in a row, the growing pauses keep its cost near zero.
#pragma once

namespace nucleus {

class SpecPacing {
 public:
  // Tokens to draft this step, at most `cap`; 0 while pausing (counts the step).
  int next(int cap) {
    if (pause_ > 0) {
      --pause_;
      return 0;
    }
    return k_ < cap ? k_ : cap;
  }
  // The verification of a draft of `drafted` (>= 1) tokens kept the first `kept`.
  void update(int drafted, int kept, int cap) {
    if (kept == 0) {
      k_ = k_ / 2 > 1 ? k_ / 2 : 1;
      if (++misses_ >= 2) pause_ = 1 << (misses_ - 1 < 6 ? misses_ - 1 : 6);
      return;
    }
    misses_ = 0;
    k_ = kept == drafted ? (2 * k_ < cap ? 2 * k_ : cap) : kept + 1;
  }

 private:
  int k_ = 2;       // tokens to draft next
  int misses_ = 0;  // drafts in a row of which none was kept
  int pause_ = 0;   // steps left without drafting
};

}  // namespace nucleus
