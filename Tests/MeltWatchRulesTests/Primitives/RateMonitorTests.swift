import MeltWatchCore
import Testing

@testable import MeltWatchRules

/// Event time `ms` milliseconds after a fixed origin: the manual clock.
private func t(_ ms: Int64) -> EventTime { EventTime(milliseconds: 1_763_884_800_000 + ms) }

/// 0.5 per second over a 10 s window: a change of more than 5.0 within the window raises.
private func monitor(_ direction: RateMonitor.Direction = .rise) -> RateMonitor {
    RateMonitor(maxPerSecond: 0.5, windowMilliseconds: 10_000, direction: direction)
}

@Suite("RateMonitor: change against the last reading at or before the window's start, bounded memory")
struct RateMonitorTests {
    @Test("exactly the allowed change does not raise; more does, reporting the rate per second",
          arguments: [(5.0, nil), (5.5, LimitMonitor.Transition.raised(at: t(10_000), value: 0.55)), (6.0, .raised(at: t(10_000), value: 0.6))])
    func limitEdge(change: Double, expected: LimitMonitor.Transition?) {
        var m = monitor()
        #expect(m.update(100, at: t(0)) == nil)
        #expect(m.update(100 + change, at: t(10_000)) == expected)
    }

    @Test("the rate is measured over max(window, time between the readings): sparse readings are not blind",
          arguments: [(Int64(10_000), 6.0, 0.6), (10_001, 6.0, 0.59994), (20_000, 11.0, 0.55), (20_000, 10.0, nil), (2000, 6.0, 0.6)])
    func sparseSpan(at ms: Int64, change: Double, rate: Double?) {
        var m = monitor()
        _ = m.update(100, at: t(0))
        let r = m.update(100 + change, at: t(ms))
        #expect(r == rate.map { .raised(at: t(ms), value: $0) })
        #expect(m.isActive == (rate != nil))
    }

    @Test("direction decides which change is bad",
          arguments: [
              (RateMonitor.Direction.rise, 6.0, true), (.rise, -6.0, false),
              (.fall, 6.0, false), (.fall, -6.0, true),
              (.either, 6.0, true), (.either, -6.0, true), (.either, -5.0, false),
          ])
    func directions(direction: RateMonitor.Direction, change: Double, raises: Bool) {
        var m = monitor(direction)
        _ = m.update(50, at: t(0))
        let r = m.update(50 + change, at: t(4000))
        #expect(r == (raises ? .raised(at: t(4000), value: change / 10) : nil))
    }

    @Test("a sudden jump raises on the next reading, without waiting for a window of history")
    func jumpRaisesAtOnce() {
        var m = monitor()
        #expect(m.update(100, at: t(0)) == nil)
        #expect(m.lastRate.isNaN)
        #expect(m.update(106, at: t(1000)) == .raised(at: t(1000), value: 0.6))
        #expect(m.lastRate == 0.6)
    }

    @Test("the alarm clears once the reference is past the jump")
    func clearsAfterWindow() {
        var m = monitor()
        _ = m.update(100, at: t(0))
        #expect(m.update(106, at: t(1000)) == .raised(at: t(1000), value: 0.6))
        #expect(m.update(106, at: t(5000)) == nil)
        #expect(m.update(106, at: t(10_000)) == nil)  // the reference is still the reading at 0
        #expect(m.update(106, at: t(10_999)) == nil)
        #expect(m.update(106, at: t(11_000)) == .cleared(at: t(11_000), value: 0))  // now the one at 1 000
        #expect(!m.isActive)
    }

    @Test("a publishing gap concludes from the readings on both sides of it, never \"no change\" from an empty window")
    func gapMeasured() {
        var m = monitor()
        _ = m.update(100, at: t(0))
        _ = m.update(110, at: t(2000))
        #expect(m.isActive)
        // 28 s without a reading, then 90 more: 3.2 per second over the gap, still far too fast.
        #expect(m.update(200, at: t(30_000)) == nil)
        #expect(m.isActive)
        #expect(abs(m.lastRate - 90.0 / 28) < 1e-6)
        // A slow change across a long gap is slow: the alarm clears.
        #expect(m.update(201, at: t(60_000)) == .cleared(at: t(60_000), value: 0.033333))
        // The first reading concludes nothing, so it cannot clear an alarm either.
        var fresh = monitor()
        #expect(fresh.update(100, at: t(0)) == nil)
        #expect(fresh.lastRate.isNaN)
    }

    @Test("out-of-order, NaN and infinite readings are ignored")
    func ignoredReadings() {
        var m = monitor()
        _ = m.update(100, at: t(0))
        _ = m.update(101, at: t(5000))
        #expect(m.update(200, at: t(4000)) == nil)
        #expect(m.update(.nan, at: t(6000)) == nil)
        #expect(m.update(.infinity, at: t(6000)) == nil)
        #expect(m.sampleCount == 2)
        #expect(!m.isActive)
        #expect(m.update(102, at: t(6000)) == nil)
        #expect(m.lastRate == 0.2)
    }

    @Test("memory stays bounded at 1 kHz, and a ramp just over the limit raises when the allowance is used up")
    func boundedAndAccurate() {
        var m = monitor()
        #expect(m.storageSpacingMilliseconds == 40)
        var raisedAt: EventTime?
        var maxCount = 0
        for ms in Int64(0)...30_000 {
            let v = 100 + 0.51 * Double(ms) / 1000
            if case .raised(let at, let rate)? = m.update(v, at: t(ms)) {
                raisedAt = raisedAt ?? at
                #expect(abs(rate - 0.500004) < 1e-6)
            }
            maxCount = max(maxCount, m.sampleCount)
        }
        #expect(maxCount <= RateMonitor.capacity)
        #expect(maxCount == 251)  // 250 spaced 40 ms apart within the window, and the reference before it
        #expect(raisedAt == t(9804))  // first ms where 0.51/s × t exceeds 5.0
        #expect(m.isActive)
    }

    @Test("a ramp just under the limit never raises")
    func rampUnderLimit() {
        var m = monitor()
        var transitions = 0
        for ms in stride(from: Int64(0), through: 60_000, by: 100) {
            if m.update(100 + 0.49 * Double(ms) / 1000, at: t(ms)) != nil { transitions += 1 }
        }
        #expect(transitions == 0)
        #expect(abs(m.lastRate - 0.49) < 1e-9)
    }

    @Test("reset forgets the history and the alarm")
    func reset() {
        var m = monitor()
        _ = m.update(100, at: t(0))
        _ = m.update(110, at: t(1000))
        m.reset()
        #expect(!m.isActive)
        #expect(m.sampleCount == 0)
        #expect(m.update(90, at: t(500)) == nil)  // older than before the reset: accepted again
        #expect(m.sampleCount == 1)
    }
}
