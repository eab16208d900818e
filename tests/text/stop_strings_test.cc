// StopStringMatcher on hand-written delta sequences; every expectation is
// worked out by hand in the comment beside it.
#include "text/stop_strings.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace nucleus {
namespace {

struct Fed {
  std::string emitted;  // concatenation of every emit (and the flush when it never stopped)
  bool stopped = false;
  std::string matched;
  size_t stop_delta = 0;  // index of the delta that stopped it
};

Fed feed(StopStringMatcher& m, const std::vector<std::string>& deltas, bool flush_at_end = true) {
  Fed r;
  for (size_t i = 0; i < deltas.size(); ++i) {
    StopStringMatcher::Result res = m.push(deltas[i]);
    r.emitted += res.emit;
    if (res.stopped) {
      r.stopped = true;
      r.matched = res.matched;
      r.stop_delta = i;
      return r;
    }
  }
  if (flush_at_end) r.emitted += m.flush();
  return r;
}

// may_stop false (a request's first min_tokens tokens): a whole stop string
// is text, but the start of one is held back, so a stop string that ends
// once stopping is allowed still stops there.
TEST(StopStrings, NoStopBeforeMayStopYetAStopThatEndsAfterItMatches) {
  StopStringMatcher m({"STOP"}, false);
  StopStringMatcher::Result r = m.push("xSTOPy", false);
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.emit, "xSTOPy");
  r = m.push("ST", false);
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.emit, "");  // held: it may become a stop string
  r = m.push("OP!", true);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "");
  EXPECT_EQ(r.matched, "STOP");
  StopStringMatcher n({"STOP"}, true);
  EXPECT_EQ(n.push("aSTOPb", false).emit, "aSTOPb");
  r = n.push("cSTOPd", true);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "cSTOP");
  // A whole stop string held back while not allowed to stop (it starts a
  // longer one) never stops later: only stops that end in stoppable text do.
  StopStringMatcher held({"\n\n", "\n\nUser:"}, false);
  r = held.push("\n\n", false);
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.emit, "");
  r = held.push("Sure", true);
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.emit, "\n\nSure");
  r = held.push("\n\n", true);  // now a stop string in stoppable text does stop
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.matched, "\n\n");
  StopStringMatcher tail({"\n\n", "\n\nUser:"}, false);
  std::string out = tail.push("ok\n\n", false).emit;
  r = tail.push("", true);  // the end of a sequence: what is held is text
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(out + r.emit + tail.flush(), "ok\n\n");
}

TEST(StopStrings, NoStopsPassesEverythingThrough) {
  StopStringMatcher m({}, false);
  EXPECT_EQ(m.push("abc").emit, "abc");
  EXPECT_EQ(m.push("").emit, "");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopStrings, EmptyStopStringsAreIgnored) {
  StopStringMatcher m({"", ""}, false);
  StopStringMatcher::Result r = m.push("hello");
  EXPECT_EQ(r.emit, "hello");
  EXPECT_FALSE(r.stopped);
}

TEST(StopStrings, MatchInsideOneDeltaCutsBeforeIt) {
  StopStringMatcher m({"END"}, false);
  StopStringMatcher::Result r = m.push("abcENDxyz");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "abc");  // the stop string and what follows are dropped
  EXPECT_EQ(r.matched, "END");
}

TEST(StopStrings, IncludeStopStringInOutput) {
  StopStringMatcher m({"END"}, true);
  StopStringMatcher::Result r = m.push("abcENDxyz");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "abcEND");  // up to and including the stop, nothing after
}

TEST(StopStrings, SpanningDeltasIsHeldBackThenCut) {
  StopStringMatcher m({"STOP"}, false);
  // "xS": "S" could start "STOP" -> emit "x", hold "S".
  StopStringMatcher::Result r = m.push("xS");
  EXPECT_EQ(r.emit, "x");
  EXPECT_FALSE(r.stopped);
  // "ST" + "O" = "STO": still a prefix -> nothing emitted.
  r = m.push("T");
  EXPECT_EQ(r.emit, "");
  r = m.push("O");
  EXPECT_EQ(r.emit, "");
  // "STOP" completes: nothing more emitted, stopped.
  r = m.push("Py");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "");
  EXPECT_EQ(r.matched, "STOP");
}

TEST(StopStrings, SpanningDeltasIncludedInOutput) {
  StopStringMatcher m({"STOP"}, true);
  const Fed r = feed(m, {"ab", "cST", "O", "P!", "never"});
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emitted, "abcSTOP");
  EXPECT_EQ(r.stop_delta, 3u);
}

TEST(StopStrings, HeldBackTextIsReleasedWhenItCannotMatchAnymore) {
  StopStringMatcher m({"abc"}, false);
  StopStringMatcher::Result r = m.push("xab");
  EXPECT_EQ(r.emit, "x");  // "ab" held
  r = m.push("d");         // "abd" can no longer become "abc"
  EXPECT_EQ(r.emit, "abd");
  EXPECT_FALSE(r.stopped);
}

