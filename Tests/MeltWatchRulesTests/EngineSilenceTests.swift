import Foundation
import MeltWatchCore
import Testing

@testable import MeltWatchRules

private let t0: Int64 = 1_763_884_800_000
private func t(_ s: Double) -> EventTime { EventTime(milliseconds: t0 + Int64((s * 1000).rounded())) }
private let wce = TemplateCatalog.named("steel.water-cooled-element")!
private let hour: Double = 3600

/// Plant `p` with two water-cooled elements `a` and `b`, plant `q` with one, `c`; every role judged
/// with stale_after 30 s (frozen off); on-delay 2 s.
private func makeEngine() -> Engine {
    var params = Dictionary(uniqueKeysWithValues: wce.params.compactMap { p in p.defaultValue.map { (p.name, $0) } })
    params["on_delay_s"] = .number(2)
    let equipment = [("p", "a"), ("p", "b"), ("q", "c")].map { EngineEquipment(plant: $0.0, id: $0.1, template: wce, params: params) }
    let signals = equipment.indices.flatMap { e in
        wce.roles.indices.map { r in
            EngineSignal(equipment: e, role: r, health: HealthSettings(
                staleAfterMilliseconds: 30_000, frozenAfterMilliseconds: 0, range: nil, required: !wce.roles[r].isOptional))
        }
    }
    return Engine(model: EngineModel(equipment: equipment, signals: signals, configHash: "sha256:silence"))
}

private let mandatory = wce.roles.filter { !$0.isOptional }.map(\.name)

private final class Plant {
    let engine = makeEngine()
    var events: [AlarmEvent] = []
    private let equipmentIndex = ["a": 0, "b": 1, "c": 2]

    func read(_ eq: String, _ role: String, _ v: Value, at s: Double) {
        let id = SignalID(Int32(equipmentIndex[eq]! * wce.roles.count + wce.roleIndex(role)!))
        engine.process(.reading(Reading(signal: id, value: v, quality: .good, time: t(s)))) { self.events.append($0) }
    }

    /// A healthy scan of every mandatory role of `eq`, event time `s` (daemon clock: the last tick).
    func scan(_ eq: String, at s: Double, outlet: Double = 100) {
        for role in mandatory {
            let v: Value = switch role {
            case "furnace_operating": .bool(true)
            case "inlet_flow": .number(100)
            case "outlet_flow": .number(outlet)
            case "interlock_bypassed": .bool(false)
            default: .number(35)
            }
            read(eq, role, v, at: s)
        }
    }

    func tick(_ s: Double) { engine.process(.tick(t(s))) { self.events.append($0) } }
    func input(_ i: EngineInput) { engine.process(i) { self.events.append($0) } }

    /// Ticks every 100 ms over `range`, with a scan of each of `scanned` every second (event time
    /// `eventOffset` seconds off the daemon clock).
    func run(_ range: ClosedRange<Double>, scanned: [String] = [], eventOffset: Double = 0) {
        var s = range.lowerBound
        while s <= range.upperBound + 1e-9 {
            tick(s)
            if abs(s - s.rounded()) < 1e-6 { for eq in scanned { scan(eq, at: s.rounded() + eventOffset) } }
            s += 0.1
        }
    }

    var summary: [String] {
        events.map { e in
            let at = Double(e.eventTime.milliseconds - t0) / 1000
            if e.rule == "gateway-silent" { return "\(e.plant):\(e.equipment) gateway-silent \(e.kind.rawValue)@\(at)\(e.value.map { " \(Int($0))" } ?? "")" }
            return e.alarmClass == .device ? "\(e.equipment).\(e.signals[0]) \(e.rule) \(e.kind.rawValue)@\(at)" : "\(e.equipment) \(e.rule) \(e.kind.rawValue)@\(at)"
        }
    }
}

@Suite("One cause, one alarm: the broker link, a plant's gateway, and steps of the wall clock")
struct EngineSilenceTests {
    @Test("a whole plant's gateway falls silent: one gateway-silent naming how many signals stopped, no per-signal stale; a reading clears it and every signal gets stale_after again")
    func gatewaySilent() {
        let p = Plant()
        p.run(0...10, scanned: ["a", "b", "c"])
        p.run(10.1...45, scanned: ["c"])  // plant p silent from 10 s; q keeps reporting
        #expect(p.summary == ["p:gateway gateway-silent raised@40.0 \(2 * mandatory.count)"])
        #expect(p.events.first?.alarmID == "p:gateway:gateway-silent:1")
        #expect(p.events.first?.alarmClass == .device)
        #expect(p.engine.silentPlants == ["p"])
        #expect(p.engine.healthSummary()[0] == "unknown")
        p.events.removeAll()
        p.run(45.1...50, scanned: ["c"])
        p.scan("a", at: 50)  // a comes back; b does not
        #expect(p.summary == ["p:gateway gateway-silent cleared@50.0"])
        p.events.removeAll()
        p.run(50.1...79.9, scanned: ["a", "c"])
        #expect(p.summary.isEmpty, "b gets its whole stale_after from the recovery: \(p.summary)")
        p.run(80...81, scanned: ["a", "c"])
        #expect(Set(p.summary) == Set(mandatory.map { "b.\($0) stale raised@40.0" }), "then b's signals are stale on their own")
    }

