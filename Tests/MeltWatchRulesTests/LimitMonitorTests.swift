import MeltWatchCore
import Testing

@testable import MeltWatchRules

private func t(_ s: Double) -> EventTime { EventTime(milliseconds: 1_763_884_800_000 + Int64(s * 1000)) }

@Suite("LimitMonitor: threshold with deadband and delays, on event time")
struct LimitMonitorTests {
    @Test("a high limit without delay raises on the violating reading and clears on the recovering one",
          arguments: [(false, 3.0, false), (false, 3.0001, true), (true, 3.0, true), (true, 2.9999, false)])
    func inclusiveness(inclusive: Bool, value: Double, raises: Bool) {
        var m = LimitMonitor(direction: .high, limit: 3.0, inclusive: inclusive)
        let r = m.update(value, at: t(0))
        #expect(r == (raises ? .raised(at: t(0), value: value) : nil))
    }

    @Test("on-delay: the condition must hold for the whole delay; the raise carries the deadline's event time")
    func onDelay() {
        var m = LimitMonitor(direction: .high, limit: 3, onDelayMilliseconds: 2000)
        #expect(m.update(4, at: t(0)) == nil)
        #expect(m.deadline == t(2))
        #expect(m.advance(to: t(1.999)) == nil)
        #expect(m.update(4.5, at: t(1)) == nil)
        #expect(m.advance(to: t(2)) == .raised(at: t(2), value: 4.5))
        #expect(m.isActive)
        #expect(m.deadline == nil)
    }

    @Test("on-delay restarts when the condition drops out before the deadline")
    func onDelayInterrupted() {
        var m = LimitMonitor(direction: .high, limit: 3, onDelayMilliseconds: 2000)
        _ = m.update(4, at: t(0))
        #expect(m.update(2, at: t(1.5)) == nil)
        #expect(m.deadline == nil)
        #expect(m.advance(to: t(10)) == nil)
        _ = m.update(4, at: t(3))
        #expect(m.advance(to: t(4.9)) == nil)
        #expect(m.advance(to: t(5)) == .raised(at: t(5), value: 4))
    }

    @Test("a reading after the deadline completes the raise at the deadline, before the reading applies")
    func readingAfterDeadline() {
        var m = LimitMonitor(direction: .high, limit: 3, onDelayMilliseconds: 2000)
        _ = m.update(4, at: t(0))
        // The engine calls advance(to:) with the reading's time first.
        #expect(m.advance(to: t(7)) == .raised(at: t(2), value: 4))
        #expect(m.update(1, at: t(7)) == .cleared(at: t(7), value: 1))
    }

    @Test("deadband: a high alarm clears only below limit − deadband",
          arguments: [(23.0, false), (22.0, false), (21.9, true)])
    func deadband(value: Double, clears: Bool) {
        var m = LimitMonitor(direction: .high, limit: 24, deadband: 2, inclusive: true)
        #expect(m.update(24, at: t(0)) == .raised(at: t(0), value: 24))
        let r = m.update(value, at: t(1))
        #expect(r == (clears ? .cleared(at: t(1), value: value) : nil))
        #expect(m.isActive == !clears)
    }

    @Test("low limit with deadband raises below and clears above limit + deadband")
    func lowLimit() {
        var m = LimitMonitor(direction: .low, limit: 100, deadband: 5)
        #expect(m.update(100, at: t(0)) == nil)
        #expect(m.update(99, at: t(1)) == .raised(at: t(1), value: 99))
        #expect(m.update(104, at: t(2)) == nil)
        #expect(m.update(105.5, at: t(3)) == .cleared(at: t(3), value: 105.5))
    }

    @Test("off-delay holds the alarm until recovery lasted the delay")
    func offDelay() {
        var m = LimitMonitor(direction: .high, limit: 3, offDelayMilliseconds: 1000)
        _ = m.update(5, at: t(0))
        #expect(m.update(1, at: t(1)) == nil)
        #expect(m.update(5, at: t(1.5)) == nil)  // relapsed: clearing restarts
        #expect(m.update(1, at: t(2)) == nil)
        #expect(m.advance(to: t(2.999)) == nil)
        #expect(m.advance(to: t(3)) == .cleared(at: t(3), value: 1))
    }

    @Test("cancelPending forgets a pending raise but never an active alarm")
    func cancelPending() {
        var m = LimitMonitor(direction: .high, limit: 3, onDelayMilliseconds: 1000)
        _ = m.update(4, at: t(0))
        m.cancelPending()
        #expect(m.advance(to: t(5)) == nil)
        _ = m.update(4, at: t(5))
        _ = m.advance(to: t(6))
        m.cancelPending()
        #expect(m.isActive)
    }
}
