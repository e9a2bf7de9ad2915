import MeltWatchCore
import Testing

@testable import MeltWatchReport

@Suite("Alarm load: 10-minute windows, floods, chattering, top 10")
struct AlarmLoadTests {
    static let from = Fixture.at("16:00:00")

    /// A raise of `rule` on `equipment` `seconds` after 16:00:00.
    static func raise(_ seconds: Double, _ equipment: String = "e1", _ rule: String = "level-high") -> AlarmEvent {
        var e = Fixture.event(.raised, .activeUnacked, equipment, rule, .process, .high, k: 1, at: "16:00:00",
                              signals: ["level_junction"], basis: "令10 第五条(七)", message: "m")
        e.eventTime = from.adding(milliseconds: Int64(seconds * 1000))
        return e
    }

    static func load(_ events: [AlarmEvent], minutes: Int64 = 60) -> AlarmLoad {
        AlarmLoad.compute(events, from: from, to: from.adding(milliseconds: minutes * 60_000))
    }

    @Test("a window is a flood above 10 raises, not at 10", arguments: [(10, 0), (11, 1)])
    func floodThreshold(raises: Int, floods: Int) {
        // Spread over the second window, 50 s apart: no chattering to confuse matters.
        let load = Self.load((0..<raises).map { Self.raise(600 + Double($0) * 50, "e\($0 % 3)") })
        #expect(load.windows[1].raised == raises)
        #expect(load.floodWindows == floods)
        #expect(load.windows[1].isFlood == (floods == 1))
        #expect(load.peak?.start == Self.from.adding(milliseconds: 600_000))
    }

    @Test func windowsStartAtThePeriodAndTheLastMayBeShort() {
        let load = Self.load([Self.raise(0), Self.raise(599.999), Self.raise(600), Self.raise(1_499), Self.raise(1_500)], minutes: 25)
        #expect(load.windows.map(\.raised) == [2, 1, 1])
        #expect(load.windows.last?.end == Self.from.adding(milliseconds: 1_500_000))
        #expect(load.totalRaised == 4)   // 16:25:00 is the period's exclusive end
    }

    @Test func raisesOutsideThePeriodAndOtherEventsDoNotCount() {
        var cleared = Self.raise(60)
        cleared.kind = .cleared
        let load = Self.load([Self.raise(-1), cleared, Self.raise(3_600), Self.raise(120)])
        #expect(load.totalRaised == 1)
    }

    @Test("EEMUA 191: at most one alarm per 10 minutes on average", arguments: [(6, true), (7, false), (0, true)])
    func eemuaTarget(raises: Int, met: Bool) {
        let load = Self.load((0..<raises).map { Self.raise(Double($0) * 500 + 30, "e\($0)") })
        #expect(load.meetsEEMUATarget == met)
        #expect(load.averagePerWindow == Double(raises) / 6)
    }

    @Test func peakIsTheEarliestOfEqualWindows() {
        let load = Self.load([Self.raise(700), Self.raise(800), Self.raise(1_900), Self.raise(2_000)])
        #expect(load.peak?.start == Self.from.adding(milliseconds: 600_000))
        #expect(load.peak?.raised == 2)
        #expect(load.windowsAboveTarget == 2)
        #expect(Self.load([]).peak == nil)
    }

    @Test("chattering: 3 raises within 60 s, inclusive", arguments: [
        ([0.0, 30, 60], 1, 3),
        ([0.0, 30, 60.001], 0, 2),
        ([0.0, 10, 20, 30, 40], 1, 5),
        ([0.0, 10, 20, 200, 210, 220], 2, 3),   // a quiet minute ends the episode; a new one starts
        ([0.0, 25, 50, 75, 100, 125], 1, 3),  // steady chatter is one episode, not many
        ([0.0, 50, 100, 150], 0, 2),          // two a minute is not chattering
    ])
    func chattering(seconds: [Double], episodes: Int, maxPerMinute: Int) {
        let load = Self.load(seconds.map { Self.raise($0) })
        if episodes == 0 {
            #expect(load.chattering.isEmpty)
        } else {
            #expect(load.chattering.count == 1)
            #expect(load.chattering.first?.episodes == episodes)
            #expect(load.chattering.first?.maxRaisesPerMinute == maxPerMinute)
            #expect(load.chattering.first?.raises == seconds.count)
        }
    }

    @Test func engineChatteringAlarmIsMatchedToTheRuleThatChattered() throws {
        var chatter = Self.raise(60, "co1", "chattering")
        chatter.alarmClass = .device
        chatter.message = "报警 co-level-1 在 60 s 内动作 3 次，报警振荡，请检查仪表或报警设定 (chattering: co-level-1 raised 3 times within 60 s)"
        var orphan = Self.raise(900, "co2", "chattering")
        orphan.message = "报警 co-rate 在 60 s 内动作 3 次，报警振荡 (chattering: co-rate raised 3 times within 60 s)"
        let load = Self.load([Self.raise(0, "co1", "co-level-1"), Self.raise(30, "co1", "co-level-1"),
                              Self.raise(60, "co1", "co-level-1"), chatter, orphan])
        #expect(load.chattering.count == 2)
        let matched = try #require(load.chattering.first)
        #expect((matched.equipment, matched.rule, matched.reportedAlarms, matched.episodes) == ("co1", "co-level-1", 1, 1))
        #expect(matched.firstChatterAt == Self.from.adding(milliseconds: 60_000))
        // Its raises lie before the period: named from the engine's message, counted as reported.
        let named = load.chattering[1]
        #expect((named.equipment, named.rule, named.reportedAlarms, named.episodes, named.raises) == ("co2", "co-rate", 1, 0, 0))
    }

    @Test func topTenByCountThenEquipmentThenRule() {
        var events: [AlarmEvent] = []
        // 12 (equipment, rule) pairs; counts with ties; spaced 61 s so nothing chatters.
        let counts: [(String, String, Int)] = [
            ("b", "level-high", 3), ("a", "level-high", 3), ("a", "co-level-1", 3), ("c", "stale", 5),
            ("d", "stale", 1), ("e", "stale", 1), ("f", "stale", 1), ("g", "stale", 1), ("h", "stale", 1),
            ("i", "stale", 1), ("j", "stale", 1), ("a", "stale", 1),
        ]
        var second = 0.0
        for (equipment, rule, n) in counts {
            for _ in 0..<n { events.append(Self.raise(second, equipment, rule)); second += 61 }
        }
        let top = Self.load(events).topRules
        #expect(top.map { "\($0.rank) \($0.equipment)/\($0.rule) \($0.raises)" } == [
            "1 c/stale 5",
            "2 a/co-level-1 3", "3 a/level-high 3", "4 b/level-high 3",
            "5 a/stale 1", "6 d/stale 1", "7 e/stale 1", "8 f/stale 1", "9 g/stale 1", "10 h/stale 1",
        ])
    }

    @Test func fixtureLoad() {
        let load = Fixture.report.load
        #expect(load.windows.map(\.raised) == [2, 1, 1, 2, 1, 0])
        #expect(load.totalRaised == 7)
        #expect(load.floodWindows == 0)
        #expect(load.meetsEEMUATarget == false)   // 7 in an hour: 1.17 per 10 minutes
        #expect(load.topRules.first.map { "\($0.equipment)/\($0.rule) \($0.raises)" } == "bof1-lance/flow-difference 2")
    }
}