    @Test("one equipment stops while the rest of its plant reports: its signals are stale on their own, at last reading + stale_after")
    func partialSilence() {
        let p = Plant()
        p.run(0...10, scanned: ["a", "b", "c"])
        p.run(10.1...41, scanned: ["a", "c"])
        #expect(Set(p.summary) == Set(mandatory.map { "b.\($0) stale raised@40.0" }))
    }

    @Test("a signal due while its plant shows no life is held; the plant's silence then covers it (no stale), or the plant's next reading confirms it")
    func held() {
        // b stops at 10, a at 20: b is due at 40 with the plant silent for 20 s (≥ half the bound): held;
        // the plant is silent at 50: one gateway-silent for both.
        let p = Plant()
        p.run(0...10, scanned: ["a", "b", "c"])
        p.run(10.1...20, scanned: ["a", "c"])
        p.run(20.1...51, scanned: ["c"])
        #expect(p.summary == ["p:gateway gateway-silent raised@50.0 \(2 * mandatory.count)"])
        // b stops at 10, a reports until 30 and then only every 12 s: b is due at 40 with the plant
        // quiet for 10 s (< 15): stale at once.
        let r = Plant()
        r.run(0...10, scanned: ["a", "b", "c"])
        r.run(10.1...30, scanned: ["a", "c"])
        r.run(30.1...40.2, scanned: ["c"])
        #expect(Set(r.summary) == Set(mandatory.map { "b.\($0) stale raised@40.0" }))
        // b stops at 10, a at 24 but comes back at 42: b held at 40 (plant quiet 16 s), stale at a's return.
        let q = Plant()
        q.run(0...10, scanned: ["a", "b", "c"])
        q.run(10.1...24, scanned: ["a", "c"])
        q.run(24.1...41.9, scanned: ["c"])
        #expect(q.summary.isEmpty)
        q.run(42...42.2, scanned: ["a", "c"])
        #expect(Set(q.summary) == Set(mandatory.map { "b.\($0) stale raised@40.0" }))
    }

    @Test("broker link down: nothing stale, no gateway-silent, no equipment timer while it stands; after it every signal gets stale_after again")
    func linkDown() {
        let p = Plant()
        p.run(0...10, scanned: ["a", "b", "c"])
        p.input(.link(up: false, at: t(10.05)))
        p.run(10.1...100)
        #expect(p.summary.isEmpty)
        #expect(!p.engine.linkUp)
        #expect(Set(p.engine.healthSummary()) == ["unknown"], "the console shows every signal unknown")
        p.input(.link(up: true, at: t(100)))
        p.run(100.1...129.9, scanned: ["a", "b"])  // q's gateway did not come back
        #expect(p.summary.isEmpty)
        p.run(130...131, scanned: ["a", "b"])
        #expect(p.summary == ["q:gateway gateway-silent raised@130.0 \(mandatory.count)"])
    }

    @Test("the broker's queue read after a reconnect, ahead of the link-up in the stream: no stale in retrospect for the outage")
    func backlogBeforeLinkUp() {
        let p = Plant()
        p.run(0...10, scanned: ["a", "b", "c"])
        p.input(.link(up: false, at: t(10.5)))
        p.run(10.6...60)
        // The first batch of the new connection came in the same read as its CONNACK: its readings
        // are in the stream before the link-up that the connect event puts there.
        p.input(.arrival(t(60.05)))
        for s in stride(from: 11.0, through: 59.0, by: 1) { p.scan("a", at: s); p.scan("b", at: s); p.scan("c", at: s) }
        p.input(.link(up: true, at: t(60.05)))
        p.run(60.1...70, scanned: ["a", "b", "c"])
        #expect(p.summary.isEmpty, "the outage is broker-lost's, not each signal's: \(p.summary)")
    }

    @Test("a daemon stall: ticks held at the last moment the input was read, the burst read after it arrives late — no stale, no gateway-silent")
    func stalledDaemonJudgesNoSilence() {
        let p = Plant()
        p.run(0...10, scanned: ["a", "b", "c"])
        // Ingest blocked from 10.05 to 45 s (a disk that stopped for 35 s): the ticks of the stall
        // carry 10.05 (nothing was read after it); then the 35 s of scans arrive together.
        for _ in 0..<10 { p.tick(10.05) }
        p.input(.arrival(t(45)))
        for s in stride(from: 11.0, through: 45.0, by: 1) { p.scan("a", at: s); p.scan("b", at: s); p.scan("c", at: s) }
        p.run(45.1...50, scanned: ["a", "b", "c"])
        #expect(p.summary.isEmpty, "\(p.summary)")

        // The same stall with ticks at the clock (the first version): every signal stale, both plants silent.
        let q = Plant()
        q.run(0...10, scanned: ["a", "b", "c"])
        q.run(10.1...45)
        #expect(!q.summary.isEmpty, "ticking past unread input judges silence that was not there")
    }

