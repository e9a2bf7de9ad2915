import MeltWatchCore
import Testing

@testable import MeltWatchRules

private let t0: Int64 = 1_763_884_800_000
private func t(_ s: Double) -> EventTime { EventTime(milliseconds: t0 + Int64(s * 1000)) }
private let wce = TemplateCatalog.named("steel.water-cooled-element")!

/// One BOF element with health on every role: stale 30 s, frozen 600 s, outlet_temp range [0, 150].
private func makeEngine() -> Engine {
    var params = Dictionary(uniqueKeysWithValues: wce.params.compactMap { p in p.defaultValue.map { (p.name, $0) } })
    params["on_delay_s"] = .number(2)
    let model = EngineModel(
        equipment: [EngineEquipment(plant: "p", id: "lance", template: wce, params: params)],
        signals: wce.roles.indices.map { r in
            EngineSignal(equipment: 0, role: r, health: HealthSettings(
                staleAfterMilliseconds: 30_000, frozenAfterMilliseconds: 600_000,
                range: wce.roles[r].name == "outlet_temp" ? 0...150 : nil, required: !wce.roles[r].isOptional))
        },
        configHash: "sha256:test"
    )
    return Engine(model: model)
}

private final class Recorder {
    let engine = makeEngine()
    var events: [AlarmEvent] = []

    func read(_ role: String, _ v: Value, at s: Double, quality: Quality = .good) {
        let id = SignalID(Int32(wce.roleIndex(role)!))
        engine.process(.reading(Reading(signal: id, value: v, quality: quality, time: t(s)))) { self.events.append($0) }
    }

    func tick(_ s: Double) { engine.process(.tick(t(s))) { self.events.append($0) } }

    /// "rule event role@seconds" for device alarms, "rule event@seconds" for the others.
    var summary: [String] {
        events.map { e in
            let at = Double(e.eventTime.milliseconds - t0) / 1000
            return e.alarmClass == .device ? "\(e.rule) \(e.kind.rawValue) \(e.signals.first ?? e.equipment)@\(at)" : "\(e.rule) \(e.kind.rawValue)@\(at)"
        }
    }
}

