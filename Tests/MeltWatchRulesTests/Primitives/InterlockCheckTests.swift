import MeltWatchCore
import Testing

@testable import MeltWatchRules

/// Event time `ms` milliseconds after a fixed trip-day origin: the manual clock.
private func t(_ ms: Int64) -> EventTime { EventTime(milliseconds: 1_763_884_800_000 + ms) }

private typealias Feedback = InterlockCheck.FeedbackState

/// A BOF element's check: tilt locked and lance raised, warn 2 s, deadline 5 s.
private func bof() -> InterlockCheck {
    InterlockCheck(expected: ["tilt_locked", "lance_raised"], warnMilliseconds: 2000, deadlineMilliseconds: 5000)
}

private let bothFalse: [String: Feedback] = ["tilt_locked": Feedback(value: false), "lance_raised": Feedback(value: false)]

@Suite("InterlockCheck: every trip gets one outcome, with latency, on event time")
struct InterlockCheckTests {
    @Test("latency is the last feedback's event time minus the trip; warn and deadline are inclusive",
          arguments: [
              (Int64(300), Int64(1200), InterlockCheck.Outcome.ok(latencyMilliseconds: 1200)),
              (300, 2000, .ok(latencyMilliseconds: 2000)),                 // exactly warn: still ok
              (300, 2001, .late(latencyMilliseconds: 2001)),               // warn + 1 ms: late
              (4000, 300, .late(latencyMilliseconds: 4000)),               // the last one counts, in any order
              (300, 5000, .late(latencyMilliseconds: 5000)),               // exactly the deadline: in time
              (300, 5001, .failed(cause: "lance_raised 未动作 (no feedback by deadline 5 s)", at: t(5000))),
              (5001, 5002, .failed(cause: "tilt_locked, lance_raised 未动作 (no feedback by deadline 5 s)", at: t(5000))),
          ])
    func latencyTable(tiltAt: Int64, lanceAt: Int64, expected: InterlockCheck.Outcome) {
        var check = bof()
        var outcomes: [InterlockCheck.Outcome] = []
        if let o = check.trip(at: t(0), feedbacks: bothFalse) { outcomes.append(o) }
        for (role, at) in [("tilt_locked", tiltAt), ("lance_raised", lanceAt)].sorted(by: { $0.1 < $1.1 }) {
            if let o = check.feedback(role, value: true, healthy: true, at: t(at)) { outcomes.append(o) }
        }
        if let o = check.advance(to: t(60_000)) { outcomes.append(o) }
        #expect(outcomes == [expected])  // exactly one outcome per trip
        #expect(!check.isRunning)
    }

