import MeltWatchCore
import Testing

@testable import MeltWatchRules

private let t0: Int64 = 1_763_884_800_000
private func t(_ s: Double) -> EventTime { EventTime(milliseconds: t0 + Int64(s * 1000)) }

/// A plant with one BOF lance element (flow_difference_max 3, on_delay 2 s) and one CO detector (gb6222).
private func makeEngine(lateness: Int64 = 1000, coRateMax: Double = 0) -> Engine {
    let wce = TemplateCatalog.named("steel.water-cooled-element")!
    let co = TemplateCatalog.named("steel.co-detector")!
    var wceParams = Dictionary(uniqueKeysWithValues: wce.params.compactMap { p in p.defaultValue.map { (p.name, $0) } })
    wceParams["flow_difference_max"] = .number(3)
    wceParams["on_delay_s"] = .number(2)
    var coParams = Dictionary(uniqueKeysWithValues: co.params.compactMap { p in p.defaultValue.map { (p.name, $0) } })
    coParams["rate_max"] = .number(coRateMax)
    let model = EngineModel(
        equipment: [
            EngineEquipment(plant: "baotou-steel", id: "bof1-lance", template: wce, params: wceParams),
            EngineEquipment(plant: "baotou-steel", id: "co-1", template: co, params: coParams),
        ],
        signals: [
            EngineSignal(equipment: 0, role: wce.roleIndex("inlet_flow")!),   // 0
            EngineSignal(equipment: 0, role: wce.roleIndex("outlet_flow")!),  // 1
            EngineSignal(equipment: 1, role: co.roleIndex("co")!),            // 2
        ],
        configHash: "sha256:test"
    )
    return Engine(model: model, allowedLatenessMilliseconds: lateness)
}

private extension Engine {
    func feed(_ signal: Int32, _ v: Double, at time: EventTime, quality: Quality = .good, seq: Int64? = nil) -> [AlarmEvent] {
        var out: [AlarmEvent] = []
        process(.reading(Reading(signal: SignalID(signal), value: .number(v), quality: quality, time: time, sequence: seq))) { out.append($0) }
        return out
    }

    func tick(_ time: EventTime) -> [AlarmEvent] {
        var out: [AlarmEvent] = []
        process(.tick(time)) { out.append($0) }
        return out
    }
}

@Suite("Engine: event time, timers without input, alarm identities")
struct EngineTests {
    @Test("a leak raises flow-difference after the on-delay with the contract's fields, and recovery clears it")
    func leakRaisesAndClears() throws {
        let e = makeEngine()
        #expect(e.feed(0, 120, at: t(0)).isEmpty)
        #expect(e.feed(1, 119.6, at: t(0)).isEmpty)
        #expect(e.feed(1, 115.9, at: t(1)).isEmpty)   // diff 4.1 starts the on-delay at t=1
        #expect(e.feed(0, 120, at: t(2)).isEmpty)
        let raised = e.feed(0, 120, at: t(3))
        try #require(raised.count == 1)
        let r = raised[0]
        #expect(r.kind == .raised)
        #expect(r.state == .activeUnacked)
        #expect(r.alarmClass == .process)
        #expect(r.rule == "flow-difference")
        #expect(r.priority == .emergency)
        #expect(r.alarmID == "baotou-steel:bof1-lance:flow-difference:1")
        #expect(r.eventID == "baotou-steel:bof1-lance:flow-difference:1:1")
        #expect(r.eventTime == t(3))   // on-delay from t=1 ends at t=3
        #expect(r.value == 4.1)
        #expect(r.limit == 3)
        #expect(r.unit == "m3/h")
        #expect(r.basis == "令10 第四条(四)")
        #expect(r.signals == ["inlet_flow", "outlet_flow"])
        #expect(r.configHash == "sha256:test")
        #expect(r.message.contains("进出水流量差 4.1 m3/h > 3.0 m3/h"))

        let cleared = e.feed(1, 119.7, at: t(5))
        try #require(cleared.count == 1)
        #expect(cleared[0].kind == .cleared)
        #expect(cleared[0].state == .rtnUnacked)
        #expect(cleared[0].eventID == "baotou-steel:bof1-lance:flow-difference:1:2")
        #expect(cleared[0].eventTime == t(5))

        // A second leak is a new activation: n = 2.
        _ = e.feed(1, 110, at: t(10))
        let again = e.feed(1, 110, at: t(12))
        #expect(again.map(\.alarmID) == ["baotou-steel:bof1-lance:flow-difference:2"])
    }

    @Test("the on-delay completes on a clock tick when no reading arrives (a silent leak still alarms)")
    func timerFiresWithoutInput() {
        let e = makeEngine(lateness: 1000)
        _ = e.tick(t(0))
        _ = e.feed(0, 120, at: t(0))
        _ = e.feed(1, 110, at: t(0))
        #expect(e.tick(t(2.9)).isEmpty)      // deadline t=2 plus 1 s lateness not reached
        let fired = e.tick(t(3))
        #expect(fired.map(\.kind) == [.raised])
        #expect(fired.first?.eventTime == t(2))  // event time is the deadline, not the tick
    }

