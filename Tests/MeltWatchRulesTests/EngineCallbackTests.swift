import MeltWatchCore
import Testing

@testable import MeltWatchRules

private let t0: Int64 = 1_763_884_800_000
private func t(_ s: Double) -> EventTime { EventTime(milliseconds: t0 + Int64(s * 1000)) }

@Suite("Engine callbacks: delivered in order after the input, free to read the engine")
struct EngineCallbackTests {
    @Test("emit and onInterlockOutcome may read counters and signals; events and outcomes keep their order")
    func callbacksReadTheEngine() {
        let wce = TemplateCatalog.named("steel.water-cooled-element")!
        var params = Dictionary(uniqueKeysWithValues: wce.params.compactMap { p in p.defaultValue.map { (p.name, $0) } })
        params["on_delay_s"] = .number(0)
        let model = EngineModel(
            equipment: [EngineEquipment(plant: "p", id: "lance", template: wce, params: params)],
            signals: wce.roles.indices.map { EngineSignal(equipment: 0, role: $0) },
            configHash: "sha256:test"
        )
        let engine = Engine(model: model)
        var log: [String] = []
        // unowned: the engine keeps this callback, so a strong capture would be a retain cycle
        // (LeakSanitizer reported the engine of this test as leaked).
        engine.onInterlockOutcome = { [unowned engine] o in log.append("outcome \(o.kind) readings=\(engine.counters.readings)") }
        func read(_ role: String, _ v: Value, at s: Double) {
            let id = SignalID(Int32(wce.roleIndex(role)!))
            engine.process(.reading(Reading(signal: id, value: v, time: t(s)))) { e in
                log.append("\(e.rule) \(e.kind.rawValue) events=\(engine.counters.events) value=\(engine.signals[Int(id.rawValue)].value!)")
            }
        }
        read("tilt_locked", .bool(true), at: 0)
        read("lance_raised", .bool(true), at: 0)
        read("inlet_flow", .number(120), at: 0)
        read("outlet_flow", .number(110), at: 1)  // leak: raises at once and trips; both feedbacks already true
        #expect(log == [
            "flow-difference raised events=1 value=number(110.0)",
            "outcome ok readings=4",
        ])
    }
}
