import MeltWatchCore
import Testing

@testable import MeltWatchRules

/// Time `ms` milliseconds after a fixed origin: the manual clock (event and daemon time alike).
private func t(_ ms: Int64) -> EventTime { EventTime(milliseconds: 1_763_884_800_000 + ms) }

/// Stale after 30 s, frozen after 10 min, instrument range 0…1000.
private func health(frozen: Int64 = 600_000, stale: Int64 = 30_000, required: Bool = false) -> SignalHealth {
    SignalHealth(staleAfterMilliseconds: stale, frozenAfterMilliseconds: frozen, range: 0...1000, requiredFromStart: required)
}

private extension SignalHealth {
    /// A reading whose arrival time equals its event time (a gateway in step with the daemon).
    mutating func read(_ v: Double, at ms: Int64, q: Quality = .good, operating: Bool = true) -> [HealthTransition] {
        reading(.number(v), quality: q, at: t(ms), arrivedAt: t(ms), operating: operating)
    }

    /// Readings every `step` ms from `start` through `end` with the same value; returns every transition.
    mutating func hold(_ v: Double, from start: Int64, through end: Int64, step: Int64 = 10_000,
                       operating: Bool = true) -> [HealthTransition] {
        var out: [HealthTransition] = []
        for ms in stride(from: start, through: end, by: Int(step)) { out += read(v, at: ms, operating: operating) }
        return out
    }
}

/// The transitions as `condition raised|cleared @ms` strings: compact, exact assertions.
private func summary(_ ts: [HealthTransition]) -> [String] {
    ts.map { "\($0.condition.rawValue) \($0.raised ? "raised" : "cleared") @\($0.at.milliseconds - 1_763_884_800_000)" }
}

@Suite("SignalHealth: stale on the daemon clock, frozen and bad quality on event time")
struct SignalHealthTests {
    @Test("stale fires by tick alone, strictly after staleAfter, at last event time + staleAfter",
          arguments: [(Int64(29_999), false), (30_000, false), (30_001, true)])
    func staleByTick(tickAt: Int64, fires: Bool) {
        var h = health()
        _ = h.tick(daemonTime: t(0), operating: true)
        #expect(h.read(500, at: 0).isEmpty)
        #expect(h.deadline == t(30_001))
        let out = h.tick(daemonTime: t(tickAt), operating: true)
        #expect(summary(out) == (fires ? ["stale raised @30000"] : []))
        #expect(h.isHealthy == !fires)
        #expect(h.faults == (fires ? [.stale] : []))
    }

    @Test("the next reading clears stale at its own event time, with a readable detail")
    func staleClearsOnReading() throws {
        var h = health()
        _ = h.read(500, at: 0)
        let raised = try #require(h.tick(daemonTime: t(40_000), operating: true).first)
        #expect(raised.detail == "超过 30 s 无数据 (no reading for more than 30 s; last reading 2025-11-23T08:00:00.000Z)")
        #expect(h.deadline == nil)  // no stale check while stale, and frozen is suppressed while stale
        #expect(summary(h.read(501, at: 45_000)) == ["stale cleared @45000"])
        #expect(h.isHealthy)
        #expect(h.deadline == t(75_001))
    }

    @Test("stale is judged on the daemon clock: a gateway an hour behind still goes stale on time")
    func staleWithSkewedGateway() {
        var h = health()
        _ = h.reading(.number(500), quality: .good, at: t(-3_600_000), arrivedAt: t(0), operating: true)
        #expect(h.deadline == t(30_001))
        #expect(summary(h.tick(daemonTime: t(30_001), operating: true)) == ["stale raised @-3570000"])
    }

    @Test("a reading exactly staleAfter after the previous is in time; a later one records the gap")
    func staleByReadingGap() {
        var h = health()
        _ = h.read(500, at: 0)
        #expect(h.read(501, at: 30_000).isEmpty)
        #expect(summary(h.read(502, at: 60_001)) == ["stale raised @60000", "stale cleared @60001"])
        #expect(h.isHealthy)
    }

    @Test("a backfilled reading older than the raise clears at the raise time, never before it")
    func backfillClearsAtRaise() {
        var h = health()
        _ = h.read(500, at: 0)
        _ = h.tick(daemonTime: t(40_000), operating: true)
        let out = h.reading(.number(501), quality: .good, at: t(1000), arrivedAt: t(50_000), operating: true)
        #expect(summary(out) == ["stale cleared @30000"])
    }