TEST(StopStrings, HoldsOnlyTheLongestSuffixThatIsAPrefix) {
  StopStringMatcher m({"aab"}, false);
  // "xaa": suffix "aa" is a prefix of "aab" -> hold 2, emit "x".
  EXPECT_EQ(m.push("xaa").emit, "x");
  // "aaa": suffix "aa" still a prefix -> emit one "a".
  EXPECT_EQ(m.push("a").emit, "a");
  // "aab" completes.
  StopStringMatcher::Result r = m.push("b");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "");  // the extra leading "a" of "aaab" was already emitted
}

TEST(StopStrings, FlushReturnsHeldBackTextAtTheEnd) {
  StopStringMatcher m({"<end>"}, false);
  const Fed r = feed(m, {"hello <e", "n"});
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.emitted, "hello <en");  // "<en" held back, then flushed
  EXPECT_EQ(m.flush(), "");            // flush empties
}

TEST(StopStrings, EarliestMatchWinsThenLongest) {
  {
    // "b" occurs at 1, "cd" at 2: the earliest wins even though "cd" is listed first.
    StopStringMatcher m({"cd", "b"}, false);
    StopStringMatcher::Result r = m.push("abcd");
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.matched, "b");
    EXPECT_EQ(r.emit, "a");
  }
  {
    // Both start at 1: the longer wins, so the included text is "aXYZ".
    StopStringMatcher m({"X", "XYZ"}, true);
    StopStringMatcher::Result r = m.push("aXYZb");
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.matched, "XYZ");
    EXPECT_EQ(r.emit, "aXYZ");
  }
}

TEST(StopStrings, MultiByteUtf8StopStringAcrossDeltas) {
  // "é" is C3 A9; the stop "é!" spans three deltas byte by byte.
  StopStringMatcher m({"\xC3\xA9!"}, false);
  EXPECT_EQ(m.push("ab\xC3").emit, "ab");
  EXPECT_EQ(m.push("\xA9").emit, "");
  StopStringMatcher::Result r = m.push("!");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "");
}

// Splitting the same text into deltas in any way gives the same output.
TEST(StopStrings, OutputDoesNotDependOnHowTheTextIsSplit) {
  const std::vector<std::string> stops = {"abab", "bc", "cab"};
  std::mt19937 rng(3);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text;
    const int len = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < len; ++i) text += static_cast<char>('a' + rng() % 3);
    for (bool include : {false, true}) {
      // The reference: the earliest (then longest) occurrence in the whole text.
      size_t best = std::string::npos;
      std::string which;
      for (const std::string& s : stops) {
        const size_t at = text.find(s);
        if (at != std::string::npos && (at < best || (at == best && s.size() > which.size()))) {
          best = at;
          which = s;
        }
      }
      const std::string expected =
          best == std::string::npos ? text : text.substr(0, best + (include ? which.size() : 0));
      std::vector<std::string> deltas;
      for (size_t i = 0; i < text.size();) {
        const size_t n = 1 + rng() % 4;
        deltas.push_back(text.substr(i, n));
        i += n;
      }
      StopStringMatcher m(stops, include);
      const Fed r = feed(m, deltas);
      // A stop earlier in the text can be found only once its delta arrives; with
      // several stops an earlier-starting one may complete later than a later one
      // ("ababc": "bc" completes before "abab"), so compare against what a stream can know:
      // the first delta at which some stop is complete, earliest start among those.
      std::string seen;
      std::string stream_expected = text;
      bool stream_stops = false;
      for (const std::string& d : deltas) {
        seen += d;
        size_t at_best = std::string::npos;
        std::string w;
        for (const std::string& s : stops) {
          const size_t at = seen.find(s);
          if (at != std::string::npos && (at < at_best || (at == at_best && s.size() > w.size()))) {
            at_best = at;
            w = s;
          }
        }
        if (at_best != std::string::npos) {
          stream_expected = seen.substr(0, at_best + (include ? w.size() : 0));
          stream_stops = true;
          break;
        }
      }
      ASSERT_EQ(r.stopped, stream_stops) << text;
      ASSERT_EQ(r.emitted, stream_expected) << "text " << text << " include " << include;
      // The whole text as one delta finds the earliest stop of the text.
      StopStringMatcher whole(stops, include);
      ASSERT_EQ(feed(whole, {text}).emitted, expected) << text;
      // With a single stop string the split never matters at all.
      StopStringMatcher single({"cab"}, include);
      const size_t at = text.find("cab");
      const std::string want = at == std::string::npos ? text : text.substr(0, at + (include ? 3 : 0));
      ASSERT_EQ(feed(single, deltas).emitted, want) << text;
    }
  }
}

}  // namespace
}  // namespace nucleus
