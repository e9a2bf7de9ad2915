import MeltWatchCore
import Testing

@testable import MeltWatchRules

private let t0: Int64 = 1_763_884_800_000
private func t(_ s: Double) -> EventTime { EventTime(milliseconds: t0 + Int64((s * 1000).rounded())) }

/// One CO detector (levels 24 / 160 ppm, no deadband, no on-delay): each reading at or above 24 ppm
/// after one below raises co-level-1 again.
private func makeEngine() -> Engine {
    let co = TemplateCatalog.named("steel.co-detector")!
    var params = Dictionary(uniqueKeysWithValues: co.params.compactMap { p in p.defaultValue.map { (p.name, $0) } })
    params["deadband"] = .number(0)
    let model = EngineModel(
        equipment: [EngineEquipment(plant: "p", id: "co-1", template: co, params: params)],
        signals: [EngineSignal(equipment: 0, role: co.roleIndex("co")!)],
        configHash: "sha256:test"
    )
    return Engine(model: model)
}

/// Feeds CO values at the given seconds ("tick" entries as negative values tick at that second)
/// and returns the chattering events as "kind@seconds n".
private func chatter(_ steps: [(Double, Double?)]) -> (log: [String], events: [AlarmEvent]) {
    let e = makeEngine()
    var events: [AlarmEvent] = []
    for (s, v) in steps {
        let input: EngineInput = v.map { .reading(Reading(signal: SignalID(0), value: .number($0), time: t(s))) } ?? .tick(t(s))
        e.process(input) { if $0.rule == "chattering" { events.append($0) } }
    }
    let log = events.map { "\($0.kind.rawValue)@\(Double($0.eventTime.milliseconds - t0) / 1000) \($0.alarmID)" }
    return (log, events)
}

/// Readings raising co-level-1 at each of `raises` seconds (and clearing half a second later).
private func flapping(_ raises: [Double]) -> [(Double, Double?)] {
    raises.flatMap { [($0, 30.0), ($0 + 0.5, 5.0)] as [(Double, Double?)] }
}

@Suite("Engine: chattering alarms (three raises of one rule within a minute)")
struct EngineChatterTests {
    @Test("the third raise within 60 s (inclusive) reports chattering once; two, or a wider spread, do not", arguments: [
        ([0.0, 30, 60], ["raised@60.0 p:co-1:chattering:1"]),
        ([0.0, 30, 60.001], []),
        ([0.0, 30], []),
        ([0.0, 10, 20, 30, 40], ["raised@20.0 p:co-1:chattering:1"]),
    ])
    func threshold(raises: [Double], expected: [String]) {
        #expect(chatter(flapping(raises)).log == expected)
    }

    @Test("the episode ends a window after the last raise, by a tick when nothing arrives")
    func endsByTick() {
        // Last raise at 20 s; the window empties after 80 s; the tick must pass it by the allowed lateness (1 s).
        let steps = flapping([0, 10, 20]) + [(80.5, nil), (81.002, nil)]
        let (log, events) = chatter(steps)
        #expect(log == ["raised@20.0 p:co-1:chattering:1", "cleared@80.0 p:co-1:chattering:1"])
        #expect(events.first?.alarmClass == .device)
        #expect(events.first?.priority == .low)
        #expect(events.first?.basis == "令10 第十四条")
        #expect(events.first?.signals == ["co"])
        #expect(events.first?.message.contains("co-level-1") == true)
    }

    @Test("a raise after the window emptied first ends the old episode; a new burst is a new alarm")
    func newEpisode() {
        let (log, _) = chatter(flapping([0, 10, 20, 100, 110, 120]))
        #expect(log == ["raised@20.0 p:co-1:chattering:1", "cleared@80.0 p:co-1:chattering:1",
                        "raised@120.0 p:co-1:chattering:2"])
    }
}