@Suite("Engine sensor health: device alarms with basis 令10 第十四条")
struct EngineHealthTests {
    @Test("dead transmitters: stale fires on the daemon clock with no input, at last reading + stale_after_s, and clears on the next reading")
    func staleByTick() throws {
        let r = Recorder()
        r.tick(0)
        for role in ["inlet_flow", "outlet_flow", "outlet_temp", "furnace_operating"] {
            r.read(role, role == "furnace_operating" ? .bool(true) : .number(role == "outlet_temp" ? 35 : 100), at: 0)
        }
        // The gateway stays alive (the tilt lock reports): these four are dead on their own. A gateway
        // silent as a whole is one gateway-silent instead (EngineSilenceTests).
        for s in stride(from: 1.0, through: 29.0, by: 1.0) {
            r.tick(s)
            r.read("tilt_locked", .bool(false), at: s)
        }
        r.tick(29.9)
        r.tick(30.0)
        #expect(r.summary.isEmpty)   // exactly stale_after_s is still in time
        r.tick(30.1)
        #expect(r.summary.sorted() == ["stale raised furnace_operating@30.0", "stale raised inlet_flow@30.0",
                                       "stale raised outlet_flow@30.0", "stale raised outlet_temp@30.0"])
        let first = try #require(r.events.first)
        #expect(first.alarmClass == .device)
        #expect(first.basis == "令10 第十四条")
        #expect(first.alarmID.hasPrefix("p:lance:stale:"))
        r.events.removeAll()
        r.read("inlet_flow", .number(100), at: 40)
        #expect(r.summary == ["stale cleared inlet_flow@40.0"])
    }

    @Test("required roles that never report go stale; optional ones are judged only after their first reading")
    func neverSeen() {
        let r = Recorder()
        r.tick(0)
        for s in stride(from: 1.0, through: 31.0, by: 1.0) {
            r.tick(s)
            r.read("tilt_locked", .bool(false), at: s)  // the gateway is alive
        }
        let stale = Set(r.events.map { $0.signals.first ?? "" })
        #expect(stale == Set(wce.roles.filter { !$0.isOptional }.map(\.name)))
    }

    @Test("a plant that never reports at all: one gateway-silent for its required signals, no stale")
    func neverSeenPlant() {
        let r = Recorder()
        r.tick(0)
        r.tick(31)
        #expect(r.summary == ["gateway-silent raised gateway@30.0"])
        #expect(r.events.first?.value == Double(wce.roles.filter { !$0.isOptional }.count))
    }

    @Test("bad quality, out of range: raised at the reading, cleared by the next good one", arguments: [
        (Quality.bad, 40.0), (Quality.good, 151.0), (Quality.good, -0.5),
    ])
    func badQuality(quality: Quality, value: Double) {
        let r = Recorder()
        r.read("outlet_temp", .number(value), at: 1, quality: quality)
        r.read("outlet_temp", .number(40), at: 2)
        #expect(r.summary == ["bad-quality raised outlet_temp@1.0", "bad-quality cleared outlet_temp@2.0"])
    }

    @Test("frozen only while operating: an unchanged value for frozen_after_s raises, a change clears")
    func frozen() {
        let r = Recorder()
        r.read("furnace_operating", .bool(true), at: 0)
        for s in stride(from: 0.0, through: 600, by: 10) { r.read("outlet_temp", .number(35), at: s) }
        #expect(r.summary == ["frozen raised outlet_temp@600.0"])
        r.read("outlet_temp", .number(35.4), at: 610)
        #expect(r.summary.last == "frozen cleared outlet_temp@610.0")

        let idle = Recorder()
        idle.read("furnace_operating", .bool(false), at: 0)
        for s in stride(from: 0.0, through: 900, by: 10) { idle.read("outlet_temp", .number(35), at: s) }
        #expect(idle.summary.isEmpty)
    }

    @Test("an expected feedback going stale during an interlock check fails it with that cause")
    func staleFeedbackFailsInterlock() throws {
        let r = Recorder()
        r.tick(0)
        r.read("lance_raised", .bool(false), at: 0)
        r.read("tilt_locked", .bool(true), at: 0)
        r.read("inlet_flow", .number(120), at: 0)
        r.read("outlet_flow", .number(119.6), at: 0)
        r.read("furnace_operating", .bool(true), at: 0)
        r.read("outlet_temp", .number(35), at: 0)
        // Everything keeps reporting except the lance feedback, which goes stale at t=30 s; the leak
        // starts at t=30 s and trips at t=32 s with the feedback already unhealthy.
        for s in stride(from: 5.0, through: 33, by: 5) {
            r.tick(s)
            for role in ["tilt_locked", "inlet_flow", "outlet_flow", "furnace_operating", "outlet_temp"] {
                r.read(role, role == "tilt_locked" || role == "furnace_operating" ? .bool(true) : .number(role == "outlet_flow" && s < 28 ? 119.6 : role == "outlet_flow" ? 110 : role == "inlet_flow" ? 120 : 35 + s / 100), at: s)
            }
        }
        r.tick(30.5)
        r.tick(33.1)
        #expect(r.summary.contains("flow-difference raised@32.0"))
        let failed = try #require(r.events.first { $0.rule == "interlock-failed" }, "\(r.summary)")
        #expect(failed.cause?.hasPrefix("lance_raised") == true)
        #expect(failed.cause?.contains("stale") == true, "\(failed.cause ?? "nil") \(r.summary)")
        #expect(r.summary.contains("stale raised lance_raised@30.0"))
    }

    @Test("a reading outside the instrument's range is bad for the rules too: no process alarm, no trip")
    func outOfRangeIsNoEvidence() {
        let r = Recorder()
        r.read("furnace_operating", .bool(true), at: 0)
        r.read("outlet_temp", .number(999), at: 1)   // transmitter fault: over the 150 °C range
        r.read("outlet_temp", .number(999), at: 4)
        r.read("outlet_temp", .number(36), at: 5)
        #expect(r.summary == ["bad-quality raised outlet_temp@1.0", "bad-quality cleared outlet_temp@5.0"])
        #expect(r.engine.counters.interlockOutcomes.isEmpty)
    }
}
