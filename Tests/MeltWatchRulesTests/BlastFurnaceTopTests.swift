import MeltWatchCore
import Testing

@testable import MeltWatchRules

/// Design maximum 250 kPa, warn 2 s, deadline 5 s, on-delay 0 (the default).
private func furnace(onDelay: Double = 0, health: Bool = false) -> Harness {
    Harness(BlastFurnaceTop.spec, params: [
        "top_pressure_max": 250, "interlock_warn_s": 2, "interlock_deadline_s": 5, "on_delay_s": onDelay,
    ], health: health)
}

/// Bleeder closed, pressure normal, then a surge to 262 kPa at t = 10: the trip.
private let surge: [Step] = [.b(0, "bleeder_open", false), .n(0, "top_pressure", 220), .n(10, "top_pressure", 262)]

/// Alarm events as "rule kind@s", interlock outcomes as "interlock kind latency-or-cause".
private func story(_ h: Harness) -> [String] {
    var out = h.summary
    out += h.outcomes.map { "interlock \($0.kind.rawValue) \($0.latencyMilliseconds.map(String.init) ?? $0.cause ?? "")" }
    return out
}

@Suite("steel.blast-furnace-top rules")
struct BlastFurnaceTopTests {
    @Test("top-pressure-high: strictly above the design maximum, at once by default, cleared at or below it", arguments: [
        ([Step.n(0, "top_pressure", 250), .tick(10)], [String]()),
        ([Step.n(0, "top_pressure", 250.1)], ["top-pressure-high raised@0.0"]),
        ([Step.n(0, "top_pressure", 262), .n(1, "top_pressure", 255), .n(2, "top_pressure", 250)],
         ["top-pressure-high raised@0.0", "top-pressure-high cleared@2.0"]),
    ] as [([Step], [String])])
    func limit(steps: [Step], expected: [String]) {
        #expect(furnace().run([.b(0, "bleeder_open", true)] + steps).summary == expected)
    }

    @Test("with an on-delay: raise exactly at since + on_delay_s; an excursion shorter than it never trips", arguments: [
        ([Step.n(0, "top_pressure", 262), .tick(0.999)], [String]()),
        ([Step.n(0, "top_pressure", 262), .tick(1)], ["top-pressure-high raised@1.0"]),
        ([Step.n(0, "top_pressure", 262), .n(0.5, "top_pressure", 240), .tick(10)], []),
        ([Step.n(0, "top_pressure", 262), .n(0.5, "top_pressure", 262, .bad), .tick(10)], []),          // bad: no evidence
        ([Step.n(0, "top_pressure", 262), .n(0.5, "top_pressure", .nan), .n(0.6, "top_pressure", 262), .tick(1.6)],
         ["top-pressure-high raised@1.6"]),                                                                // restarts at 0.6
    ] as [([Step], [String])])
    func onDelay(steps: [Step], expected: [String]) {
        let got = furnace(onDelay: 1).run(steps).summary.filter { $0.hasPrefix("top-pressure-high") }
        #expect(got == expected)
    }

    @Test("the trip's fields: emergency, basis 第四条(五), the pressure and the maximum in the message")
    func tripFields() throws {
        let h = furnace().run(surge + [.b(11, "bleeder_open", true)])
        let raised = try #require(h.events.first)
        #expect(raised.rule == "top-pressure-high")
        #expect(raised.kind == .raised)
        #expect(raised.eventTime == Harness.time(10))
        #expect(raised.value == 262)
        #expect(raised.limit == 250)
        #expect(raised.unit == "kPa")
        #expect(raised.priority == .emergency)
        #expect(raised.alarmClass == .process)
        #expect(raised.basis == "令10 第四条(五)")
        #expect(raised.message.contains("262.0 kPa > 设计最高值 250.0 kPa"))
    }

    @Test("interlock: every trip's outcome is recorded; a bleeder later than warn is interlock-late; exactly at the deadline is in time",
          arguments: [
              (11.5, ["top-pressure-high raised@10.0", "interlock ok 1500"]),
              (12.0, ["top-pressure-high raised@10.0", "interlock ok 2000"]),                 // exactly warn: ok
              (12.001, ["top-pressure-high raised@10.0", "interlock-late raised@12.001", "interlock-late cleared@12.001",
                        "interlock late 2001"]),
              (15.0, ["top-pressure-high raised@10.0", "interlock-late raised@15.0", "interlock-late cleared@15.0",
                      "interlock late 5000"]),                                                  // exactly the deadline: late, not failed
              (15.001, ["top-pressure-high raised@10.0", "interlock-failed raised@15.0",
                        "interlock failed bleeder_open 未动作 (no feedback by deadline 5 s)"]),
          ])
    func interlockTiming(openedAt: Double, expected: [String]) {
        #expect(story(furnace().run(surge + [.b(openedAt, "bleeder_open", true)])) == expected)
    }

    @Test("interlock-late carries the measured latency; interlock-failed the deadline and the cause, and stays latched")
    func interlockFields() throws {
        let late = try #require(furnace().run(surge + [.b(13.25, "bleeder_open", true)]).events("interlock-late").first)
        #expect(late.kind == .raised)
        #expect(late.eventTime == Harness.time(13.25))
        #expect(late.latencyMilliseconds == 3250)
        #expect(late.value == 3.25)
        #expect(late.limit == 2)
        #expect(late.unit == "s")
        #expect(late.alarmClass == .interlock)
        #expect(late.priority == .high)
        #expect(late.basis == "令10 第四条(五)")
        #expect(late.message.contains("3.25 s > 2.0 s"))

        // No feedback at all: the deadline fails the check on a clock tick, one millisecond past it.
        let h = furnace().run(surge + [.tick(15), .tick(15.001), .b(20, "bleeder_open", true), .n(21, "top_pressure", 200), .tick(60)])
        let failed = h.events("interlock-failed")
        #expect(failed.map(\.kind) == [.raised])                      // latched: no clear, even once the bleeder opens
        let f = try #require(failed.first)
        #expect(f.eventTime == Harness.time(15))
        #expect(f.limit == 5)
        #expect(f.value == nil)
        #expect(f.alarmClass == .interlock)
        #expect(f.priority == .emergency)
        #expect(f.cause == "bleeder_open 未动作 (no feedback by deadline 5 s)")
        #expect(f.message.contains("5.0 s"))
        #expect(h.outcomes.map(\.kind) == [.failed])
        #expect(h.outcomes.first?.trigger == "top-pressure-high")
        #expect(h.outcomes.first?.trippedAt == Harness.time(10))
    }