    @Test("an on-delay pending when the link died runs on the readings of the outage, not on the daemon clock: a leak that ended in the outage raises nothing")
    func timersPauseDuringOutage() {
        let p = Plant()
        p.run(0...9, scanned: ["a", "b", "c"])
        p.tick(10)
        p.scan("a", at: 10, outlet: 90)  // 10 m3/h lost: flow-difference pending for 2 s
        p.input(.link(up: false, at: t(10.5)))
        p.run(10.6...60)
        p.input(.link(up: true, at: t(60)))
        p.tick(60.1)
        #expect(p.summary.isEmpty, "no evidence of the 2 s yet: \(p.summary)")
        p.scan("a", at: 11)  // the broker's queue: the loss ended at 11 s
        p.scan("a", at: 12)
        p.scan("a", at: 13)
        p.run(60.2...70, scanned: ["a", "b", "c"], eventOffset: -47)
        #expect(p.summary.isEmpty, "\(p.summary)")

        let q = Plant()
        q.run(0...9, scanned: ["a", "b", "c"])
        q.tick(10)
        q.scan("a", at: 10, outlet: 90)
        q.input(.link(up: false, at: t(10.5)))
        q.run(10.6...60)
        q.input(.link(up: true, at: t(60)))
        q.scan("a", at: 11, outlet: 90)  // the loss went on: raised on its own event time
        q.scan("a", at: 12, outlet: 90)
        q.scan("a", at: 13, outlet: 90)
        #expect(q.summary == ["a flow-difference raised@12.0"])
    }

    @Test("a step of the wall clock (±1 h) with the daemon clock rebased: no false stale, stale detection goes on", arguments: [hour, -hour])
    func clockStep(step: Double) {
        let p = Plant()
        p.run(0...10, scanned: ["a", "b", "c"])
        p.input(.clockStep(Int64(step * 1000)))
        // The daemon clock now reads `step` later; the gateways' event times do not move.
        p.run((step + 10.1)...(step + 20), scanned: ["a", "b", "c"], eventOffset: -step)
        #expect(p.summary.isEmpty, "\(p.summary)")
        p.run((step + 20.1)...(step + 51), scanned: ["a", "c"], eventOffset: -step)
        #expect(Set(p.summary) == Set(mandatory.map { "b.\($0) stale raised@50.0" }), "b stopped at 20 s: stale 30 s later")
    }

    @Test("the same ticks without the rebase: what a raw wall-clock step did (every signal stale at once)")
    func rawStep() {
        let p = Plant()
        p.run(0...10, scanned: ["a", "b", "c"])
        p.tick(hour + 10.1)
        #expect(p.summary.contains { $0.contains("gateway-silent raised") })
    }

    @Test("checkpoint: the link, the plants' silence and their numbering survive a restore")
    func checkpoint() throws {
        let p = Plant()
        p.run(0...10, scanned: ["a", "b", "c"])
        p.run(10.1...41, scanned: ["c"])
        p.input(.link(up: false, at: t(41.05)))
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+inf", negativeInfinity: "-inf", nan: "nan")
        let data = try encoder.encode(p.engine.checkpoint())
        let restored = makeEngine()
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "+inf", negativeInfinity: "-inf", nan: "nan")
        decoder.userInfo[EngineCheckpoint.modelKey] = restored.model
        try restored.restore(try decoder.decode(EngineCheckpoint.self, from: data))
        #expect(!restored.linkUp)
        #expect(restored.silentPlants == ["p"])
        var events: [AlarmEvent] = []
        restored.process(.link(up: true, at: t(50))) { events.append($0) }
        restored.process(.tick(t(50.1))) { events.append($0) }
        #expect(events.isEmpty)
    }

    @Test("a Sparkplug death: stale at once with the death as cause, not after stale_after_s; a reading clears it")
    func signalLost() {
        let p = Plant()
        p.run(0...5, scanned: ["a", "b", "c"])
        let inlet = SignalID(Int32(wce.roleIndex("inlet_flow")!))
        p.input(.lost(SignalLoss(signal: inlet, time: t(5.2), cause: .nodeDeath)))
        let raised = p.events.filter { $0.rule == "stale" && $0.kind == .raised }
        #expect(raised.count == 1)
        #expect(raised.first?.equipment == "a" && raised.first?.signals == ["inlet_flow"])
        #expect(raised.first?.cause == "sparkplug-ndeath" && raised.first?.eventTime == t(5.2))
        // Already stale: a second death changes nothing.
        p.input(.lost(SignalLoss(signal: inlet, time: t(5.3), cause: .nodeDeath)))
        #expect(p.events.filter { $0.rule == "stale" && $0.kind == .raised }.count == 1)
        p.read("a", "inlet_flow", .number(100), at: 6)
        #expect(p.events.contains { $0.rule == "stale" && $0.kind == .cleared && $0.equipment == "a" })
    }
}
