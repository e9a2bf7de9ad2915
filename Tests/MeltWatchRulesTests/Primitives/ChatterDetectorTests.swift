import MeltWatchCore
import Testing

@testable import MeltWatchRules

/// Event time `ms` milliseconds after a fixed origin: the manual clock.
private func t(_ ms: Int64) -> EventTime { EventTime(milliseconds: 1_763_884_800_000 + ms) }

@Suite("ChatterDetector: ≥ 3 activations a minute, reported once per episode")
struct ChatterDetectorTests {
    @Test("the activation that reaches the threshold within the inclusive window reports",
          arguments: [
              (3, [Int64(0), 20_000, 40_000], [false, false, true]),
              (3, [0, 30_000, 60_000], [false, false, true]),       // first to third exactly one minute
              (3, [0, 30_000, 60_001], [false, false, false]),      // one millisecond too slow
              (3, [0, 30_000, 60_001, 61_000], [false, false, false, true]),
              (2, [0, 60_000], [false, true]),
              (2, [0, 60_001], [false, false]),
              (1, [0], [true]),
          ])
    func thresholds(threshold: Int, times: [Int64], reports: [Bool]) {
        var d = ChatterDetector(threshold: threshold)
        #expect(times.map { d.activation(at: t($0)) } == reports)
        #expect(d.isChattering == reports.contains(true))
    }

    @Test("an ongoing episode reports once, however many more activations come")
    func oncePerEpisode() {
        var d = ChatterDetector()
        let got = [0, 20_000, 40_000, 50_000, 60_000, 100_000, 140_000].map { d.activation(at: t($0)) }
        #expect(got == [false, false, true, false, false, false, false])
        #expect(d.isChattering)
        #expect(d.count == 2)  // within [80 000, 140 000]: the activations at 100 000 and 140 000
    }

    @Test("the detector re-arms once a whole window passes with no activation")
    func rearmsWhenWindowEmpties() {
        var d = ChatterDetector()
        _ = [0, 20_000, 40_000].map { d.activation(at: t($0)) }
        #expect(d.activation(at: t(100_000)) == false)   // 40 000 + 60 000: still the same episode
        #expect(d.isChattering)
        #expect(d.activation(at: t(160_001)) == false)   // 100 000 left the window: re-armed, count 1
        #expect(!d.isChattering)
        #expect(d.count == 1)
        #expect(d.activation(at: t(161_000)) == false)
        #expect(d.activation(at: t(162_000)) == true)    // a new episode is reported again
    }

    @Test("the episode ends by time alone: deadline and advance, one millisecond past the window")
    func episodeEndsByTime() {
        var d = ChatterDetector()
        #expect(d.deadline == nil)
        _ = [0, 20_000, 40_000].map { d.activation(at: t($0)) }
        #expect(d.deadline == t(100_001))
        #expect(d.advance(to: t(100_000)) == false)
        #expect(d.isChattering)
        #expect(d.advance(to: t(100_001)) == true)
        #expect(!d.isChattering)
        #expect(d.deadline == nil)
        #expect(d.advance(to: t(200_000)) == false)  // nothing more to end
    }

    @Test("activations older than the last one are ignored")
    func outOfOrder() {
        var d = ChatterDetector()
        #expect(d.activation(at: t(0)) == false)
        #expect(d.activation(at: t(20_000)) == false)
        #expect(d.activation(at: t(10_000)) == false)
        #expect(d.count == 2)
        #expect(d.activation(at: t(30_000)) == true)
    }

    @Test("the window length is configurable and the threshold is at least 1")
    func configuration() {
        var d = ChatterDetector(threshold: 3, windowMilliseconds: 10_000)
        #expect([0, 5000, 10_001, 12_000].map { d.activation(at: t($0)) } == [false, false, false, true])
        #expect(ChatterDetector(threshold: 0).threshold == 1)
    }
}