    @Test("a bleeder already open at the trip counts as done at once, latency 0")
    func alreadyOpen() {
        let h = furnace().run([.b(0, "bleeder_open", true), .n(10, "top_pressure", 262)])
        #expect(story(h) == ["top-pressure-high raised@10.0", "interlock ok 0"])
    }

    @Test("an unhealthy bleeder feedback fails the check with that cause", arguments: [
        (Step.b(12, "bleeder_open", true, .bad), "bleeder_open 信号失效 (bad-quality)", 12.0),
        (Step.n(12, "bleeder_open", .nan), "bleeder_open 信号失效 (bad-quality)", 12.0),
    ])
    func unhealthyFeedback(step: Step, cause: String, at: Double) throws {
        let h = furnace().run(surge + [step])
        let failed = try #require(h.events("interlock-failed").first)
        #expect(failed.cause == cause)
        #expect(failed.eventTime == Harness.time(at))
        #expect(h.outcomes.map(\.kind) == [.failed])
    }

    @Test("with sensor health on: a bleeder feedback gone stale fails the check at the trip with cause stale")
    func staleFeedback() throws {
        // The bleeder reports once at t = 0 and goes stale at t = 30; the pressure keeps reporting and surges at t = 40.
        var steps: [Step] = [.b(0, "bleeder_open", false)]
        for s in stride(from: 0.0, through: 40, by: 5) { steps.append(.n(s, "top_pressure", s < 40 ? 220 : 262)) }
        let h = furnace(health: true).run(steps)
        #expect(h.summary.contains("stale raised bleeder_open@30.0"))
        let failed = try #require(h.events("interlock-failed").first, "\(h.summary)")
        #expect(failed.eventTime == Harness.time(40))
        #expect(failed.cause == "bleeder_open 信号失效 (stale)")
    }

    @Test("with sensor health on: the feedback going stale during a running check fails it then, before the deadline")
    func staleDuringCheck() throws {
        // The bleeder last reported at t = 0, so it is stale from t = 30; the trip at t = 28 has its deadline at 33.
        let h = furnace(health: true).run([.b(0, "bleeder_open", false), .n(0, "top_pressure", 220),
                                           .n(28, "top_pressure", 262), .tick(30), .tick(30.001)])
        #expect(h.summary == ["top-pressure-high raised@28.0", "stale raised bleeder_open@30.0", "interlock-failed raised@30.0"])
        let failed = try #require(h.events("interlock-failed").first)
        #expect(failed.cause == "bleeder_open 信号失效 (stale)")
        #expect(h.outcomes.map(\.kind) == [.failed])
    }

    @Test("a second surge while a check runs does not restart it; a new excursion after recovery is a new trip")
    func secondTrip() {
        let h = furnace().run(surge + [.n(11, "top_pressure", 240), .n(11.5, "top_pressure", 270), .b(12.5, "bleeder_open", true),
                                       .b(20, "bleeder_open", false), .n(20, "top_pressure", 230), .n(30, "top_pressure", 255),
                                       .b(30.5, "bleeder_open", true)])
        #expect(h.outcomes.map(\.kind) == [.late, .ok])
        #expect(h.outcomes.map(\.latencyMilliseconds) == [2500, 500])   // from the first trip at 10, not 11.5
        #expect(h.events("top-pressure-high").map(\.alarmID) == [
            "p:e1:top-pressure-high:1", "p:e1:top-pressure-high:1", "p:e1:top-pressure-high:2",
            "p:e1:top-pressure-high:2", "p:e1:top-pressure-high:3",
        ])
    }

    @Test("an out-of-order feedback is ignored by the engine")
    func outOfOrder() {
        let h = furnace().run([.n(10, "top_pressure", 262), .b(12, "bleeder_open", false), .b(11, "bleeder_open", true), .tick(15.001)])
        #expect(h.engine.counters.outOfOrder == 1)
        #expect(h.outcomes.map(\.kind) == [.failed])
    }

    @Test("the template: params with defaults and units (on_delay_s 0 is a documented choice), registered")
    func spec() {
        let spec = BlastFurnaceTop.spec
        #expect(spec.gateRole == nil)
        #expect(spec.rules.map(\.id) == ["top-pressure-high", "interlock-late", "interlock-failed"])
        #expect(spec.rules.allSatisfy { $0.basis == "令10 第四条(五)" })
        for p in spec.params {
            #expect(p.defaultValue != nil, "\(p.name)")
            guard case .number(let unit, _) = p.kind else { Issue.record("\(p.name) is not a number"); continue }
            #expect(!unit.isEmpty)
        }
        #expect(spec.param("on_delay_s")?.defaultValue == .number(0))
        #expect(spec.params.filter(\.isSitePlaceholder).map(\.name) == ["top_pressure_max", "interlock_warn_s", "interlock_deadline_s"])
        #expect(TemplateCatalog.named("steel.blast-furnace-top") != nil)
    }
}