    @Test("a required signal never seen goes stale staleAfter after the first tick; an optional one does not",
          arguments: [(true, ["stale raised @30000"]), (false, [])])
    func neverSeen(required: Bool, expected: [String]) {
        var h = health(required: required)
        #expect(h.deadline == nil)  // no time reference before the first tick
        #expect(h.tick(daemonTime: t(0), operating: true).isEmpty)
        #expect(h.deadline == (required ? t(30_001) : nil))
        #expect(h.tick(daemonTime: t(30_000), operating: true).isEmpty)
        let out = h.tick(daemonTime: t(30_001), operating: true)
        #expect(summary(out) == expected)
        if required { #expect(out.first?.detail == "启动后 30 s 内无数据 (no reading within 30 s of start)") }
        // The optional role is judged from its first reading on.
        _ = h.read(10, at: 100_000)
        #expect(h.isHealthy)
        #expect(h.deadline == t(130_001))
    }

    @Test("frozen: an unchanged value for frozenAfter raises only while operating",
          arguments: [(true, ["frozen raised @600000"]), (false, [])])
    func frozenOnlyWhileOperating(operating: Bool, expected: [String]) throws {
        var h = health()
        let out = h.hold(42, from: 0, through: 600_000, operating: operating)
        #expect(summary(out) == expected)
        if operating {
            #expect(out.first?.detail == "数值 42.0 持续 600 s 未变化 (value unchanged for 600 s while operating)")
            #expect(h.faults == [.frozen])
        }
    }

    @Test("frozen compares with the run's first value within epsilon",
          arguments: [(1e-10, true), (1e-3, false)])
    func frozenEpsilon(step: Double, frozen: Bool) {
        var h = health(frozen: 60_000)
        var out: [HealthTransition] = []
        for (i, ms) in stride(from: Int64(0), through: 60_000, by: 10_000).enumerated() {
            out += h.read(42 + Double(i % 2) * step, at: ms)
        }
        #expect(summary(out) == (frozen ? ["frozen raised @60000"] : []))
    }

    @Test("the frozen run starts when operating begins: an idle, constant furnace does not count")
    func frozenRunStartsWithOperation() {
        var h = health()
        #expect(h.hold(42, from: 0, through: 300_000, operating: false).isEmpty)
        let out = h.hold(42, from: 310_000, through: 910_000)
        #expect(summary(out) == ["frozen raised @910000"])
    }

    @Test("frozen clears only when the value changes; going idle is no evidence")
    func frozenClearsOnChange() throws {
        var h = health(frozen: 60_000)
        #expect(summary(h.hold(42, from: 0, through: 60_000)) == ["frozen raised @60000"])
        #expect(h.read(42, at: 70_000, operating: false).isEmpty)
        #expect(h.faults == [.frozen])
        let cleared = try #require(h.read(43, at: 80_000, operating: false).first)
        #expect(cleared == HealthTransition(condition: .frozen, raised: false, at: t(80_000), detail: "数值变化 (value changed to 43.0)"))
        #expect(h.isHealthy)
    }

    @Test("ticks alone never raise frozen (a silent gateway is stale); the next unchanged reading does, at run start + frozen_after")
    func frozenNeedsReadings() {
        var h = SignalHealth(staleAfterMilliseconds: 1_000_000, frozenAfterMilliseconds: 60_000, range: nil)
        // Gateway 5 s behind the daemon: event 0 arrives at daemon 5 000.
        _ = h.reading(.number(7), quality: .good, at: t(0), arrivedAt: t(5000), operating: true)
        #expect(h.deadline == t(1_005_001))  // stale only
        #expect(h.tick(daemonTime: t(65_000), operating: true).isEmpty)
        #expect(h.tick(daemonTime: t(900_000), operating: true).isEmpty)
        let out = h.reading(.number(7), quality: .good, at: t(70_000), arrivedAt: t(905_000), operating: true)
        #expect(summary(out) == ["frozen raised @60000"])
    }

    @Test("no frozen while stale; the run restarts at the reading that ends the gap")
    func frozenSuppressedWhileStale() {
        var h = health(frozen: 60_000)
        _ = h.read(42, at: 0)
        var out: [HealthTransition] = []
        for ms in stride(from: Int64(10_000), through: 100_000, by: 10_000) {
            out += h.tick(daemonTime: t(ms), operating: true)
        }
        #expect(summary(out) == ["stale raised @30000"])
        out = h.hold(42, from: 100_000, through: 160_000)
        #expect(summary(out) == ["stale cleared @100000", "frozen raised @160000"])
    }

    @Test("a tick that ends operation stops the run; booleans are never frozen")
    func frozenExemptions() {
        var h = health(frozen: 60_000, stale: 1_000_000)
        _ = h.read(42, at: 0)
        _ = h.tick(daemonTime: t(30_000), operating: false)
        #expect(h.deadline == t(1_000_001))  // stale only: no frozen run while idle
        #expect(h.tick(daemonTime: t(40_000), operating: true).isEmpty)
        #expect(h.deadline == t(1_000_001))
        // The new run starts at the first reading while operating again.
        #expect(summary(h.hold(42, from: 45_000, through: 105_000)) == ["frozen raised @105000"])

        var b = health(frozen: 60_000)
        let out = stride(from: Int64(0), through: 600_000, by: 10_000).flatMap {
            b.reading(.bool(true), quality: .good, at: t($0), arrivedAt: t($0), operating: true)
        }
        #expect(out.isEmpty)
        #expect(b.deadline == t(630_001))
    }

    @Test("bad quality: gateway flag, NaN, infinity, outside the inclusive range; uncertain is not bad",
          arguments: [
              (Value.number(50), Quality.bad, "网关质量标记 bad (gateway quality bad)"),
              (.number(.nan), .good, "数值非法 (value is NaN)"),
              (.number(.infinity), .good, "数值非法 (value is inf)"),
              (.number(-.infinity), .uncertain, "数值非法 (value is -inf)"),
              (.number(1000.5), .good, "超出量程 (value 1000.5 outside range [0.0, 1000.0])"),
              (.number(-0.1), .good, "超出量程 (value -0.1 outside range [0.0, 1000.0])"),
              (.number(1000), .good, nil),
              (.number(0), .uncertain, nil),
              (.bool(true), .good, nil),
          ] as [(Value, Quality, String?)])
    func badQuality(value: Value, quality: Quality, detail: String?) {
        var h = health()
        let out = h.reading(value, quality: quality, at: t(1000), arrivedAt: t(1000), operating: true)
        if let detail {
            #expect(out == [HealthTransition(condition: .badQuality, raised: true, at: t(1000), detail: detail)])
            #expect(h.faults == [.badQuality])
        } else {
            #expect(out.isEmpty)
            #expect(h.isHealthy)
        }
    }

    @Test("bad quality raises once, clears at the next good reading")
    func badQualityRaisesOnceAndClears() {
        var h = health()
        #expect(summary(h.read(50, at: 0, q: .bad)) == ["bad-quality raised @0"])
        #expect(h.read(2000, at: 1000).isEmpty)  // still bad, for another reason: no second raise
        #expect(summary(h.read(60, at: 2000)) == ["bad-quality cleared @2000"])
        #expect(h.isHealthy)
    }

    @Test("conditions are independent: a bad signal that then goes silent has two faults, both cleared by a good reading")
    func independentConditions() {
        var h = health()
        _ = h.read(.nan, at: 0)
        _ = h.tick(daemonTime: t(30_001), operating: true)
        #expect(h.faults == [.stale, .badQuality])
        #expect(summary(h.read(60, at: 40_000)) == ["stale cleared @40000", "bad-quality cleared @40000"])
        #expect(h.faults.isEmpty)
    }

    @Test("out-of-order readings and ticks from a clock that stepped back are ignored")
    func ignoredInputs() {
        var h = health()
        _ = h.read(50, at: 10_000)
        #expect(h.read(50, at: 5000, q: .bad).isEmpty)
        #expect(h.isHealthy)
        _ = h.tick(daemonTime: t(20_000), operating: true)
        #expect(h.tick(daemonTime: t(15_000), operating: true).isEmpty)
        #expect(summary(h.tick(daemonTime: t(40_001), operating: true)) == ["stale raised @40000"])
    }
}