    @Test("a gateway whose clock lags by an hour is judged on its own time line")
    func skewedGateway() {
        let e = makeEngine(lateness: 1000)
        let lag = -3600.0
        _ = e.tick(t(0))
        _ = e.feed(0, 120, at: t(lag))
        _ = e.feed(1, 110, at: t(lag))
        // Daemon time t=0.5 is gateway time lag+0.5: the 2 s on-delay has not elapsed there.
        #expect(e.tick(t(0.5)).isEmpty)
        #expect(e.tick(t(2.9)).isEmpty)
        #expect(e.tick(t(3.0)).first?.eventTime == t(lag + 2))
    }

    @Test("out-of-order and duplicate readings are counted and not evaluated")
    func outOfOrderAndDuplicates() {
        let e = makeEngine()
        _ = e.feed(0, 120, at: t(5), seq: 7)
        _ = e.feed(0, 120, at: t(5), seq: 7)
        _ = e.feed(0, 100, at: t(4), seq: 6)
        #expect(e.counters.duplicates == 1)
        #expect(e.counters.outOfOrder == 1)
        #expect(e.counters.readings == 1)
        #expect(e.signals[0].value == .number(120))
    }

    @Test("a bad-quality flow reading cancels a pending raise instead of completing it on stale numbers")
    func badQualityCancelsPending() {
        let e = makeEngine()
        _ = e.feed(0, 120, at: t(0))
        _ = e.feed(1, 110, at: t(0))
        _ = e.feed(1, 110, at: t(1), quality: .bad)
        #expect(e.feed(0, 120, at: t(5)).isEmpty)
        #expect(e.counters.events == 0)
    }

    @Test("CO levels: level 1 and level 2 raise and clear with deadband (gb6222: 24 / 160 ppm)",
          arguments: [
              ([3.0, 24, 23, 21.9], ["co-level-1 raised", "co-level-1 cleared"]),
              ([3.0, 200, 150, 10], ["co-level-1 raised", "co-level-2 raised", "co-level-2 cleared", "co-level-1 cleared"]),
              ([3.0, 23.9, 3], []),
          ])
    func coLevels(values: [Double], expected: [String]) {
        let e = makeEngine()
        var got: [String] = []
        for (i, v) in values.enumerated() {
            for ev in e.feed(2, v, at: t(Double(i))) { got.append("\(ev.rule) \(ev.kind.rawValue)") }
        }
        #expect(got == expected)
    }

    @Test("CO alarms carry their basis, priority and the preset's source")
    func coFields() throws {
        let e = makeEngine()
        let ev = try #require(e.feed(2, 170, at: t(0)).last)
        #expect(ev.rule == "co-level-2")
        #expect(ev.priority == .emergency)
        #expect(ev.basis == "令10 第四条(六)")
        #expect(ev.unit == "ppm")
        #expect(ev.limit == 160)
        #expect(ev.message.contains("GB 6222"))
    }

    @Test("the same input stream gives the same events (replay determinism)")
    func deterministic() {
        func run() -> [String] {
            let e = makeEngine()
            var out: [String] = []
            for i in 0..<200 {
                let s = Double(i) * 0.25
                let v = (i / 20) % 2 == 0 ? 119.5 : 112.0
                e.process(.reading(Reading(signal: SignalID(0), value: .number(120), time: t(s)))) { out.append($0.jsonBody(emittedAt: t(0))) }
                e.process(.reading(Reading(signal: SignalID(1), value: .number(v), time: t(s)))) { out.append($0.jsonBody(emittedAt: t(0))) }
                if i % 4 == 0 { e.process(.tick(t(s))) { out.append($0.jsonBody(emittedAt: t(0))) } }
            }
            return out
        }
        let a = run()
        #expect(!a.isEmpty)
        #expect(a == run())
    }

    @Test("co-rate: a rise faster than rate_max ppm/min over the last minute warns before the levels", arguments: [
        // (seconds, ppm) samples; rate_max 10 ppm/min => more than 10 ppm of rise within 60 s.
        ([(0.0, 3.0), (30, 8), (60, 13)], [String]()),                        // exactly 10 ppm in 60 s: in time
        ([(0.0, 3.0), (30, 8), (60, 13.5)], ["co-rate raised@60.0"]),
        ([(0.0, 3.0), (10, 15), (20, 15), (90, 15)], ["co-rate raised@10.0", "co-rate cleared@90.0"]),
    ] as [([(Double, Double)], [String])])
    func coRate(samples: [(Double, Double)], expected: [String]) {
        let e = makeEngine(coRateMax: 10)
        var got: [String] = []
        for (s, v) in samples {
            for ev in e.feed(2, v, at: t(s)) where ev.rule == "co-rate" {
                got.append("\(ev.rule) \(ev.kind.rawValue)@\(Double(ev.eventTime.milliseconds - t0) / 1000)")
            }
        }
        #expect(got == expected)
    }

    @Test("co-rate is off with rate_max 0 (the default)")
    func coRateOff() {
        let e = makeEngine()
        #expect(e.feed(2, 3, at: t(0)).isEmpty)
        #expect(e.feed(2, 23, at: t(1)).isEmpty)
    }
}