    @Test("the deadline passing with no input fails the check at the deadline, not a millisecond before")
    func deadlineWithoutInput() {
        var check = bof()
        #expect(check.deadline == nil)
        #expect(check.trip(at: t(0), feedbacks: bothFalse) == nil)
        #expect(check.trippedAt == t(0))
        #expect(check.deadline == t(5001))  // a feedback at exactly 5000 ms must still count
        #expect(check.advance(to: t(4999)) == nil)
        #expect(check.advance(to: t(5000)) == nil)
        #expect(check.advance(to: t(5001)) == .failed(
            cause: "tilt_locked, lance_raised 未动作 (no feedback by deadline 5 s)", at: t(5000)))
        #expect(check.deadline == nil)
        #expect(check.advance(to: t(9000)) == nil)
    }

    @Test("a feedback already true at the trip counts as done at the trip (latency 0 for it)")
    func alreadyTrueAtTrip() {
        var check = bof()
        let partly: [String: Feedback] = ["tilt_locked": Feedback(value: true), "lance_raised": Feedback(value: false)]
        #expect(check.trip(at: t(0), feedbacks: partly) == nil)
        #expect(check.feedback("lance_raised", value: true, healthy: true, at: t(1500)) == .ok(latencyMilliseconds: 1500))

        let all: [String: Feedback] = ["tilt_locked": Feedback(value: true), "lance_raised": Feedback(value: true)]
        #expect(check.trip(at: t(10_000), feedbacks: all) == .ok(latencyMilliseconds: 0))
        #expect(check.deadline == nil)
    }

    @Test("a feedback stamped before the trip (arriving after it) describes the state at the trip")
    func feedbackStampedBeforeTrip() {
        var check = bof()
        _ = check.trip(at: t(1000), feedbacks: bothFalse)
        #expect(check.feedback("tilt_locked", value: true, healthy: true, at: t(900)) == nil)
        #expect(check.feedback("lance_raised", value: true, healthy: true, at: t(3500)) == .late(latencyMilliseconds: 2500))
    }

    @Test("a feedback missing from the trip snapshot is waited for")
    func missingFromSnapshot() {
        var check = bof()
        #expect(check.trip(at: t(0), feedbacks: [:]) == nil)
        #expect(check.feedback("tilt_locked", value: true, healthy: true, at: t(100)) == nil)
        #expect(check.feedback("lance_raised", value: true, healthy: true, at: t(200)) == .ok(latencyMilliseconds: 200))
    }

    @Test("an unhealthy expected feedback fails the check at once, naming the fault")
    func unhealthyDuringCheck() {
        var check = bof()
        _ = check.trip(at: t(0), feedbacks: bothFalse)
        #expect(check.feedback("lance_raised", value: false, healthy: false, fault: "stale", at: t(1200))
            == .failed(cause: "lance_raised 信号失效 (stale)", at: t(1200)))
        #expect(check.deadline == nil)
        #expect(check.advance(to: t(10_000)) == nil)  // no second outcome at the deadline
    }

    @Test("unhealthy feedbacks at the trip fail it at the trip time, even when they read true",
          arguments: [
              (Feedback(value: false, healthy: false, fault: "bad-quality"), "lance_raised 信号失效 (bad-quality)"),
              (Feedback(value: true, healthy: false, fault: "frozen"), "lance_raised 信号失效 (frozen)"),
              (Feedback(value: true, healthy: false), "lance_raised 信号失效 (unhealthy)"),
          ])
    func unhealthyAtTrip(lance: InterlockCheck.FeedbackState, cause: String) {
        var check = bof()
        let o = check.trip(at: t(0), feedbacks: ["tilt_locked": Feedback(value: true), "lance_raised": lance])
        #expect(o == .failed(cause: cause, at: t(0)))
        #expect(!check.isRunning)
    }

    @Test("two unhealthy feedbacks at the trip are both named")
    func twoUnhealthyAtTrip() {
        var check = bof()
        let o = check.trip(at: t(0), feedbacks: [
            "tilt_locked": Feedback(value: false, healthy: false, fault: "stale"),
            "lance_raised": Feedback(value: false, healthy: false, fault: "bad-quality"),
        ])
        #expect(o == .failed(cause: "tilt_locked 信号失效 (stale); lance_raised 信号失效 (bad-quality)", at: t(0)))
    }

    @Test("a feedback confirmed true is done: its later ill health or return to false does not undo it")
    func confirmedFeedbackStays() {
        var check = bof()
        _ = check.trip(at: t(0), feedbacks: bothFalse)
        #expect(check.feedback("tilt_locked", value: true, healthy: true, at: t(100)) == nil)
        #expect(check.feedback("tilt_locked", value: false, healthy: true, at: t(150)) == nil)
        #expect(check.feedback("tilt_locked", value: false, healthy: false, fault: "stale", at: t(200)) == nil)
        #expect(check.feedback("lance_raised", value: true, healthy: true, at: t(300)) == .ok(latencyMilliseconds: 300))
    }

    @Test("feedbacks of roles not expected, or with no check running, are ignored")
    func ignoredFeedbacks() {
        var check = bof()
        #expect(check.feedback("lance_raised", value: false, healthy: false, fault: "stale", at: t(0)) == nil)
        _ = check.trip(at: t(1000), feedbacks: bothFalse)
        #expect(check.feedback("power_off", value: false, healthy: false, at: t(1100)) == nil)
        #expect(check.isRunning)
    }

    @Test("a second trip while a check runs does not restart it")
    func secondTripDoesNotRestart() {
        var check = bof()
        _ = check.trip(at: t(0), feedbacks: bothFalse)
        #expect(check.trip(at: t(3000), feedbacks: bothFalse) == nil)
        #expect(check.trippedAt == t(0))
        #expect(check.feedback("tilt_locked", value: true, healthy: true, at: t(3500)) == nil)
        #expect(check.feedback("lance_raised", value: true, healthy: true, at: t(4000)) == .late(latencyMilliseconds: 4000))
    }

    @Test("a trip after an overdue check returns the old failure and still checks the new trip")
    func tripAfterOverdueCheck() {
        var check = bof()
        _ = check.trip(at: t(0), feedbacks: bothFalse)
        let all: [String: Feedback] = ["tilt_locked": Feedback(value: true), "lance_raised": Feedback(value: true)]
        let failed = InterlockCheck.Outcome.failed(
            cause: "tilt_locked, lance_raised 未动作 (no feedback by deadline 5 s)", at: t(5000))
        #expect(check.trip(at: t(9000), feedbacks: all) == failed)
        // The new trip's outcome was decided too; it is due now and returned by the next call.
        #expect(check.deadline == t(9000))
        #expect(check.advance(to: t(9000)) == .ok(latencyMilliseconds: 0))
        #expect(check.deadline == nil)

        _ = check.trip(at: t(20_000), feedbacks: bothFalse)
        #expect(check.trip(at: t(30_000), feedbacks: bothFalse) == .failed(
            cause: "tilt_locked, lance_raised 未动作 (no feedback by deadline 5 s)", at: t(25_000)))
        #expect(check.trippedAt == t(30_000))
    }

    @Test("consecutive trips each yield exactly one outcome, in order")
    func oneOutcomePerTrip() {
        var check = InterlockCheck(expected: ["platform_stopped"], warnMilliseconds: 1000, deadlineMilliseconds: 3000)
        let off: [String: Feedback] = ["platform_stopped": Feedback(value: false)]
        var outcomes: [InterlockCheck.Outcome] = []
        for (i, latency) in [Int64(400), 1800, -1].enumerated() {
            let trip = Int64(i) * 10_000
            if let o = check.trip(at: t(trip), feedbacks: off) { outcomes.append(o) }
            if latency >= 0, let o = check.feedback("platform_stopped", value: true, healthy: true, at: t(trip + latency)) {
                outcomes.append(o)
            }
            if let o = check.advance(to: t(trip + 9000)) { outcomes.append(o) }
        }
        #expect(outcomes == [
            .ok(latencyMilliseconds: 400),
            .late(latencyMilliseconds: 1800),
            .failed(cause: "platform_stopped 未动作 (no feedback by deadline 3 s)", at: t(23_000)),
        ])
    }

    @Test("init drops duplicate roles and caps warn at the deadline; no expected feedback is ok at once")
    func initialisation() {
        let c = InterlockCheck(expected: ["a", "b", "a"], warnMilliseconds: 9000, deadlineMilliseconds: 5000)
        #expect(c.expected == ["a", "b"])
        #expect(c.warnMilliseconds == 5000)
        var none = InterlockCheck(expected: [], warnMilliseconds: 1000, deadlineMilliseconds: 2000)
        #expect(none.trip(at: t(0), feedbacks: [:]) == .ok(latencyMilliseconds: 0))
    }

    @Test("deadlines in failure causes read as seconds",
          arguments: [(Int64(5000), "5 s"), (2500, "2.5 s"), (30_000, "30 s"), (1, "0.001 s"), (1050, "1.05 s"), (0, "0 s")])
    func durationWording(milliseconds: Int64, text: String) {
        #expect(durationText(milliseconds) == text)
        var check = InterlockCheck(expected: ["drain_open"], warnMilliseconds: 0, deadlineMilliseconds: milliseconds)
        _ = check.trip(at: t(0), feedbacks: [:])
        #expect(check.advance(to: t(milliseconds + 1)) == .failed(
            cause: "drain_open 未动作 (no feedback by deadline \(text))", at: t(milliseconds)))
    }
}
